package io.github.packetconn;

import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Accepts TCP or Unix domain socket connections and hands each one to the application as a {@link
 * PacketConn}.
 *
 * <p>Two styles: a {@link PacketHandler} receives every packet as a callback on the I/O thread
 * (fastest), or a {@link ConnectionHandler} serves each connection on its own <b>virtual thread</b>
 * with blocking calls (Go's goroutine per connection). The handler is chosen by the overload:
 *
 * <pre>{@code
 * try (PacketServer server = PacketServer.bind(14572, (conn, packet) -> {
 *       try (packet) {
 *         conn.send(packet); // echo
 *       }
 *     })) {
 *   server.closeFuture().join();
 * }
 * }</pre>
 *
 * <p>{@link #close()} stops accepting and closes every connection gracefully.
 *
 * <p><b>Reaching the server from a handler</b>: callbacks get their connection, not the server, and
 * a lambda cannot name the variable that {@code bind} is about to assign. Keep the server in a
 * volatile field the handler reads, set as soon as {@code bind} returns. The server accepts from
 * the moment it listens, which is before {@code bind} returns, so a callback of a client that
 * connected at once may still find the field null:
 *
 * <pre>{@code
 * final class Chat implements PacketHandler {
 *   volatile PacketServer server; // Set right after bind.
 *
 *   public void onPacket(PacketConn from, Packet packet) {
 *     try (packet) {
 *       PacketServer s = server;
 *       if (s == null) return; // Still inside bind: nobody to tell yet.
 *       for (PacketConn conn : s.connections()) {
 *         if (conn != from) conn.trySend(packet); // False for a slow or closed reader: skip it.
 *       }
 *     }
 *   }
 * }
 *
 * Chat chat = new Chat();
 * chat.server = PacketServer.bind(14572, chat);
 * }</pre>
 *
 * <p>A handler that only needs the set of connections can keep its own, from {@link
 * PacketHandler#onOpen} and {@link PacketHandler#onClose}, and never sees a gap.
 *
 * <p><b>Unix domain sockets</b>: bound to a {@link UnixDomainSocketAddress} (or {@link #bind(Path,
 * PacketHandler)}), the server creates the socket file and <b>deletes it when it closes</b>. A file
 * left at the path by a server that died is replaced if nothing listens on it; binding fails with a
 * {@link java.net.BindException} if a server listens there or the file is not a socket.
 *
 * <p>All methods are safe to call from any thread.
 */
public final class PacketServer implements Closeable, EventLoop.Selectable, EventLoop.Timed {
  private static final System.Logger LOG = System.getLogger("io.github.packetconn");

  private final ServerSocketChannel server;
  private final PacketConfig config;
  private final PacketHandler packetHandler; // Exactly one of the two handlers is set.
  private final ConnectionHandler connectionHandler;
  private final EventLoop loop = EventLoop.next();
  private final SocketAddress localAddress;
  private final SocketFile socketFile; // Null for TCP.
  private final Set<PacketConn> connections = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
  private final ServerMeter meter = new ServerMeter();
  private final javax.management.ObjectName mbean; // Null when JMX is off.
  private volatile boolean closed;
  private SelectionKey key; // Loop only.
  private long acceptAgainAt; // After a failed accept, when to try again; loop only.

  private PacketServer(
      SocketAddress address,
      PacketConfig config,
      PacketHandler packetHandler,
      ConnectionHandler connectionHandler)
      throws IOException {
    this.config = Objects.requireNonNull(config, "config");
    if (config.tls() != null && config.tls().isClient()) {
      throw new IllegalArgumentException("a client's TlsConfig in a server's PacketConfig: " + config.tls());
    }
    this.packetHandler = packetHandler;
    this.connectionHandler = connectionHandler;
    UnixDomainSocketAddress unix = address instanceof UnixDomainSocketAddress u ? u : null;
    server = unix != null ? ServerSocketChannel.open(StandardProtocolFamily.UNIX) : ServerSocketChannel.open();
    SocketFile file = null;
    try {
      if (unix == null) {
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        SocketErrors.bind(server, address, 1024); // Names the address, which the JDK's message does not.
      } else {
        file = SocketFile.bind(server, unix, 1024);
      }
      server.configureBlocking(false);
      localAddress = server.getLocalAddress();
    } catch (IOException | RuntimeException e) {
      server.close();
      if (file != null) file.delete();
      throw e;
    }
    socketFile = file;
    mbean =
        StatsMBean.register(
            "type=PacketServer,name=" + javax.management.ObjectName.quote(PacketConn.format(localAddress)),
            ServerStats.class,
            this::stats,
            "PacketServer on " + PacketConn.format(localAddress));
    loop.execute(this::register);
  }

  /**
   * Listens on {@code port} of every interface; packets go to the handler.
   *
   * @param port the TCP port, or 0 for a free one ({@link #port()} tells which)
   * @param handler called on an I/O thread for every packet of every connection
   * @return the server, accepting connections
   * @throws IOException if the port cannot be bound, e.g. a {@link java.net.BindException} when it
   *     is taken
   */
  public static PacketServer bind(int port, PacketHandler handler) throws IOException {
    return bind(new InetSocketAddress(port), PacketConfig.DEFAULT, handler);
  }

  /**
   * Listens on {@code port} of every interface; each connection gets a virtual thread.
   *
   * @param port the TCP port, or 0 for a free one ({@link #port()} tells which)
   * @param handler run once per connection, on that connection's own virtual thread
   * @return the server, accepting connections
   * @throws IOException if the port cannot be bound, e.g. a {@link java.net.BindException} when it
   *     is taken
   */
  public static PacketServer bind(int port, ConnectionHandler handler) throws IOException {
    return bind(new InetSocketAddress(port), PacketConfig.DEFAULT, handler);
  }

  /**
   * Listens on the Unix domain socket {@code path}, which it creates and deletes on close; packets
   * go to the handler.
   *
   * @param path where to create the socket file (about 100 bytes at most)
   * @param handler called on an I/O thread for every packet of every connection
   * @return the server, accepting connections
   * @throws IOException if the socket cannot be created, e.g. a {@link java.net.BindException} if a
   *     server listens there or the file is not a socket; the message names the path
   */
  public static PacketServer bind(Path path, PacketHandler handler) throws IOException {
    return bind(UnixDomainSocketAddress.of(path), PacketConfig.DEFAULT, handler);
  }

  /**
   * Listens on the Unix domain socket {@code path}; each connection gets a virtual thread.
   *
   * @param path where to create the socket file (about 100 bytes at most)
   * @param handler run once per connection, on that connection's own virtual thread
   * @return the server, accepting connections
   * @throws IOException if the socket cannot be created, e.g. a {@link java.net.BindException} if a
   *     server listens there or the file is not a socket; the message names the path
   */
  public static PacketServer bind(Path path, ConnectionHandler handler) throws IOException {
    return bind(UnixDomainSocketAddress.of(path), PacketConfig.DEFAULT, handler);
  }

  /**
   * Listens on {@code address}, an {@link InetSocketAddress} or a {@link UnixDomainSocketAddress};
   * packets of every connection go to {@code handler}.
   * A failure names the address, e.g. {@code BindException: bind to 127.0.0.1:14572 failed:
   * address already in use}.
   *
   * @param address where to listen; port 0 picks a free port
   * @param config the settings of every accepted connection, TLS among them
   * @param handler called on an I/O thread for every packet of every connection
   * @return the server, accepting connections
   * @throws IOException if the address cannot be bound, e.g. a {@link java.net.BindException}
   * @throws IllegalArgumentException if {@code config} holds a client's {@link TlsConfig}
   */
  public static PacketServer bind(SocketAddress address, PacketConfig config, PacketHandler handler)
      throws IOException {
    return new PacketServer(address, config, Objects.requireNonNull(handler, "handler"), null);
  }

  /**
   * Listens on {@code address}; each connection runs {@code handler} on its own virtual thread.
   *
   * @param address an {@link InetSocketAddress} (port 0 picks a free port) or a {@link
   *     UnixDomainSocketAddress}
   * @param config the settings of every accepted connection, TLS among them
   * @param handler run once per connection, on that connection's own virtual thread
   * @return the server, accepting connections
   * @throws IOException if the address cannot be bound, e.g. a {@link java.net.BindException}
   * @throws IllegalArgumentException if {@code config} holds a client's {@link TlsConfig}
   */
  public static PacketServer bind(
      SocketAddress address, PacketConfig config, ConnectionHandler handler) throws IOException {
    return new PacketServer(address, config, null, Objects.requireNonNull(handler, "handler"));
  }

  /**
   * {@return the bound address: an {@link InetSocketAddress} with the actual port when bound to port
   * 0, or a {@link UnixDomainSocketAddress}}
   */
  public SocketAddress localAddress() {
    return localAddress;
  }

  /**
   * {@return the bound TCP port}
   *
   * @throws IllegalStateException if the server listens on a Unix domain socket
   */
  public int port() {
    if (localAddress instanceof InetSocketAddress inet) return inet.getPort();
    throw new IllegalStateException("not a TCP server: " + PacketConn.format(localAddress));
  }

  /** {@return a live, unmodifiable view of the open connections} */
  public Set<PacketConn> connections() {
    return Collections.unmodifiableSet(connections);
  }

  /**
   * {@return the counters now: connections open, accepted and closed by cause, and the traffic of
   * every connection, the closed ones included} Also published over JMX as {@code
   * io.github.packetconn:type=PacketServer,name="host:port"}.
   */
  public ServerStats stats() {
    return meter.snapshot(connections);
  }

  /** {@return true until {@link #close()}} */
  public boolean isOpen() {
    return !closed;
  }

  /** {@return a future that completes when {@link #close()} has finished} */
  public CompletableFuture<Void> closeFuture() {
    return closeFuture.copy();
  }

  /**
   * Stops accepting, then closes every connection gracefully, waiting up to {@link
   * PacketConfig#closeTimeout()} for their queued packets before aborting the rest. When it returns,
   * the listening socket is closed: the port can be bound again at once (a Unix domain socket's
   * file is deleted). Called on an I/O thread (in a handler), it starts all this and returns at
   * once. Calling it again does nothing.
   *
   * @throws IOException if the listening socket failed to close
   */
  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      loop.execute(this::closeOnLoop);
    }
    if (EventLoop.current() != null) return; // Never block an I/O thread.
    long patience = config.closeTimeout().toMillis() + 5_000; // The connections' deadline, and some.
    try {
      closeFuture.get(patience, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("server close did not finish in " + patience + " ms: " + this);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while closing " + this);
    }
  }

  private void closeOnLoop() {
    StatsMBean.unregister(mbean);
    IOException failure = null;
    try {
      // A registered channel's socket is closed only when its key leaves the selector, at the
      // loop's next select, which an idle loop may not reach for a long time: the port would stay
      // bound after close() returned. Deregister first, so that close() releases the port now.
      if (key != null) loop.deregister(key);
      server.close();
    } catch (IOException e) {
      failure = e;
    }
    if (socketFile != null) {
      try {
        socketFile.delete(); // At once: a new server may bind while these connections drain.
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    List<PacketConn> open = new ArrayList<>(connections);
    List<CompletableFuture<Void>> closing = new ArrayList<>(open.size());
    for (PacketConn conn : open) closing.add(conn.closeAsync().exceptionally(t -> null));
    IOException socketFailure = failure;
    CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new))
        .orTimeout(config.closeTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .whenComplete(
            (ignored, timedOut) -> {
              if (timedOut != null) {
                for (PacketConn conn : open) conn.abort(); // Queued packets past the deadline.
              }
              if (socketFailure != null) {
                closeFuture.completeExceptionally(socketFailure);
              } else {
                closeFuture.complete(null);
              }
            });
  }

  @Override
  public String toString() {
    return "PacketServer[" + PacketConn.format(localAddress) + ", " + connections.size() + " connections"
        + (closed ? ", closed]" : "]");
  }

  private void register() {
    if (closed) return;
    try {
      key = server.register(loop.selector(), SelectionKey.OP_ACCEPT, this);
    } catch (IOException e) {
      LOG.log(Level.ERROR, "cannot register " + this, e);
    }
  }

  @Override
  public void ready(SelectionKey key) {
    for (int i = 0; i < 64 && !closed; i++) { // Bounded, so one busy server cannot starve the loop.
      SocketChannel channel;
      try {
        channel = server.accept();
      } catch (IOException e) { // Typically out of file descriptors: back off instead of spinning.
        key.interestOps(0);
        acceptAgainAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        loop.addTimer(this);
        EventLoop.logSafely(Level.WARNING, "accept failed on " + this + "; pausing accepts for 100 ms", e);
        return;
      }
      if (channel == null) return;
      accepted(channel);
    }
  }

  @Override
  public long onTimer(long now) {
    if (now - acceptAgainAt < 0) return acceptAgainAt;
    if (!closed && key.isValid()) key.interestOps(SelectionKey.OP_ACCEPT);
    return 0;
  }

  private void accepted(SocketChannel channel) {
    PacketConn conn;
    try {
      conn = PacketConn.accepted(channel, config, packetHandler, c -> meter.closed(connections, c));
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.DEBUG, () -> "dropping a connection that failed at accept: " + e);
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      return;
    }
    meter.accepted(connections, conn); // Before it starts, so it is listed before any packet is handled.
    conn.start();
    if (closed) conn.abort();
    if (connectionHandler != null) {
      Thread.ofVirtual().name("packetconn-" + PacketConn.format(conn.remoteAddress())).start(() -> serve(conn));
    }
  }

  private void serve(PacketConn conn) {
    try {
      connectionHandler.handle(conn);
    } catch (Throwable t) {
      if (!conn.isOpen() && conn.closeCause() == null && closedUnderIt(t)) {
        // The handler's send met a close already under way (the server's, say): it ends as a
        // handler that returned, and the graceful close goes on; aborting would reset the peer.
      } else if (conn.isOpen() || conn.closeCause() == null) {
        conn.abortByHandler(t);
        return;
      } else { // The connection failed and the handler merely noticed; that close was logged, once.
        conn.abort(t); // Releases the packets still queued for it.
        return;
      }
    }
    try {
      conn.close();
    } catch (IOException e) {
      // Logged when the connection closed, once.
    }
  }

  /** {@return true if {@code t} is what a send throws on a connection that is closing} */
  private static boolean closedUnderIt(Throwable t) {
    return t instanceof SendQueue.Closed;
  }
}
