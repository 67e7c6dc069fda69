package io.github.packetconn;

/**
 * The counters of one {@link PacketServer} at one instant, from {@link PacketServer#stats()}: its
 * connections, why they closed, and the traffic of all of them, open and closed.
 *
 * <p>Every closed connection is counted under exactly one cause, so {@code connectionsAccepted ==
 * connectionsOpen + } the sum of the {@code closed*} counters. The traffic counters add up the open
 * connections' {@link ConnectionStats} and those of the closed ones, folded in as each closes.
 *
 * <pre>{@code
 * ServerStats s = server.stats();
 * if (s.closedProtocolError() > 0) {
 *   System.out.println(s.closedProtocolError() + " peers spoke another protocol");
 * }
 * }</pre>
 *
 * @param connectionsOpen connections accepted and not yet closed
 * @param connectionsAccepted connections accepted since the server started
 * @param closedClean connections that ended cleanly: closed by either side at a frame boundary
 * @param closedProtocolError connections closed because the peer broke the protocol (a {@link
 *     java.net.ProtocolException}: a length over the limit, a CRC mismatch, a foreign protocol)
 * @param closedTruncated connections whose stream ended inside a frame (an {@link
 *     java.io.EOFException})
 * @param closedIoError connections reset by the peer or failed by another I/O error
 * @param closedTimeout connections closed by a timeout (a {@link java.net.SocketTimeoutException},
 *     such as a graceful close whose packets the peer did not read in time)
 * @param closedAborted connections the application {@linkplain PacketConn#abort() aborted}
 * @param closedHandlerFailure connections closed because the application's handler threw
 * @param packetsIn packets received by all connections
 * @param bytesIn bytes read by all connections
 * @param packetsOut packets sent by all connections
 * @param bytesOut bytes written by all connections
 * @param queuedBytes bytes queued and not yet written by the open connections
 * @param flushes write system calls of all connections
 */
public record ServerStats(
    long connectionsOpen,
    long connectionsAccepted,
    long closedClean,
    long closedProtocolError,
    long closedTruncated,
    long closedIoError,
    long closedTimeout,
    long closedAborted,
    long closedHandlerFailure,
    long packetsIn,
    long bytesIn,
    long packetsOut,
    long bytesOut,
    long queuedBytes,
    long flushes) {

  /** {@return the average packets per write system call, or 0 before the first write} */
  public double packetsPerFlush() {
    return flushes == 0 ? 0 : (double) packetsOut / flushes;
  }
}
