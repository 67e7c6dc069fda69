package io.github.packetconn;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A TCP or Unix domain socket connection that sends and receives packets.
 *
 * <p><b>Sending</b>: {@link #send(Packet)} encodes the packet into the connection's send queue and
 * returns; the caller keeps its own reference and may release it at once. Whatever is queued when
 * the socket is ready goes out in <b>one write</b>, so concurrent senders share system calls and a
 * lone packet on an idle connection leaves at once: there is no timer unless {@link
 * PacketConfig#flushDelay()} asks for one. The queue is <b>bounded by bytes</b>; when it is full,
 * {@code send} waits, {@link #send(Packet, Duration)} waits at most a timeout and {@link
 * #trySend(Packet)} does not wait. Packets sent from one thread arrive in the order sent.
 *
 * <p><b>Receiving</b>, in one of two styles chosen when the connection is made: a {@link
 * PacketHandler} called on the I/O thread for each packet (the fastest), or {@link #receive()} and
 * iteration ({@code for (Packet p : conn)}), which block and suit virtual threads. Either way the
 * received packet belongs to the receiver.
 *
 * <p><b>Closing</b>: {@link #close()} writes everything queued before it, then closes; {@link
 * #abort()} drops what is queued and closes at once. A peer that breaks the protocol (a length above
 * {@link PacketConfig#maxPacketSize()}, a CRC mismatch, a frame cut by the end of the stream) closes
 * this connection only, with a {@link java.net.ProtocolException} or an {@link EOFException} naming
 * the values; {@link #closeFuture()} tells when and why.
 *
 * <pre>{@code
 * try (PacketConn conn = PacketConn.connect("127.0.0.1", 14572)) {
 *   conn.send(Packet.of(new byte[1024]));
 *   try (Packet reply = conn.receive()) {
 *     System.out.println("reply: " + reply.size() + " bytes");
 *   }
 * }
 * }</pre>
 *
 * <p><b>Transports</b>: TCP, or a Unix domain socket when the address is a {@link
 * UnixDomainSocketAddress} (see {@link #connect(Path)}); everything above works the same on both.
 *
 * <p>All methods are safe to call from any thread.
 */
public final class PacketConn implements Closeable, Iterable<Packet>, EventLoop.Selectable, EventLoop.Timed {
  private static final int OPEN = 0;
  private static final int CLOSING = 1; // close() or abort() was called; sends are refused.
  private static final int CLOSED = 2;
  private static final VarHandle STATE;
  private static final VarHandle PACKETS_IN;
  private static final VarHandle BYTES_READ;
  private static final VarHandle BYTES_PULLED;
  private static final VarHandle LAST_READ;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(PacketConn.class, "state", int.class);
      PACKETS_IN = lookup.findVarHandle(PacketConn.class, "packetsIn", long.class);
      BYTES_READ = lookup.findVarHandle(PacketConn.class, "bytesRead", long.class);
      BYTES_PULLED = lookup.findVarHandle(PacketConn.class, "bytesPulled", long.class);
      LAST_READ = lookup.findVarHandle(PacketConn.class, "lastReadNanos", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final SocketChannel channel;
  private final PacketConfig config;
  private final EventLoop loop;
  private final PacketHandler handler; // Null: packets go to the inbox.
  private final ReceiveQueue inbox; // Null: packets go to the handler.
  private final FrameDecoder decoder;
  private final SendQueue out;
  private final SocketAddress localAddress;
  private final SocketAddress remoteAddress;
  private final Consumer<PacketConn> onClosed; // The server's bookkeeping; runs before the futures.
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
  private final CompletableFuture<Void> outputClosed = new CompletableFuture<>();
  private final FrameDecoder.Sink sink = this::deliver;
  private final Runnable flushTask = () -> flushOnLoop(false);
  private final Runnable resumeTask = this::resume;
  private final Runnable armReadTask = this::armRead;
  private final Runnable endOfStreamTask = this::endOfStream;
  private final Runnable readTask = this::read;
  private final Runnable writeTask = () -> flushOnLoop(true);
  private final Runnable pauseForBudgetTask = this::pauseForBudget;
  // Held by whoever uses the decoder of a connection whose receivers pull: the receiver's thread
  // while it reads and decodes, the I/O thread when it ends or releases the decoder.
  private final java.util.concurrent.locks.ReentrantLock decoderLock =
      new java.util.concurrent.locks.ReentrantLock();
  private final boolean delayedFlush; // flushDelay is set.
  private final long flushDelayNanos;
  private final long maxFlushDelayNanos; // maxFlushDelay, or flushDelay when that is zero.
  // Timeouts and liveness, zero when off: then the I/O path only tests these fields.
  private final long readIdleNanos;
  private final long writeStallNanos;
  private final long idleNanos; // Zero also without a handler: onIdle is a handler's callback.

  private volatile int state;
  private volatile Object attachment;
  private volatile Throwable cause;

  // Owned by the event loop.
  private SelectionKey key;
  private volatile boolean paused; // Not reading: a queue we send to is full, or the budget spent.
  private boolean opened;
  private boolean inputEnded;
  private boolean outputShut;
  private boolean lingering; // Output shut after a local close; reading only to see the peer's end.
  private long flushDeadline;
  private long closeDeadline; // Flush by then, or abort; once the output is shut, linger until then.
  private long handshakeDeadline; // TLS: established by then, or fail.

  private final TlsChannel tls; // Null for plain TCP.
  private final CompletableFuture<Void> established = new CompletableFuture<>(); // TLS handshake.
  private volatile boolean handshaking; // TLS: packets wait until the first handshake is done.

  private javax.management.ObjectName mbean; // Registered only with -Dpacketconn.jmx.connections.
  private final ConnectionEvents events = new ConnectionEvents(this); // Flight Recorder; loop only.

  // Counters for stats(), written with setOpaque by their one writer at a time and read with
  // getOpaque: no lock, no fence and no allocation per packet, yet never a torn long.
  private long packetsIn; // By whoever decodes: the I/O thread, or a receiver under decoderLock.
  private long bytesRead; // By the I/O thread.
  private long bytesPulled; // By receivers, under decoderLock.
  private boolean aborted; // abort() was called; set before the close reaches the loop.
  private boolean handlerFailed; // The application's handler threw; same.
  private CloseKind closeKind; // Set when closed, on the loop.

  // Stamped once per read wake-up, and by receivers that pull on their own threads: opaque access.
  @SuppressWarnings("unused") // Through LAST_READ.
  private long lastReadNanos;
  private long readIdleDeadline; // When to look at lastReadNanos again; 0 when off.
  private boolean stalled; // Queued bytes wait for room in the socket; kept with writeStallTimeout.
  private long writeProgressNanos; // When the stall began or the socket last took bytes.
  private long writtenAtLastLook; // out.writtenBytes() when noteWrite() last looked.
  private long stallDeadline; // When to look at the stall again; 0 when off.
  private long lastSendNanos; // When the socket last took bytes; kept with onIdle.
  private long idleDeadline; // When to look at lastSendNanos again; 0 when off.

  private PacketConn(
      SocketChannel channel,
      PacketConfig config,
      PacketHandler handler,
      Consumer<PacketConn> onClosed,
      SocketAddress target)
      throws IOException {
    this.onClosed = onClosed;
    this.channel = channel;
    this.config = config;
    this.handler = handler;
    this.inbox =
        handler == null
            ? new ReceiveQueue(this::pull)
            : null;
    this.decoder = new FrameDecoder(config.maxPacketSize(), config.crc(), config.memoryBudget());
    this.out = new SendQueue(config.sendQueueBytes(), config.crc(), config.memoryBudget());
    this.delayedFlush = !config.flushDelay().isZero();
    this.flushDelayNanos = config.flushDelay().toNanos();
    this.maxFlushDelayNanos =
        (config.maxFlushDelay().isZero() ? config.flushDelay() : config.maxFlushDelay()).toNanos();
    this.readIdleNanos = config.readIdleTimeout().toNanos();
    this.writeStallNanos = config.writeStallTimeout().toNanos();
    this.idleNanos = handler == null ? 0 : config.idleInterval().toNanos();
    channel.configureBlocking(false);
    this.localAddress = channel.getLocalAddress();
    this.remoteAddress = channel.getRemoteAddress();
    if (remoteAddress == null) throw new IllegalArgumentException("channel is not connected");
    if (remoteAddress instanceof InetSocketAddress) { // Unix domain sockets have no Nagle to turn off.
      channel.setOption(StandardSocketOptions.TCP_NODELAY, config.tcpNoDelay());
      if (config.tcpKeepAlive()) channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }
    TlsConfig tlsConfig = config.tls();
    this.tls =
        tlsConfig == null
            ? null
            : new TlsChannel(
                channel, tlsConfig.newEngine(target != null ? target : remoteAddress), format(remoteAddress));
    this.handshaking = tls != null;
    this.loop = EventLoop.next();
  }

  /** Waits for the TLS handshake, so that connect() reports its failure. */
  private void awaitHandshake() throws IOException {
    try {
      established.get();
    } catch (ExecutionException e) {
      throw asIOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abort();
      throw new InterruptedIOException("interrupted during the TLS handshake");
    }
  }

  /** Hands the connection to its loop; nothing is read before this. */
  PacketConn start() {
    if (loop.inLoop()) {
      register();
    } else {
      loop.execute(this::register);
    }
    return this;
  }

  /** Connects to {@code host:port} with the default configuration. */
  public static PacketConn connect(String host, int port) throws IOException {
    return connect(new InetSocketAddress(host, port), PacketConfig.DEFAULT, null);
  }

  /** Connects to {@code host:port} with {@code config}. */
  public static PacketConn connect(String host, int port, PacketConfig config) throws IOException {
    return connect(new InetSocketAddress(host, port), config, null);
  }

  /** Connects to the Unix domain socket at {@code path} with the default configuration. */
  public static PacketConn connect(Path path) throws IOException {
    return connect(UnixDomainSocketAddress.of(path), PacketConfig.DEFAULT, null);
  }

  /**
   * Connects to {@code address}, an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress};
   * packets go to {@code handler}, or to {@link #receive()} when it is null. A failure names the
   * address, e.g. {@code ConnectException: connect to 127.0.0.1:14572 refused}.
   */
  public static PacketConn connect(SocketAddress address, PacketConfig config, PacketHandler handler)
      throws IOException {
    Objects.requireNonNull(config, "config");
    UnixDomainSocketAddress unix = address instanceof UnixDomainSocketAddress u ? u : null;
    SocketChannel channel = unix != null ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
    try {
      if (config.tls() != null && !config.tls().isClient()) {
        throw new IllegalArgumentException("a server's TlsConfig in a client's PacketConfig: " + config.tls());
      }
      if (unix == null) {
        connect(channel, address, config.connectTimeout());
      } else {
        SocketFile.connect(channel, unix);
      }
      PacketConn conn = new PacketConn(channel, config, handler, null, address).start();
      if (conn.tls != null && EventLoop.current() == null) conn.awaitHandshake();
      return conn;
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel, e);
      throw e;
    }
  }

  /**
   * Connects {@code channel}, in blocking mode, waiting at most {@code timeout}; the caller closes
   * the channel if this throws.
   */
  private static void connect(SocketChannel channel, SocketAddress address, Duration timeout)
      throws IOException {
    // The socket adaptor's timed connect polls the connecting socket; 0 would mean no timeout.
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    try {
      channel.socket().connect(address, millis);
    } catch (SocketTimeoutException e) {
      SocketTimeoutException timedOut =
          new SocketTimeoutException(
              "connect to " + (address instanceof InetSocketAddress a ? format(a) : address)
                  + " timed out after " + millis + " ms (connectTimeout)");
      timedOut.initCause(e);
      throw timedOut;
    } catch (java.net.SocketException e) {
      throw SocketErrors.connectFailed(e, address); // "connect to 127.0.0.1:14572 refused"
    }
  }

  /** Wraps a connected channel (Go's {@code NewPacketConn}) with the default configuration. */
  public static PacketConn wrap(SocketChannel channel) throws IOException {
    return wrap(channel, PacketConfig.DEFAULT, null);
  }

  /** Wraps a connected channel with {@code config}. */
  public static PacketConn wrap(SocketChannel channel, PacketConfig config) throws IOException {
    return wrap(channel, config, null);
  }

  /**
   * Wraps a connected channel; packets go to {@code handler}, or to {@link #receive()} when it is
   * null. The connection owns the channel from now on and puts it in non-blocking mode.
   */
  public static PacketConn wrap(SocketChannel channel, PacketConfig config, PacketHandler handler)
      throws IOException {
    Objects.requireNonNull(channel, "channel");
    Objects.requireNonNull(config, "config");
    return new PacketConn(channel, config, handler, null, null).start();
  }

  /**
   * Wraps an accepted channel without starting it, so the server can record it first; {@code
   * onClosed} runs when it has closed, before {@link #closeFuture()} completes.
   */
  static PacketConn accepted(
      SocketChannel channel, PacketConfig config, PacketHandler handler, Consumer<PacketConn> onClosed)
      throws IOException {
    return new PacketConn(channel, config, handler, onClosed, null);
  }

  // ---- sending

  /**
   * Queues {@code packet} for sending, waiting while the send queue is full. The packet is copied
   * into the queue, so the caller may release or reuse it as soon as this returns. On an I/O thread
   * (in a {@link PacketHandler}) this never waits: see {@link PacketHandler}.
   *
   * @throws IllegalStateException if the connection is closed or closing, or the packet released
   * @throws IllegalArgumentException if the packet exceeds {@link PacketConfig#maxPacketSize()}
   */
  public void send(Packet packet) {
    enqueue(packet, -1);
  }

  /**
   * Queues {@code packet}, waiting at most {@code timeout} for room.
   *
   * @return false if the queue stayed full for the whole timeout; nothing was queued
   */
  public boolean send(Packet packet, Duration timeout) {
    if (timeout.isNegative()) throw new IllegalArgumentException("timeout < 0: " + timeout);
    return enqueue(packet, timeout.toNanos());
  }

  /**
   * Queues {@code packet} if there is room now.
   *
   * @return false if the queue is full; nothing was queued
   */
  public boolean trySend(Packet packet) {
    return enqueue(packet, 0);
  }

  /** Writes queued packets now, without waiting for {@link PacketConfig#flushDelay()}. */
  public void flush() {
    if (loop.inLoop()) {
      flushOnLoop(true);
    } else {
      loop.execute(() -> flushOnLoop(true));
    }
  }

  private boolean enqueue(Packet packet, long timeoutNanos) {
    int size = packet.size();
    if (size > config.maxPacketSize()) {
      throw new IllegalArgumentException(
          "packet size " + size + " exceeds maxPacketSize " + config.maxPacketSize());
    }
    EventLoop current = EventLoop.current();
    PacketConn source = current == null ? null : current.dispatching;
    int result = out.append(packet, timeoutNanos, current != null, source, delayedFlush);
    if (result == SendQueue.NOT_QUEUED) return false;
    if ((result & SendQueue.OVER_BOUND) != 0 && source != null) {
      source.events.paused(BackpressureEvent.SEND_QUEUE_FULL, this);
      source.pause(); // Stop reading the peer whose packets fill us up.
    }
    if ((result & SendQueue.OVER_BUDGET) != 0 && source != null) {
      source.events.paused(BackpressureEvent.QUEUED_BUDGET, null);
      source.pause(); // Until this queue's budget has room again.
      if (!out.budget().pauseSourceUntilRoom(source)) source.resume(); // It has already.
    }
    if ((result & SendQueue.FLUSH_NEEDED) != 0) {
      if (current == loop) {
        loop.scheduleFlush(this); // Written after the current read: one write per read batch.
      } else {
        loop.execute(flushTask);
      }
    }
    return true;
  }

  // ---- receiving

  /**
   * Waits for the next packet, which the caller then owns.
   *
   * @return the packet, or null once the stream has ended cleanly (the peer closed at a frame
   *     boundary, or this side closed)
   * @throws IOException why the connection failed, after the packets received before the failure
   * @throws IllegalStateException if this connection delivers packets to a {@link PacketHandler}
   */
  public Packet receive() throws IOException {
    return take(-1);
  }

  /**
   * Waits at most {@code timeout} for the next packet.
   *
   * @throws SocketTimeoutException if no packet arrived in time
   */
  public Packet receive(Duration timeout) throws IOException {
    if (timeout.isNegative()) throw new IllegalArgumentException("timeout < 0: " + timeout);
    return take(timeout.toNanos());
  }

  /**
   * Returns an iterator over the received packets, ending when the stream ends cleanly; {@code
   * hasNext()} blocks, and throws {@link UncheckedIOException} if the connection failed.
   */
  @Override
  public Iterator<Packet> iterator() {
    inbox();
    return new Iterator<>() {
      private Packet next;
      private boolean done;

      @Override
      public boolean hasNext() {
        if (next == null && !done) {
          try {
            next = receive();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          done = next == null;
        }
        return next != null;
      }

      @Override
      public Packet next() {
        if (!hasNext()) throw new NoSuchElementException();
        Packet packet = next;
        next = null;
        return packet;
      }
    };
  }

  private Packet take(long timeoutNanos) throws IOException {
    return inbox().take(timeoutNanos);
  }

  private ReceiveQueue inbox() {
    if (inbox == null) {
      throw new IllegalStateException(
          "receive() is not available: this connection delivers packets to a PacketHandler");
    }
    return inbox;
  }

  // ---- closing

  /**
   * Closes gracefully: refuses new sends, writes every packet queued before, closes the sending
   * side, and releases packets not yet received. Waits up to {@link PacketConfig#closeTimeout()} for
   * the queued packets to be written, then aborts. Called on an I/O thread, it does not wait. Calling
   * it again does nothing.
   *
   * @throws IOException if the queued packets could not all be written
   */
  @Override
  public void close() throws IOException {
    if (inbox != null) inbox.end(null, true); // Also after a failure: nobody will receive them.
    boolean first = beginClose();
    if (EventLoop.current() != null) return; // Never block an I/O thread.
    long timeout = config.closeTimeout().toNanos();
    try {
      outputClosed.get(timeout, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      long unwritten = out.queuedBytes();
      if (cause instanceof SocketTimeoutException loopTimedOut) {
        throw loopTimedOut; // The I/O thread's own deadline came first, and counted the bytes.
      }
      SocketTimeoutException timedOut =
          new SocketTimeoutException(
              "close timed out after " + config.closeTimeout().toMillis() + " ms with " + unwritten
                  + " bytes unwritten; aborted");
      abort(timedOut);
      throw timedOut;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abort();
      throw new InterruptedIOException("interrupted while closing; aborted");
    } catch (ExecutionException e) {
      if (first) throw asIOException(e.getCause());
    }
  }

  /** Starts a graceful close; the future completes once the queued packets are written. */
  CompletableFuture<Void> closeAsync() {
    beginClose();
    return outputClosed;
  }

  private boolean beginClose() {
    if (state != OPEN) return false;
    out.refuse("closed"); // Before the state changes, so no send slips in behind the flush.
    if (!STATE.compareAndSet(this, OPEN, CLOSING)) return false;
    if (inbox != null) inbox.end(null, true);
    if (loop.inLoop()) {
      closeOnLoop();
    } else {
      loop.execute(this::closeOnLoop);
    }
    return true;
  }

  /** Closes at once, dropping queued packets in both directions. Calling it again does nothing. */
  public void abort() {
    if (state != CLOSED) aborted = true;
    abort(null);
  }

  /** Aborts because the application's connection handler threw {@code why}. */
  void abortByHandler(Throwable why) {
    if (state == CLOSED) { // Too late to blame the close on it; still, say it.
      EventLoop.logSafely(Level.WARNING, "connection handler failed after " + this, why);
    } else {
      handlerFailed = true;
    }
    abort(why); // Also releases the packets still queued for it.
  }

  /** {@return true until {@link #close()} or {@link #abort()} is called or the connection fails} */
  public boolean isOpen() {
    return state == OPEN;
  }

  /**
   * {@return a future that completes when the connection has closed: normally for a clean end,
   * exceptionally with the cause of a failure}
   */
  public CompletableFuture<Void> closeFuture() {
    return closeFuture.copy();
  }

  /** {@return why the connection failed, or null while open or after a clean end} */
  public Throwable closeCause() {
    return cause;
  }

  // ---- identity

  /**
   * {@return the local address: an {@link InetSocketAddress}, or a {@link UnixDomainSocketAddress}
   * (with an empty path on the connecting side, which is not bound to a name)}
   */
  public SocketAddress localAddress() {
    return localAddress;
  }

  /**
   * {@return the peer's address: an {@link InetSocketAddress}, or a {@link
   * UnixDomainSocketAddress} (with an empty path on the accepting side)}
   */
  public SocketAddress remoteAddress() {
    return remoteAddress;
  }

  /**
   * {@return the TLS session once the handshake has finished (protocol, cipher suite, the peer's
   * certificates), or null for plain TCP and before}
   */
  public javax.net.ssl.SSLSession tlsSession() {
    return tls != null && tls.established() ? tls.engine().getSession() : null;
  }

  /** {@return the configuration} */
  public PacketConfig config() {
    return config;
  }

  /** {@return the object attached with {@link #attach}, or null (Go's {@code Tag})} */
  public Object attachment() {
    return attachment;
  }

  /** Attaches an object of the application's, such as its session; returns the previous one. */
  public Object attach(Object value) {
    Object previous = attachment;
    attachment = value;
    return previous;
  }

  /** {@return the channel, for tests that check its options} */
  SocketChannel channel() {
    return channel;
  }

  /** {@return true if the connection stopped reading (backpressure); for tests} */
  boolean readingPaused() {
    return paused;
  }

  /** {@return the bytes queued and not yet written, for monitoring} */
  public long queuedBytes() {
    return out.queuedBytes();
  }

  /**
   * {@return this connection's counters now: packets and bytes in and out, bytes queued, write
   * calls} Cheap enough to poll; the counters are always on and cost the connection nothing.
   */
  public ConnectionStats stats() {
    long in = (long) PACKETS_IN.getOpaque(this);
    long bytesIn = (long) BYTES_READ.getOpaque(this) + (long) BYTES_PULLED.getOpaque(this);
    return out.stats(in, bytesIn);
  }

  /** {@return why the connection closed, or null while it is open} Loop only, or after close. */
  CloseKind closeKind() {
    return closeKind;
  }

  @Override
  public String toString() {
    String status =
        switch (state) {
          case OPEN -> "open";
          case CLOSING -> "closing";
          default -> "closed";
        };
    return "PacketConn[" + format(localAddress) + " -> " + format(remoteAddress) + ", " + status + "]";
  }

  /**
   * {@return host:port, without the {@code /} that {@link InetSocketAddress#toString()} adds; a Unix
   * domain socket's path, or {@code unnamed} for the empty path of an unbound end}
   */
  static String format(SocketAddress address) {
    if (address instanceof InetSocketAddress inet) {
      String host = inet.getHostString();
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    if (address instanceof UnixDomainSocketAddress unix) {
      String path = unix.getPath().toString();
      return path.isEmpty() ? "unnamed" : path;
    }
    return String.valueOf(address);
  }

  // ---- the event loop's side

  private void register() {
    try {
      key = channel.register(loop.selector(), SelectionKey.OP_READ, this);
    } catch (IOException | RuntimeException e) {
      finish(e, true);
      return;
    }
    opened = true;
    events.opened();
    if (StatsMBean.connections()) {
      mbean =
          StatsMBean.register(
              "type=PacketConn,local=" + javax.management.ObjectName.quote(format(localAddress))
                  + ",remote=" + javax.management.ObjectName.quote(format(remoteAddress)),
              ConnectionStats.class,
              this::stats,
              toString());
    }
    if (readIdleNanos != 0 || writeStallNanos != 0 || idleNanos != 0) armLiveness();
    if (tls != null) { // Before a close that came first: its packets go out once hands are shaken.
      handshakeDeadline = System.nanoTime() + config.tls().handshakeTimeout().toNanos();
      loop.addTimer(this);
      events.handshakeBegins();
      try {
        tls.begin();
      } catch (IOException e) {
        finish(e, true);
        return;
      }
    }
    if (state == CLOSING) { // Closed before it was registered: the close could not flush yet.
      closeOnLoop();
      if (tls != null) handshake();
      return;
    }
    if (handler != null) {
      try {
        handler.onOpen(this);
      } catch (Throwable t) {
        handlerFailed = true;
        finish(t, true);
        return;
      }
    }
    if (tls != null) handshake();
  }

  /** Moves the TLS handshake on; once done, lets the packets queued meanwhile and those that came flow. */
  private void handshake() {
    if (state == CLOSED) return;
    boolean done;
    try {
      done = tls.flush() & tls.handshake();
    } catch (IOException e) {
      finish(e, true);
      return;
    }
    int ops = SelectionKey.OP_READ | (tls.wantsWrite() ? SelectionKey.OP_WRITE : 0);
    key.interestOps(inputEnded ? ops & ~SelectionKey.OP_READ : ops);
    if (!done) return;
    handshaking = false;
    handshakeDeadline = 0;
    events.handshakeDone(tls.engine());
    established.complete(null);
    out.takeFilled();
    writeNow(); // What was sent during the handshake.
    readBufferedTls(); // What came with the handshake's last flight.
  }

  /** Reads what TLS holds already decrypted or whole: the selector will not say it is there. */
  private void readBufferedTls() {
    if (state == CLOSED || paused || inputEnded || !tls.hasBufferedInput()) return;
    if (inbox != null && state == OPEN) {
      inbox.readable();
    } else {
      loop.execute(readTask); // Later, not now: let other connections in.
    }
  }

  @Override
  public void ready(SelectionKey key) {
    if (!key.isValid()) return;
    if (handshaking) {
      handshake();
      loop.runFlushes();
      return;
    }
    int ops = key.readyOps();
    if ((ops & SelectionKey.OP_WRITE) != 0) {
      out.takeFilled();
      writeNow();
    }
    if ((ops & SelectionKey.OP_READ) != 0 && state != CLOSED && !paused) {
      if (readIdleNanos != 0) LAST_READ.setOpaque(this, System.nanoTime()); // Per wake-up, not packet.
      if (inbox != null && state == OPEN) {
        key.interestOps(key.interestOps() & ~SelectionKey.OP_READ); // Until the receiver re-arms.
        inbox.readable(); // The receiver reads and decodes on its own thread: see pull().
      } else {
        read();
      }
    }
    loop.runFlushes(); // Everything the callbacks sent: one write per connection per read.
  }

  private void read() {
    if (overBudget()) {
      pauseForBudget();
      return;
    }
    int size = config.readBufferSize();
    ByteBuffer buffer = loop.readBuffer(size);
    for (int reads = 0; reads < 4; reads++) { // A few reads per wake-up, then let others in.
      int n;
      try {
        n = tls == null ? channel.read(buffer) : tls.read(buffer);
      } catch (IOException e) {
        finish(e, false);
        return;
      }
      if (n < 0) {
        endOfStream();
        break;
      }
      if (n == 0) break;
      BYTES_READ.setOpaque(this, bytesRead + n);
      buffer.flip();
      if (state != OPEN) {
        buffer.clear().limit(size); // Closing: the peer's packets are no longer wanted.
      } else {
        loop.dispatching = this;
        try {
          decoder.decode(buffer, sink);
        } catch (Throwable t) {
          finish(t, false);
          return;
        } finally {
          loop.dispatching = null;
        }
      }
      if (state == CLOSED || paused || n < size) break;
      if (overBudget()) {
        pauseForBudget();
        break;
      }
      buffer.clear().limit(size);
    }
    if (tls != null) afterTlsRead();
  }

  /** After a read through TLS: write what it must answer, and come back for what it holds. */
  private void afterTlsRead() {
    if (state == CLOSED || !key.isValid()) return;
    if (tls.wantsWrite()) key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
    readBufferedTls();
  }

  private boolean deliver(Packet packet) throws Exception {
    if (state != OPEN) {
      packet.release(); // Closing or closed: nobody will take it.
      return false;
    }
    PACKETS_IN.setOpaque(this, packetsIn + 1);
    if (handler != null) {
      try {
        handler.onPacket(this, packet);
      } catch (Throwable t) {
        handlerFailed = true; // Not the peer's fault, unlike what the decoder throws.
        throw t;
      }
    } else {
      inbox.addPulled(packet); // Only receivers decode for the inbox: see pull().
    }
    return state == OPEN;
  }

  private void endOfStream() {
    if (state == CLOSED || inputEnded) return;
    inputEnded = true;
    key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
    if (state != OPEN) { // Closing: what the peer sent no longer matters, only that it ended.
      releaseDecoder();
      if (lingering) finish(null, true);
      return;
    }
    EOFException truncated = null;
    decoderLock.lock();
    try {
      decoder.endOfStream();
    } catch (EOFException e) {
      truncated = e;
    } finally {
      decoderLock.unlock();
    }
    if (truncated != null) {
      finish(truncated, false);
      return;
    }
    if (handler != null) {
      beginClose(); // Every callback has run: close gracefully.
    } else {
      inbox.end(null, false); // Receivers see the end; sending works until close().
    }
  }

  private void closeOnLoop() {
    if (state == CLOSED) return;
    // Input is discarded from now on, by the I/O thread also where receivers pulled; reading keeps
    // both sides' flushes moving.
    paused = false;
    events.resumed();
    if (!inputEnded && key != null && key.isValid()) {
      key.interestOps(key.interestOps() | SelectionKey.OP_READ);
    }
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    loop.addTimer(this);
    flushOnLoop(true);
  }

  void flushOnLoop(boolean forced) {
    if (state == CLOSED || key == null) return;
    if (delayedFlush && !forced && state == OPEN) {
      long due = out.flushDue(flushDelayNanos, maxFlushDelayNanos);
      if (System.nanoTime() - due < 0) {
        flushDeadline = due;
        loop.addTimer(this);
        return;
      }
    }
    flushDeadline = 0;
    out.takeFilled();
    writeNow();
  }

  private void writeNow() {
    if (state == CLOSED || handshaking) return; // TLS: the handshake writes first.
    List<PacketConn> resumed;
    boolean tlsPending = false;
    try {
      if (tls == null) {
        resumed = out.write(channel, config.writeBufferSize());
      } else {
        resumed = out.write(tls, config.writeBufferSize());
        tlsPending = !tls.flush();
      }
    } catch (IOException e) {
      finish(e, false);
      return;
    }
    if (writeStallNanos != 0 || idleNanos != 0) noteWrite(tlsPending);
    if (resumed != null) {
      for (PacketConn reader : resumed) reader.resumeFromAnyThread();
    }
    int ops = key.interestOps();
    if (out.hasWriting() || tlsPending) {
      if ((ops & SelectionKey.OP_WRITE) == 0) key.interestOps(ops | SelectionKey.OP_WRITE);
      return;
    }
    if ((ops & SelectionKey.OP_WRITE) != 0) key.interestOps(ops & ~SelectionKey.OP_WRITE);
    if (state == CLOSING && out.isEmpty()) shutdownOutput();
  }

  private void shutdownOutput() {
    if (outputShut) return;
    if (tls != null) { // The closing alert first; writeNow() comes back here once it is written.
      try {
        tls.closeOutbound();
        if (!tls.flush()) {
          key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
          return;
        }
      } catch (IOException e) {
        finish(e, false);
        return;
      }
    }
    outputShut = true;
    try {
      channel.shutdownOutput();
    } catch (IOException e) {
      finish(e, false);
      return;
    }
    outputClosed.complete(null);
    if (inputEnded) {
      finish(null, true);
      return;
    }
    // Keep reading until the peer's end, so unread bytes do not turn our close into a reset that
    // could destroy packets the peer has not read yet.
    lingering = true;
    releaseDecoder();
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    loop.addTimer(this);
    if (paused) {
      paused = false;
      key.interestOps(key.interestOps() | SelectionKey.OP_READ);
    }
  }

  @Override
  public long onTimer(long now) {
    if (flushDeadline != 0 && now - flushDeadline >= 0) flushOnLoop(false);
    if (closeDeadline != 0 && now - closeDeadline >= 0 && state != CLOSED) {
      if (outputShut) {
        finish(null, true); // The peer never closed its side: enough lingering.
      } else {
        finish(
            new SocketTimeoutException(
                "close timed out after " + config.closeTimeout().toMillis() + " ms with "
                    + out.queuedBytes() + " bytes unwritten; aborted"),
            true);
      }
    }
    if (handshakeDeadline != 0 && now - handshakeDeadline >= 0 && state != CLOSED) {
      finish(
          new SocketTimeoutException(
              "TLS handshake with " + format(remoteAddress) + " not finished after "
                  + config.tls().handshakeTimeout().toMillis() + " ms"),
          true);
    }
    long liveness = checkLiveness(now);
    if (state == CLOSED) return 0;
    return earliest(liveness, earliest(earliest(flushDeadline, closeDeadline), handshakeDeadline));
  }

  // ---- timeouts and liveness: deadlines checked lazily, when the loop's timer comes round

  /** Starts the read-idle, write-stall and idle clocks that the configuration turns on. */
  private void armLiveness() {
    long now = System.nanoTime();
    LAST_READ.setOpaque(this, now);
    lastSendNanos = now;
    if (readIdleNanos != 0) readIdleDeadline = now + readIdleNanos;
    if (writeStallNanos != 0) stallDeadline = now + writeStallNanos;
    if (idleNanos != 0) idleDeadline = now + idleNanos;
    loop.addTimer(this); // For the connection's life: each check returns the next deadline.
  }

  /** Stamps a write that made progress, and the start of a stall: queued bytes find the socket full. */
  private void noteWrite(boolean tlsPending) {
    long written = out.writtenBytes();
    boolean waiting = out.hasWriting() || tlsPending; // TLS records the socket did not take count too.
    if (written != writtenAtLastLook) {
      writtenAtLastLook = written;
      lastSendNanos = writeProgressNanos = System.nanoTime();
    } else if (waiting && !stalled) {
      writeProgressNanos = System.nanoTime();
    }
    stalled = waiting;
  }

  /** {@return true if the connection waits for the peer's bytes, rather than not reading by choice} */
  private boolean waitingForPeer() {
    return !paused && !inputEnded && key.isValid() && (key.interestOps() & SelectionKey.OP_READ) != 0;
  }

  /**
   * Closes the connection if a liveness deadline has passed with no activity since, calls {@link
   * PacketHandler#onIdle} if due, and moves the deadlines that saw activity to last activity plus
   * the timeout.
   *
   * @return the next deadline, or 0 if none
   */
  private long checkLiveness(long now) {
    if (readIdleDeadline == 0 && stallDeadline == 0 && idleDeadline == 0) return 0;
    if (state != OPEN) { // Closing: closeTimeout rules from now on.
      readIdleDeadline = stallDeadline = idleDeadline = 0;
      return 0;
    }
    if (readIdleDeadline != 0 && now - readIdleDeadline >= 0) {
      long last = (long) LAST_READ.getOpaque(this);
      if (!waitingForPeer()) {
        LAST_READ.setOpaque(this, now); // The clock runs again from when the connection reads.
        readIdleDeadline = now + readIdleNanos;
      } else if (now - last >= readIdleNanos) {
        finish(
            new SocketTimeoutException(
                "no packet received for " + config.readIdleTimeout().toMillis() + " ms (readIdleTimeout)"),
            false);
        return 0;
      } else {
        readIdleDeadline = last + readIdleNanos;
      }
    }
    if (stallDeadline != 0 && now - stallDeadline >= 0) {
      if (!stalled) {
        stallDeadline = now + writeStallNanos; // A stall starting later is seen at the next look.
      } else if (now - writeProgressNanos >= writeStallNanos) {
        events.writeStalled(now - writeProgressNanos, out.queuedBytes());
        finish(
            new SocketTimeoutException(
                "no bytes written for " + config.writeStallTimeout().toMillis() + " ms with "
                    + out.queuedBytes() + " bytes queued (writeStallTimeout); the peer stopped reading"),
            false);
        return 0;
      } else {
        stallDeadline = writeProgressNanos + writeStallNanos;
      }
    }
    if (idleDeadline != 0 && now - idleDeadline >= 0) {
      if (now - lastSendNanos >= idleNanos) {
        idleDeadline = now + idleNanos; // Again after an interval, unless the handler sends.
        try {
          handler.onIdle(this);
        } catch (Throwable t) {
          handlerFailed = true;
          finish(t, false);
          return 0;
        }
        if (state != OPEN) return checkLiveness(now); // The handler closed it.
      } else {
        idleDeadline = lastSendNanos + idleNanos;
      }
    }
    return earliest(readIdleDeadline, earliest(stallDeadline, idleDeadline));
  }

  /** {@return the earlier of two deadlines, where 0 means none} */
  private static long earliest(long a, long b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return a - b < 0 ? a : b;
  }

  /**
   * {@return true if this connection's memory budget is spent and it must not read (see {@link
   * MemoryBudget}): what it reads might be kept}
   */
  private boolean overBudget() {
    return state == OPEN && !config.memoryBudget().mayRead(decoder); // Closing: nothing is kept.
  }

  /** Stops reading until the budget has room, unless it lets this connection finish its frame. */
  private void pauseForBudget() {
    if (state == CLOSED) return;
    events.paused(BackpressureEvent.PARTIAL_BUDGET, null);
    pause();
    boolean holding;
    decoderLock.lock(); // A receiver may be decoding.
    try {
      holding = decoder.held() > 0; // Only a frame that holds budget can finish and free it.
    } finally {
      decoderLock.unlock();
    }
    if (!config.memoryBudget().pauseReaderUntilRoom(this, holding ? decoder : null)) resume();
  }

  private void pause() {
    if (!paused && key != null && key.isValid()) {
      key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
    }
    paused = true;
  }

  private void resume() {
    if (!paused) return;
    paused = false;
    events.resumed();
    if (state != CLOSED && !inputEnded && key.isValid()) {
      key.interestOps(key.interestOps() | SelectionKey.OP_READ);
      if (tls != null && !handshaking) readBufferedTls();
    }
  }

  void resumeFromAnyThread() {
    if (loop.inLoop()) {
      resume();
    } else {
      loop.execute(resumeTask);
    }
  }

  /**
   * Reads and decodes for a receiver, on its thread, while its queue is empty (see {@link
   * ReceiveQueue}). End of stream and failures are handed to the I/O thread, which owns closing;
   * receivers see them when it ends the queue.
   */
  private void pull() {
    if (state != OPEN) return; // Closing: the I/O thread discards input from now on.
    ByteBuffer buffer = ReadBuffers.take(config.readBufferSize());
    decoderLock.lock();
    try {
      if (overBudget()) {
        loop.execute(pauseForBudgetTask); // Not re-armed: resuming says readable() again.
        return;
      }
      if (handshaking) return; // The I/O thread shakes hands; it says readable() when done.
      int n = state != OPEN ? 0 : tls == null ? channel.read(buffer) : tls.read(buffer);
      if (n < 0) {
        loop.execute(endOfStreamTask);
        return;
      }
      if (n > 0) {
        BYTES_PULLED.setOpaque(this, bytesPulled + n);
        if (readIdleNanos != 0) LAST_READ.setOpaque(this, System.nanoTime());
        buffer.flip();
        decoder.decode(buffer, sink);
      }
      if (tls != null && tls.wantsWrite()) loop.execute(writeTask); // A reply TLS must send.
      if (overBudget()) {
        loop.execute(pauseForBudgetTask);
      } else if (n == buffer.capacity() || (tls != null && tls.hasBufferedInput())) {
        inbox.readable(); // Probably more: the next take reads again at once.
      } else {
        loop.execute(armReadTask); // Drained: the I/O thread says when there is more.
      }
    } catch (Throwable t) {
      loop.execute(() -> finish(t, false));
    } finally {
      decoderLock.unlock();
      ReadBuffers.give(buffer);
    }
  }

  private void armRead() {
    if (state == OPEN && !inputEnded && !paused && key != null && key.isValid()) {
      key.interestOps(key.interestOps() | SelectionKey.OP_READ);
    }
  }

  private void releaseDecoder() {
    decoderLock.lock();
    try {
      decoder.release();
    } finally {
      decoderLock.unlock();
    }
  }

  void abort(Throwable why) {
    if (inbox != null) inbox.end(why, true); // Also after a failure: nobody will receive them.
    out.refuse("closed");
    STATE.compareAndSet(this, OPEN, CLOSING);
    if (loop.inLoop()) {
      finish(why, true);
    } else {
      loop.execute(() -> finish(why, true));
    }
  }

  /** Ends the connection: closes the socket and frees what it held. Loop only; once. */
  private void finish(Throwable why, boolean discardReceived) {
    if (state == CLOSED) return;
    state = CLOSED;
    cause = why;
    if (key != null) key.cancel();
    closeQuietly(channel, why);
    releaseDecoder();
    List<PacketConn> blocked = out.discard(why == null ? "closed" : "closed: " + why);
    if (blocked != null) {
      for (PacketConn reader : blocked) reader.resumeFromAnyThread();
    }
    if (inbox != null) inbox.end(why, discardReceived);
    if (handler != null && opened) {
      try {
        handler.onClose(this, why);
      } catch (Throwable t) {
        EventLoop.logSafely(Level.WARNING, "onClose failed for " + this, t);
      }
    }
    closeKind = CloseKind.of(why, aborted, handlerFailed);
    closeKind.log(this, why);
    events.closed(closeKind, why);
    StatsMBean.unregister(mbean);
    if (onClosed != null) onClosed.accept(this);
    if (tls != null && !established.isDone()) {
      established.completeExceptionally(why != null ? why : new IOException("closed during the TLS handshake"));
    }
    if (why == null) {
      outputClosed.complete(null);
      closeFuture.complete(null);
    } else {
      outputClosed.completeExceptionally(why);
      closeFuture.completeExceptionally(why);
    }
  }

  private static IOException asIOException(Throwable t) {
    return t instanceof IOException io ? io : new IOException(t.toString(), t);
  }

  private static void closeQuietly(Closeable closeable, Throwable failure) {
    try {
      closeable.close();
    } catch (IOException e) {
      if (failure != null) failure.addSuppressed(e);
    }
  }
}
