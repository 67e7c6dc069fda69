package io.github.packetconn;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The JDK Flight Recorder events of one connection: {@link PacketConn} calls one method here at each
 * moment worth recording, and each method first asks whether a recording wants that event, so that
 * without one nothing is allocated or formatted. The only hook that may run per packet is {@link
 * #paused}, on each send past a full queue, and it returns at once while that pause is recorded.
 *
 * <p>Thread rule: one thread at a time: a {@link LoopTransport}'s I/O thread; for a {@link
 * SocketTransport}, the thread that starts it, then its timer's loop, then the one that finishes it,
 * each after the other (its state's compare-and-set orders them).
 */
final class ConnectionEvents {
  // isEnabled() reads a flag of the event's class, not of the instance: one shared instance per
  // type asks without allocating.
  private static final ConnectionOpenedEvent OPENED = new ConnectionOpenedEvent();
  private static final ConnectionClosedEvent CLOSED = new ConnectionClosedEvent();
  private static final ProtocolErrorEvent PROTOCOL_ERROR = new ProtocolErrorEvent();
  private static final BackpressureEvent BACKPRESSURE = new BackpressureEvent();
  private static final WriteStallEvent WRITE_STALL = new WriteStallEvent();
  private static final TlsHandshakeEvent HANDSHAKE = new TlsHandshakeEvent();

  private final PacketConn conn;
  private long openedNanos; // For the lifetime of the closed event.
  private BackpressureEvent pause; // Begun at a pause while recording; committed at the resume.
  private PacketConn sendingTo; // The connection whose full send queue caused that pause, if one did.
  private TlsHandshakeEvent handshake; // Begun while recording; committed when the handshake ends.

  ConnectionEvents(PacketConn conn) {
    this.conn = conn;
  }

  /** The connection is registered with its I/O thread. */
  void opened() {
    openedNanos = System.nanoTime();
    if (!OPENED.isEnabled()) return;
    ConnectionOpenedEvent event = new ConnectionOpenedEvent();
    event.connection(conn);
    event.tls = conn.config().tls() != null;
    event.commit();
  }

  /** The first TLS handshake begins. */
  void handshakeBegins() {
    if (!HANDSHAKE.isEnabled()) return;
    handshake = new TlsHandshakeEvent();
    handshake.begin();
  }

  /** The first TLS handshake finished. */
  void handshakeDone(SSLEngine engine) {
    TlsHandshakeEvent event = handshake;
    if (event == null) return;
    handshake = null;
    event.end();
    if (!event.shouldCommit()) return;
    SSLSession session = engine.getSession();
    event.connection(conn);
    event.client = engine.getUseClientMode();
    event.success = true;
    event.protocol = session.getProtocol();
    event.cipherSuite = session.getCipherSuite();
    try {
      event.peerPrincipal = session.getPeerPrincipal().getName();
    } catch (SSLPeerUnverifiedException e) {
      event.peerPrincipal = null; // A client without a certificate.
    }
    event.commit();
  }

  /**
   * The connection stops reading for {@code reason}, one of {@link BackpressureEvent}'s; {@code
   * sendingTo} is the connection whose full send queue made it stop, or null. A pause already in
   * progress keeps its reason.
   */
  void paused(String reason, PacketConn sendingTo) {
    if (pause != null || !BACKPRESSURE.isEnabled()) return;
    pause = new BackpressureEvent();
    pause.reason = reason;
    this.sendingTo = sendingTo;
    pause.begin();
  }

  /** The connection reads again, or closes. */
  void resumed() {
    BackpressureEvent event = pause;
    if (event == null) return;
    pause = null;
    PacketConn target = sendingTo;
    sendingTo = null;
    event.end();
    if (!event.shouldCommit()) return; // Shorter than the threshold (10 ms unless configured).
    event.connection(conn);
    if (target != null) event.sendingTo = PacketConn.format(target.remoteAddress());
    event.commit();
  }

  /** writeStallTimeout fires, after {@code stalledNanos} without progress. */
  void writeStalled(long stalledNanos, long queuedBytes) {
    if (!WRITE_STALL.isEnabled()) return;
    WriteStallEvent event = new WriteStallEvent();
    event.connection(conn);
    event.stalled = stalledNanos;
    event.queuedBytes = queuedBytes;
    event.commit();
  }

  /** The connection has closed, as {@code kind}, with {@code why} (null for none). */
  void closed(CloseKind kind, Throwable why) {
    resumed(); // A pause ends with the connection.
    if (handshake != null) handshakeFailed(why);
    if (kind == CloseKind.PROTOCOL_ERROR && PROTOCOL_ERROR.isEnabled()) {
      ProtocolErrorEvent event = new ProtocolErrorEvent();
      event.connection(conn);
      event.message = why.getMessage();
      event.commit();
    }
    if (!CLOSED.isEnabled()) return;
    ConnectionClosedEvent event = new ConnectionClosedEvent();
    event.connection(conn);
    event.kind = kind.name();
    event.cause = why == null ? null : why.toString();
    event.lifetime = openedNanos == 0 ? 0 : System.nanoTime() - openedNanos;
    ConnectionStats stats = conn.stats();
    event.packetsIn = stats.packetsIn();
    event.bytesIn = stats.bytesIn();
    event.packetsOut = stats.packetsOut();
    event.bytesOut = stats.bytesOut();
    event.commit();
  }

  private void handshakeFailed(Throwable why) {
    TlsHandshakeEvent event = handshake;
    handshake = null;
    event.end();
    if (!event.shouldCommit()) return;
    event.connection(conn);
    event.client = conn.config().tls().isClient();
    event.failure = why == null ? "closed during the TLS handshake" : why.toString();
    event.commit();
  }
}
