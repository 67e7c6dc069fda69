package io.github.packetconn;

/**
 * The counters of one {@link PacketConn} at one instant, from {@link PacketConn#stats()}.
 *
 * <p>Counters start at zero when the connection is made and only grow; they are <b>always on</b>,
 * plain fields written by the thread that does the work, so reading them costs the connection
 * nothing. Each counter is exact, but a snapshot of a busy connection is not taken atomically
 * across counters: {@code packetsIn} may already count a packet whose bytes {@code bytesIn} counted
 * a moment before.
 *
 * <pre>{@code
 * ConnectionStats s = conn.stats();
 * System.out.printf("%d packets in, %d out, %.1f packets per write%n",
 *     s.packetsIn(), s.packetsOut(), s.packetsPerFlush());
 * }</pre>
 *
 * @param packetsIn packets received: handed to the handler or to {@link PacketConn#receive()}
 * @param bytesIn bytes read from the socket, headers and CRCs included
 * @param packetsOut packets accepted by {@code send} or {@code trySend}
 * @param bytesOut bytes written to the socket, headers and CRCs included
 * @param queuedBytes bytes accepted and not yet written
 * @param flushes write system calls that wrote at least one byte; each writes whatever the senders
 *     queued since the last one, so {@link #packetsPerFlush()} shows how well sends coalesce
 */
public record ConnectionStats(
    long packetsIn, long bytesIn, long packetsOut, long bytesOut, long queuedBytes, long flushes) {

  /** {@return the average packets per write system call, or 0 before the first write} */
  public double packetsPerFlush() {
    return flushes == 0 ? 0 : (double) packetsOut / flushes;
  }
}
