package io.github.packetconn;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
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
 * #trySend(Packet)} does not wait. Packets sent from one thread arrive in the order sent. Before the
 * queue is full, {@link #isWritable()} turns false at a high water mark and true again at a low one,
 * for a sender that can put packets off: {@link PacketHandler#onWritabilityChanged} and {@link
 * #whenWritable()} say when.
 *
 * <p><b>Receiving</b>, in one of two styles chosen when the connection is made: a {@link
 * PacketHandler} called on the I/O thread for each packet (the fastest), or {@link #receive()} and
 * iteration ({@code for (Packet p : conn)}), which block and suit virtual threads. Either way the
 * received packet belongs to the receiver, who releases it or hands it to another thread that then
 * does (see {@link Packet} and the package documentation).
 *
 * <p><b>Closing</b>: {@link #close()} writes everything queued before it, then closes: the peer
 * reads every packet, then a clean end of stream. {@link #abort()} drops what is queued and closes
 * at once. A peer that breaks the protocol (a length above {@link PacketConfig#maxPacketSize()}, a
 * CRC mismatch, a frame cut by the end of the stream) closes this connection only, with a {@link
 * java.net.ProtocolException} or an {@link EOFException} naming the values; {@link #closeFuture()}
 * tells when and why. <b>The peer can tell a failure from a graceful close</b>: an abort, a
 * handler's failure, a protocol error or a timeout closes a TCP connection with a reset (SO_LINGER
 * 0), so the peer's next read fails with {@code SocketException: Connection reset}, which a
 * packetconn peer's {@code receive()} throws and {@code closeCause()} returns.
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
 * <p><b>Requests and replies</b>: one connection can carry the calls of many threads at once, with
 * a request id in each packet and a {@link CompletableFuture} per id, completed from a {@link
 * PacketHandler} and failed from {@link PacketHandler#onClose}: see the package documentation and
 * the project's {@code examples/rpc}.
 *
 * <p>All methods are safe to call from any thread.
 */
public final class PacketConn implements Closeable, Iterable<Packet> {
  private final Transport io; // The I/O thread's side.
  private final PacketConfig config;
  private final ReceiveQueue inbox; // Null: packets go to the handler.
  private final SocketAddress localAddress;
  private final SocketAddress remoteAddress;
  private volatile Object attachment;
  private volatile PacketGroup.Memberships memberships; // Made when it first joins a PacketGroup.

  /**
   * Wraps {@code channel}, connected; {@code target} is the address it was connected to (the TLS
   * peer's name), or null. {@link Connector} sets the socket up and chooses the transport.
   */
  PacketConn(
      SocketChannel channel,
      PacketConfig config,
      PacketHandler handler,
      Consumer<PacketConn> onClosed,
      SocketAddress target)
      throws IOException {
    this.config = config;
    boolean ownsSocket = Connector.ownsSocket(config, handler);
    channel.configureBlocking(ownsSocket); // Blocking: its receivers and writer park in the JDK's poller.
    this.localAddress = channel.getLocalAddress();
    this.remoteAddress = channel.getRemoteAddress();
    if (remoteAddress == null) throw new IllegalArgumentException("channel is not connected");
    this.inbox = handler == null ? new ReceiveQueue(this::pull, ownsSocket) : null;
    this.io = Connector.transport(this, channel, config, handler, inbox, onClosed, target);
  }

  private void pull(boolean mayWait) { // For the inbox, which needs it before io exists.
    io.pull(mayWait);
  }

  /** Hands the connection to its loop; nothing is read before this. */
  PacketConn start() {
    io.start();
    return this;
  }

  /** {@return the machinery that moves the bytes} */
  Transport transport() {
    return io;
  }

  /**
   * Connects to {@code host:port} with the default configuration.
   *
   * @param host a host name or an IP address literal
   * @param port the server's TCP port
   * @return the connection, open, receiving through {@link #receive()}
   * @throws IOException if the connection cannot be made: refused, unreachable, or not accepted
   *     within {@link PacketConfig#connectTimeout()} (a {@link SocketTimeoutException})
   */
  public static PacketConn connect(String host, int port) throws IOException {
    return connect(new InetSocketAddress(host, port), PacketConfig.DEFAULT, null);
  }

  /**
   * Connects to {@code host:port} with {@code config}.
   *
   * @param host a host name or an IP address literal
   * @param port the server's TCP port
   * @param config the settings, TLS among them
   * @return the connection, open (over TLS, with the handshake done), receiving through {@link
   *     #receive()}
   * @throws IOException if the connection or its TLS handshake fails, or the peer does not accept
   *     within {@link PacketConfig#connectTimeout()} (a {@link SocketTimeoutException})
   */
  public static PacketConn connect(String host, int port, PacketConfig config) throws IOException {
    return connect(new InetSocketAddress(host, port), config, null);
  }

  /**
   * Connects to the Unix domain socket at {@code path} with the default configuration.
   *
   * @param path the socket file a {@link PacketServer} listens on
   * @return the connection, open, receiving through {@link #receive()}
   * @throws IOException if nothing listens at {@code path}; the message names the path
   */
  public static PacketConn connect(Path path) throws IOException {
    return connect(UnixDomainSocketAddress.of(path), PacketConfig.DEFAULT, null);
  }

  /**
   * Connects to {@code address}, an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress};
   * packets go to {@code handler}, or to {@link #receive()} when it is null. A failure names the
   * address, e.g. {@code ConnectException: connect to 127.0.0.1:14572 refused}.
   *
   * @param address where the server listens
   * @param config the settings, TLS among them
   * @param handler called on an I/O thread for each packet, or null to receive with {@link
   *     #receive()}
   * @return the connection, open; over TLS, with the handshake done (unless called on an I/O
   *     thread, which must not wait for it)
   * @throws IOException if the connection or its TLS handshake fails, or the peer does not accept
   *     within {@link PacketConfig#connectTimeout()} (a {@link SocketTimeoutException})
   * @throws IllegalArgumentException if {@code config} holds a server's {@link TlsConfig}
   */
  public static PacketConn connect(SocketAddress address, PacketConfig config, PacketHandler handler)
      throws IOException {
    return Connector.connect(address, config, handler);
  }

  /**
   * Wraps a connected channel (Go's {@code NewPacketConn}) with the default configuration.
   *
   * @param channel a connected socket channel, owned by the connection from now on
   * @return the connection, receiving through {@link #receive()}
   * @throws IOException if the channel cannot be configured
   * @throws IllegalArgumentException if the channel is not connected
   */
  public static PacketConn wrap(SocketChannel channel) throws IOException {
    return wrap(channel, PacketConfig.DEFAULT, null);
  }

  /**
   * Wraps a connected channel with {@code config}.
   *
   * @param channel a connected socket channel, owned by the connection from now on
   * @param config the settings
   * @return the connection, receiving through {@link #receive()}
   * @throws IOException if the channel cannot be configured
   * @throws IllegalArgumentException if the channel is not connected
   */
  public static PacketConn wrap(SocketChannel channel, PacketConfig config) throws IOException {
    return wrap(channel, config, null);
  }

  /**
   * Wraps a connected channel; packets go to {@code handler}, or to {@link #receive()} when it is
   * null. The connection owns the channel from now on and sets its blocking mode as its style needs.
   *
   * @param channel a connected socket channel
   * @param config the settings
   * @param handler called on an I/O thread for each packet, or null to receive with {@link
   *     #receive()}
   * @return the connection
   * @throws IOException if the channel cannot be configured
   * @throws IllegalArgumentException if the channel is not connected
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
   * <p><b>A connection may close at any moment</b>, from its peer's side or another thread's, and
   * checking {@link #isOpen()} first does not help: it may close right after. Sent to a connection
   * that is closing or closed, this throws {@code IllegalStateException} with a message starting
   * {@code "closed"} (followed by the cause of a failure, {@code "closed: java.io.IOException: ..."}).
   * Uncaught in a {@link PacketHandler}, that exception aborts the connection being <em>handled</em>,
   * not this one; a handler sending to <em>other</em> connections uses {@link #trySend(Packet)},
   * which returns false instead, or a {@link PacketGroup}.
   *
   * @param packet sent whole, from byte 0 whatever its read position; still the caller's to
   *     release
   * @throws IllegalStateException if the connection is closing or closed (also when it closes while
   *     this waits for room), or the packet was released
   * @throws IllegalArgumentException if the packet exceeds {@link PacketConfig#maxPacketSize()}
   */
  public void send(Packet packet) {
    enqueue(packet, -1, false);
  }

  /**
   * Queues {@code packet}, waiting at most {@code timeout} for room. A closing or closed connection
   * throws, as for {@link #send(Packet)}.
   *
   * @param packet as for {@link #send(Packet)}
   * @param timeout the longest to wait for room; zero does not wait
   * @return false if the queue stayed full for the whole timeout; nothing was queued
   * @throws IllegalStateException if the connection is closing or closed (also when it closes while
   *     this waits for room), or the packet was released
   */
  public boolean send(Packet packet, Duration timeout) {
    if (timeout.isNegative()) throw new IllegalArgumentException("timeout < 0: " + timeout);
    return enqueue(packet, timeout.toNanos(), false);
  }

  /**
   * Queues {@code packet} if there is room now. Never waits and never throws for the connection's
   * state: a connection that is closing or closed returns false, as a full one does, so a loop over
   * many connections (a broadcast from a handler, say) needs no {@code try}/{@code catch} for one
   * that closed meanwhile:
   *
   * <pre>{@code
   * for (PacketConn c : server.connections()) c.trySend(packet); // false for full and closed ones
   * }</pre>
   *
   * @param packet as for {@link #send(Packet)}
   * @return false if nothing was queued: the queue is full, or the connection is closing or closed
   *     ({@link #isOpen()} tells which)
   * @throws IllegalStateException if the packet was released
   * @throws IllegalArgumentException if the packet exceeds {@link PacketConfig#maxPacketSize()}
   */
  public boolean trySend(Packet packet) {
    return enqueue(packet, 0, true);
  }

  /**
   * {@return false while the send queue is over its high water mark: from when the bytes queued
   * reach {@link PacketConfig#writeHighWaterMark()} until writes bring them down to {@link
   * PacketConfig#writeLowWaterMark()}; and false for good once the connection is closing or closed}
   * A sender with packets it may skip or put off (a broadcast to a slow reader, a bulk transfer)
   * checks this first, and resumes when {@link PacketHandler#onWritabilityChanged} or {@link
   * #whenWritable()} says so. Unwritable is a signal, not a limit: sends are still accepted until
   * the queue holds {@link PacketConfig#sendQueueBytes()}. A volatile read: cheap enough per packet.
   */
  public boolean isWritable() {
    return io.writable();
  }

  /**
   * {@return a future that completes when this connection is writable (see {@link #isWritable()}):
   * at once if it is now, else when writes bring its queue down to the low water mark; it fails with
   * the {@code IllegalStateException} {@link #send(Packet)} would throw if the connection is closing
   * or closed, now or before it turns writable}
   * The future completes on an I/O thread: an action added with {@code thenRun} runs there and must
   * not block, as in a {@link PacketHandler} (there a {@code send} never waits); use {@code
   * thenRunAsync} for anything slow. When the connection fails, the future may fail on the thread
   * that closes it. Each call returns a new future: completing or cancelling it affects no other.
   * Nothing is allocated while no one calls this.
   */
  public CompletableFuture<Void> whenWritable() {
    CompletableFuture<Void> shared = io.whenWritable();
    return shared.isDone() ? shared : shared.copy(); // Done ones are fresh already.
  }

  /** {@return when the connection last turned unwritable, by {@link System#nanoTime()}} */
  long unwritableSince() {
    return io.unwritableSince();
  }

  /** {@return the groups this connection is a member of, made on first use} */
  PacketGroup.Memberships memberships() {
    PacketGroup.Memberships m = memberships;
    if (m == null) {
      synchronized (this) { // Once per connection; a losing racer must not hook the close twice.
        m = memberships;
        if (m == null) memberships = m = new PacketGroup.Memberships(this, io.closeFuture());
      }
    }
    return m;
  }

  /** Writes queued packets now, without waiting for {@link PacketConfig#flushDelay()}. */
  public void flush() {
    io.flushNow();
  }

  /**
   * Queues {@code packet}, waiting up to {@code timeoutNanos} (see {@link Transport#send}); a
   * {@code quietIfClosed} send returns false for a closing or closed connection instead of throwing.
   */
  boolean enqueue(Packet packet, long timeoutNanos, boolean quietIfClosed) {
    return enqueue(packet, null, timeoutNanos, quietIfClosed);
  }

  /** As {@link #enqueue(Packet, long, boolean)}, queueing {@code shared} instead of a copy where it can. */
  boolean enqueue(Packet packet, SharedFrame shared, long timeoutNanos, boolean quietIfClosed) {
    int size = packet.size();
    if (size > config.maxPacketSize()) {
      throw new IllegalArgumentException(
          "packet size " + size + " exceeds maxPacketSize " + config.maxPacketSize());
    }
    return io.send(packet, shared, timeoutNanos, quietIfClosed);
  }

  // ---- receiving

  /**
   * Waits for the next packet, which the caller then owns.
   *
   * <p>On a plain (not TLS) connection the calling thread reads the socket itself, and waits inside
   * the read while nothing has arrived. Interrupting it there closes the connection, as the JDK does
   * for any interruptible channel ({@code ClosedByInterruptException} becomes {@link #closeCause()});
   * to stop waiting without closing, use {@link #receive(Duration)}, whose wait an interrupt ends
   * with an {@link InterruptedIOException}. A {@link #close()} from another thread lets a receiver
   * waiting in the socket return null once the peer has closed its side too (a packetconn peer does
   * so on its end of stream), or at {@link PacketConfig#closeTimeout()} at the latest.
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
   * <p>On a plain connection the caller reads what the socket already has itself, as {@link
   * #receive()} does; when it must wait, a virtual thread waits in the socket for it while the
   * caller waits no longer than {@code timeout}, so that an interrupt ends only the wait (with an
   * {@link InterruptedIOException}) and closes nothing. The
   * caller's wait is kept by the connection's I/O thread, to about a millisecond, for timeouts of
   * 10 ms or more, and by the JDK for shorter ones. The bench's echo server takes 1.0 to 1.25 times
   * the CPU per packet with timed receives than with {@code receive()} (see the README).
   *
   * @param timeout the longest to wait
   * @return the packet, which the caller then owns, or null once the stream has ended cleanly
   * @throws SocketTimeoutException if no packet arrived in time; the connection stays open
   * @throws IOException why the connection failed, after the packets received before the failure
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
    return new PacketIterator(this);
  }

  /** {@return how many pulls a virtual thread made for timed receivers; for tests} */
  long backgroundPulls() {
    return inbox().backgroundPulls();
  }

  /** {@return the receive queue's arrays and the handles they hold (ReceiveQueue.footprint()); for tests} */
  int[] inboxFootprint() {
    return inbox().footprint();
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
   * side (a FIN: the peer sees a clean end of stream), and releases packets not yet received. Waits
   * up to {@link PacketConfig#closeTimeout()} for the queued packets to be written, then aborts.
   * Input is read and dropped until the peer's end (or the same deadline), so that unread bytes
   * never turn the close into a reset; a receiver waiting in the socket on another thread returns
   * null then (see {@link #receive()}). Called on an I/O thread, it does not wait. Calling it again
   * does nothing.
   *
   * @throws IOException if the queued packets could not all be written
   */
  @Override
  public void close() throws IOException {
    io.closeAndWait();
  }

  /** Starts a graceful close; the future completes once the queued packets are written. */
  CompletableFuture<Void> closeAsync() {
    io.beginClose();
    return io.outputClosed();
  }

  /**
   * Closes at once, dropping queued packets in both directions, with a reset: over TCP the peer's
   * next read fails with {@code SocketException: Connection reset} rather than seeing a clean end.
   * Calling it again does nothing.
   */
  public void abort() {
    io.abort(null, true);
  }

  /** Aborts because of {@code why}, which the connection's close reports. */
  void abort(Throwable why) {
    io.abort(why, false);
  }

  /** Aborts because the application's connection handler threw {@code why}. */
  void abortByHandler(Throwable why) {
    io.abortByHandler(why);
  }

  /** {@return true until {@link #close()} or {@link #abort()} is called or the connection fails} */
  public boolean isOpen() {
    return io.state() == State.OPEN;
  }

  /**
   * {@return a future that completes when the connection has closed: normally for a clean end,
   * exceptionally with the cause of a failure}
   */
  public CompletableFuture<Void> closeFuture() {
    return io.closeFuture().copy();
  }

  /** {@return why the connection failed, or null while open or after a clean end} */
  public Throwable closeCause() {
    return io.cause();
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
    TlsChannel tls = io.tls();
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

  /**
   * Attaches an object of the application's, such as its session.
   *
   * @param value any object, or null to detach
   * @return the object attached before, or null
   */
  public Object attach(Object value) {
    Object previous = attachment;
    attachment = value;
    return previous;
  }

  /** {@return the channel, for tests that check its options} */
  SocketChannel channel() {
    return io.channel();
  }

  /** {@return true if the connection stopped reading (backpressure); for tests} */
  boolean readingPaused() {
    return io.readingPaused();
  }

  /** {@return the bytes queued and not yet written, for monitoring} */
  public long queuedBytes() {
    return io.queuedBytes();
  }

  /**
   * {@return this connection's counters now: packets and bytes in and out, bytes queued, write
   * calls} Cheap enough to poll; the counters are always on and cost the connection nothing.
   */
  public ConnectionStats stats() {
    return io.stats();
  }

  /** {@return why the connection closed, or null while it is open} Loop only, or after close. */
  CloseKind closeKind() {
    return io.closeKind();
  }

  @Override
  public String toString() {
    return "PacketConn[" + format(localAddress) + " -> " + format(remoteAddress) + ", " + io.state().word() + "]";
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
}
