package io.github.packetconn;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;

/**
 * The first TLS handshake of a loop connection: begins it once the connection is registered, moves
 * it on at each wake-up until the engine is done, keeps its deadline and completes {@code
 * established}. Packets sent meanwhile wait in the send queue and receivers do not read; what
 * follows the handshake, and a failure, is the {@link LoopTransport}'s.
 *
 * <p>Thread rule: everything in this class runs on the connection's event loop, except {@link
 * #inProgress()}, which a pulling receiver reads too.
 */
final class TlsHandshake {
  private final LoopTransport transport; // Its timer keeps the deadline.
  private final TlsChannel tls;
  private final CompletableFuture<Void> established;
  private volatile boolean inProgress = true; // Packets wait until the first handshake is done.
  private long deadline; // Established by then, or fail; 0 once done.

  TlsHandshake(LoopTransport transport, TlsChannel tls, CompletableFuture<Void> established) {
    this.transport = transport;
    this.tls = tls;
    this.established = established;
  }

  /** {@return true until the first handshake is done} Any thread. */
  boolean inProgress() {
    return inProgress;
  }

  /** Starts the deadline and sends the first flight; the connection was just registered. */
  void begin() throws IOException {
    deadline = System.nanoTime() + transport.config.tls().handshakeTimeout().toNanos();
    transport.loop.addTimer(transport);
    transport.events.handshakeBegins();
    tls.begin();
  }

  /**
   * Writes what the engine made and reads what it needs, as far as the socket allows now.
   *
   * @return true once the handshake is done: {@code established} has completed
   */
  boolean step() throws IOException {
    boolean done = tls.flush() & tls.handshake();
    transport.output.writeInterest(tls.wantsWrite());
    if (!done) return false;
    inProgress = false;
    deadline = 0;
    transport.events.handshakeDone(tls.engine());
    established.complete(null);
    return true;
  }

  /** {@return the deadline, or 0 once done} */
  long deadline() {
    return deadline;
  }

  /** {@return true if the handshake is not done at {@code now}, past its deadline} */
  boolean overdue(long now) {
    return deadline != 0 && now - deadline >= 0;
  }

  /** {@return the failure of a handshake that is overdue} */
  SocketTimeoutException timeout() {
    return new SocketTimeoutException(
        "TLS handshake with " + PacketConn.format(transport.conn.remoteAddress()) + " not finished after "
            + transport.config.tls().handshakeTimeout().toMillis() + " ms");
  }
}
