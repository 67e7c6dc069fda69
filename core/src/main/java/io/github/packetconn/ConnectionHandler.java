package io.github.packetconn;

/**
 * Serves one connection from start to end on its own virtual thread, with blocking calls: Go's
 * {@code go func()} per connection.
 *
 * <pre>{@code
 * ConnectionHandler echo = conn -> {
 *   for (Packet packet : conn) {
 *     try (packet) {
 *       conn.send(packet);
 *     }
 *   }
 * };
 * }</pre>
 *
 * <p>When {@link #handle} returns the connection is closed gracefully; if it throws, the connection
 * is aborted with the exception as the cause, and its peer sees a reset. One exception is taken as a
 * return: the {@code IllegalStateException("closed...")} of a {@code send} on a connection whose
 * graceful close was already under way (the server closing, say), so that the close goes on and
 * the peer still gets every packet queued before it.
 */
@FunctionalInterface
public interface ConnectionHandler {
  /**
   * Serves {@code conn} until done.
   *
   * @param conn the accepted connection, receiving through {@link PacketConn#receive()}
   * @throws Exception anything; it aborts the connection and is logged as a {@code WARNING} with
   *     its stack trace, unless it only reports that the connection had failed already
   */
  void handle(PacketConn conn) throws Exception;
}
