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
 * <pre>{@code
 * PacketHandler echo = (conn, packet) -> {
 *   try (packet) {            // the packet is ours: release it when done
 *     conn.send(packet);
 *   }
 * };
 * }</pre>
 *
 * <p>An exception thrown by a callback aborts that connection, with the exception as the cause.
 */
@FunctionalInterface
public interface PacketHandler {
  /**
   * Handles one received packet, which the handler now owns and should release (or send and
   * release). A packet never released is collected by the GC, costing only its pooling.
   */
  void onPacket(PacketConn conn, Packet packet) throws Exception;

  /** Called once, before any packet, when the connection is ready. */
  default void onOpen(PacketConn conn) throws Exception {}

  /**
   * Called when nothing was sent for {@link PacketConfig#idleInterval()}, and again every interval
   * while nothing is: send a heartbeat here so that the peer's {@link
   * PacketConfig#readIdleTimeout()} does not close the connection. The library sends no packets of
   * its own, since the wire format has no control frames; the heartbeat is an application packet.
   */
  default void onIdle(PacketConn conn) throws Exception {}

  /**
   * Called once when the connection has closed.
   *
   * @param cause null for a clean end (either side closed, or the peer ended at a frame boundary),
   *     else why the connection failed
   */
  default void onClose(PacketConn conn, Throwable cause) {}
}
