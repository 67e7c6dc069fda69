package io.github.packetconn;

/**
 * The phases of a connection's life, in the only order they can come: a connection never goes
 * back. "May I send now?" is {@code state == OPEN}.
 *
 * <ul>
 *   <li>{@link #OPEN} to {@link #CLOSING}: {@code close()} or {@code abort()}, from any thread (a
 *       compare-and-set, so one caller wins), or the peer's end on a callback connection.
 *   <li>{@link #CLOSING} to {@link #LINGERING}: the I/O thread wrote everything queued and shut the
 *       output; it reads on only to see the peer's end, so unread bytes do not turn the close into
 *       a reset.
 *   <li>any to {@link #CLOSED}: the I/O thread closed the socket (the end, a failure, a deadline).
 * </ul>
 */
enum State {
  /** Sends are accepted and received packets delivered. */
  OPEN,
  /** Sends are refused; what was queued before is being written; input is discarded. */
  CLOSING,
  /** The output is shut; waiting for the peer's end of stream, or the close deadline. */
  LINGERING,
  /** The socket is closed and everything the connection held is released. */
  CLOSED;

  /** {@return the word {@code PacketConn.toString()} shows} */
  String word() {
    return switch (this) {
      case OPEN -> "open";
      case CLOSING, LINGERING -> "closing";
      case CLOSED -> "closed";
    };
  }
}
