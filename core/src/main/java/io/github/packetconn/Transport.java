package io.github.packetconn;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;

/**
 * What {@link PacketConn} asks of the machinery that moves its bytes. Two kinds, chosen when the
 * connection is made (see {@code docs/design.md}, "Blocking style"):
 *
 * <ul>
 *   <li>{@link LoopTransport}: an I/O thread's selector reads and writes the socket; packets go to a
 *       {@link PacketHandler} on that thread, or, for TLS connections received in the blocking
 *       style, to receivers that pull them.
 *   <li>{@link SocketTransport}: a plain connection received in the blocking style owns its socket
 *       in blocking mode: the receiver reads and decodes on its own thread, parking in the JDK's
 *       poller, and a writer virtual thread writes; no selector and no hand-off per read.
 * </ul>
 *
 * <p>Both extend {@link AbstractTransport}, which keeps what they do the same way: the lifecycle
 * record and its accessors, sending, the wait of a graceful close, and the bookkeeping of the end.
 *
 * <p>Thread rule: every method may be called from any thread, but {@link #pull(boolean)}, which only the
 * connection's {@link ReceiveQueue} calls, on a receiver's thread.
 */
interface Transport {
  /**
   * Closes {@code channel} as a connection ends: gracefully (the FIN the graceful close sent, or the
   * kernel's default) after a clean end, with a reset (SO_LINGER 0) after a failure or an abort, so
   * that the peer's next read fails with "Connection reset" instead of seeing a clean end of stream.
   * TCP only: a Unix domain socket has no reset. A failure to close is added to {@code why}.
   */
  static void close(SocketChannel channel, Throwable why, boolean aborted) {
    try {
      if ((why != null || aborted) && channel.isOpen() && channel.getRemoteAddress() instanceof InetSocketAddress) {
        channel.setOption(StandardSocketOptions.SO_LINGER, 0); // Closing now sends RST, not FIN.
      }
    } catch (IOException | RuntimeException e) { // The peer reset it first, say: closing is what matters.
      if (why != null) why.addSuppressed(e);
    }
    try {
      channel.close();
    } catch (IOException e) {
      if (why != null) why.addSuppressed(e);
    }
  }

  /**
   * {@return the connection's MBean name, registered with {@code stats} when {@code
   * -Dpacketconn.jmx.connections} asks for it, or null}
   */
  static javax.management.ObjectName registerMBean(
      PacketConn conn, java.util.function.Supplier<ConnectionStats> stats) {
    if (!StatsMBean.connections()) return null;
    return StatsMBean.register(
        "type=PacketConn,local=" + javax.management.ObjectName.quote(PacketConn.format(conn.localAddress()))
            + ",remote=" + javax.management.ObjectName.quote(PacketConn.format(conn.remoteAddress())),
        ConnectionStats.class,
        stats,
        conn.toString());
  }

  /** {@return {@code t} as an IOException: itself if it is one, else wrapping it} */
  static IOException asIOException(Throwable t) {
    return t instanceof IOException io ? io : new IOException(t.toString(), t);
  }

  /** Completes each of {@code futures} normally after a clean end, else with {@code why}. */
  @SafeVarargs
  static void complete(Throwable why, CompletableFuture<Void>... futures) {
    for (CompletableFuture<Void> future : futures) {
      if (why == null) {
        future.complete(null);
      } else {
        future.completeExceptionally(why);
      }
    }
  }

  /** Starts moving bytes; nothing is read before. */
  void start();

  /**
   * Queues {@code packet}, waiting up to {@code timeoutNanos} for room (forever when negative; never
   * on an I/O thread); returns false if nothing was queued. A closing or closed connection throws
   * {@code IllegalStateException}, or returns false if {@code quietIfClosed}. A {@code shared}
   * frame (the packet encoded once for many connections, or null) is queued instead of a copy where
   * the send queue can hold it.
   */
  boolean send(Packet packet, SharedFrame shared, long timeoutNanos, boolean quietIfClosed);

  /** Writes what is queued now, without waiting for the flush delay. */
  void flushNow();

  /** Starts a graceful close; returns false if the connection was already closing or closed. */
  boolean beginClose();

  /**
   * Closes gracefully and waits until the queued packets are written and the output is shut: at
   * most the close timeout, then aborts; not at all on an I/O thread.
   *
   * @throws IOException if the queued packets could not all be written
   */
  void closeAndWait() throws IOException;

  /** Closes at once with {@code why} (null: asked for), dropping what is queued either way. */
  void abort(Throwable why, boolean byApplication);

  /** Aborts because the application's connection handler threw {@code why}. */
  void abortByHandler(Throwable why);

  /**
   * Reads and decodes for a receiver of the inbox, on its thread; without {@code mayWait}, only
   * what the socket has already (see {@link ReceiveQueue.Source#pull(boolean)}).
   */
  void pull(boolean mayWait);

  State state();

  /** {@return why the connection failed, or null} */
  Throwable cause();

  /** {@return the future that completes when the connection has closed} */
  CompletableFuture<Void> closeFuture();

  /** {@return the future that completes when the queued packets are written and the output shut} */
  CompletableFuture<Void> outputClosed();

  /** {@return the future that completes when the TLS handshake has (at once without TLS)} */
  CompletableFuture<Void> established();

  /** {@return the TLS channel, or null} */
  TlsChannel tls();

  SocketChannel channel();

  /** {@return true if backpressure stopped the reading; for tests} */
  boolean readingPaused();

  /** {@return why the connection closed, or null while it is open} */
  CloseKind closeKind();

  ConnectionStats stats();

  /** {@return the bytes queued and not yet written} */
  long queuedBytes();

  /** {@return false from when the queued bytes reach the high water mark until they fall to the low one, and once closing} */
  boolean writable();

  /** {@return when the connection last turned unwritable, by {@link System#nanoTime()}} */
  long unwritableSince();

  /**
   * {@return a future that completes, on an I/O thread, when the connection is writable (at once if
   * it is), or fails with {@code IllegalStateException} if it closes first}
   */
  CompletableFuture<Void> whenWritable();
}
