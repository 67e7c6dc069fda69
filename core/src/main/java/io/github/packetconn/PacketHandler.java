package io.github.packetconn;

/**
 * Receives the packets of a connection as callbacks: the fastest way to consume packets.
 *
 * <p>Callbacks run on the connection's I/O thread, one at a time per connection and in arrival
 * order, so they must not block: no {@code receive()}, no sleeping, no blocking calls to other
 * services. {@link PacketConn#send(Packet)} is fine: on an I/O thread it never waits; a connection
 * whose send queue is over its bound makes the loop stop reading the connection whose callback is
 * running until the queue drains. To skip a slow receiver instead (a broadcast, say), use {@link
 * PacketConn#trySend(Packet)}, which here returns false at once when the queue is full.
 *
 * <p><b>Sending to other connections</b> (a broadcast, a relay): any of them may be closing or
 * closed by the time the callback sends, whatever {@code isOpen()} said a moment before. There
 * {@link PacketConn#send(Packet)} and {@link PacketConn#send(Packet, java.time.Duration)} throw
 * {@code IllegalStateException("closed")}, and an exception that leaves the callback aborts the
 * connection being <em>handled</em>, which did nothing wrong, and the log blames it. {@link
 * PacketConn#trySend(Packet)} returns false for a closing or closed connection, as for a full one,
 * and never throws for either, so a broadcast needs no {@code try}/{@code catch}:
 *
 * <pre>{@code
 * for (PacketConn other : server.connections()) {
 *   if (other != conn) other.trySend(packet); // false: full or closed; either way, skip it
 * }
 * }</pre>
 *
 * <p>A {@link PacketGroup} does the same with less work per packet, drops members that close, and
 * has a policy for members that cannot keep up.
 *
 * <pre>{@code
 * PacketHandler echo = (conn, packet) -> {
 *   try (packet) {            // the packet is ours: release it when done
 *     conn.send(packet);
 *   }
 * };
 * }</pre>
 *
 * <p><b>Handing work to another thread.</b> A callback that has slow work to do (a database call, a
 * computation) may pass the packet to an executor instead of blocking the I/O thread: the packet
 * then belongs to the task, which releases it exactly once when done, and the callback must not
 * touch it after handing it over. The task may reply with {@link PacketConn#send(Packet)} from its
 * own thread (there it waits while the send queue is full). Reference counting is atomic, so the
 * release may happen on any thread.
 *
 * <pre>{@code
 * PacketHandler offload = (conn, packet) -> workers.execute(() -> {
 *   try (packet; Packet reply = answer(packet)) { // This task owns the packet now.
 *     conn.send(reply);
 *   }
 * });
 * }</pre>
 *
 * <p>A handler reaches its {@link PacketServer} through a field set after {@code bind}: see
 * {@link PacketServer}. For requests and replies over one connection shared by many threads, see
 * {@link PacketConn}.
 *
 * <p>An exception thrown by a callback aborts that connection, with the exception as the cause;
 * its peer sees a reset.
 */
@FunctionalInterface
public interface PacketHandler {
  /**
   * Handles one received packet, which the handler now owns and should release (or send and
   * release), here or on another thread it hands the packet to. A packet never released is
   * collected by the GC, costing only its pooling.
   *
   * @param conn the connection the packet came from
   * @param packet the packet, whose one reference is the handler's
   * @throws Exception anything; it aborts the connection, becomes its cause and is logged as a
   *     {@code WARNING} with its stack trace
   */
  void onPacket(PacketConn conn, Packet packet) throws Exception;

  /**
   * Called once, before any packet, when the connection is ready.
   *
   * @param conn the new connection
   * @throws Exception anything; it aborts the connection as {@link #onPacket} does
   */
  default void onOpen(PacketConn conn) throws Exception {}

  /**
   * Called when nothing was sent for {@link PacketConfig#idleInterval()}, and again every interval
   * while nothing is: send a heartbeat here so that the peer's {@link
   * PacketConfig#readIdleTimeout()} does not close the connection. The library sends no packets of
   * its own, since the wire format has no control frames; the heartbeat is an application packet.
   *
   * @param conn the connection that sent nothing for an interval
   * @throws Exception anything; it aborts the connection as {@link #onPacket} does
   */
  default void onIdle(PacketConn conn) throws Exception {}

  /**
   * Called on the connection's I/O thread after {@link PacketConn#isWritable()} changed: when its
   * send queue reached the high water mark, and when it drained to the low one. The typical use is to
   * resume what was put off while it was unwritable (reading a file to send, a slow subscriber's
   * backlog). Several quick changes may come as one call, and the state may have changed again by
   * the time it runs: read {@code conn.isWritable()} here. Not called once the connection is closing.
   * Whoever sends (this connection's handler, another connection's, another thread), the call is for
   * the connection whose queue changed and comes on that connection's I/O thread. Threads without a
   * handler use {@link PacketConn#whenWritable()}.
   *
   * @param conn the connection whose writability changed
   * @throws Exception anything; it aborts the connection as {@link #onPacket} does
   */
  default void onWritabilityChanged(PacketConn conn) throws Exception {}

  /**
   * Called once when the connection has closed.
   *
   * @param conn the connection, closed
   * @param cause null for a clean end (either side closed, or the peer ended at a frame boundary),
   *     else why the connection failed
   */
  default void onClose(PacketConn conn, Throwable cause) {}
}
