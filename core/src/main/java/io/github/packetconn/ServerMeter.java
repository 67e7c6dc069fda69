package io.github.packetconn;

import java.util.Collection;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A server's connection counters and the traffic of its closed connections. Touched once per
 * accept and once per close, never per packet; the lock makes a snapshot count each connection
 * exactly once, as open or as closed.
 */
final class ServerMeter {
  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock.
  private long accepted;
  private final long[] closed = new long[CloseKind.values().length]; // By CloseKind ordinal.
  private long packetsIn;
  private long bytesIn;
  private long packetsOut;
  private long bytesOut;
  private long flushes;

  /** Adds {@code conn} to {@code open} and counts it. */
  void accepted(Collection<PacketConn> open, PacketConn conn) {
    lock.lock();
    try {
      open.add(conn);
      accepted++;
    } finally {
      lock.unlock();
    }
  }

  /** Removes {@code conn}, which has closed for good, from {@code open}, folding in its counters. */
  void closed(Collection<PacketConn> open, PacketConn conn) {
    ConnectionStats s = conn.stats(); // Final: nothing reads or writes a closed connection.
    lock.lock();
    try {
      if (!open.remove(conn)) return;
      closed[conn.closeKind().ordinal()]++;
      packetsIn += s.packetsIn();
      bytesIn += s.bytesIn();
      packetsOut += s.packetsOut();
      bytesOut += s.bytesOut();
      flushes += s.flushes();
    } finally {
      lock.unlock();
    }
  }

  /** {@return the counters now, the {@code open} connections' included} */
  ServerStats snapshot(Collection<PacketConn> open) {
    lock.lock();
    try {
      long pIn = packetsIn, bIn = bytesIn, pOut = packetsOut, bOut = bytesOut, writes = flushes;
      long queued = 0;
      for (PacketConn conn : open) {
        ConnectionStats s = conn.stats();
        pIn += s.packetsIn();
        bIn += s.bytesIn();
        pOut += s.packetsOut();
        bOut += s.bytesOut();
        queued += s.queuedBytes();
        writes += s.flushes();
      }
      return new ServerStats(
          open.size(),
          accepted,
          closed[CloseKind.CLEAN.ordinal()],
          closed[CloseKind.PROTOCOL_ERROR.ordinal()],
          closed[CloseKind.TRUNCATED.ordinal()],
          closed[CloseKind.IO_ERROR.ordinal()],
          closed[CloseKind.TIMEOUT.ordinal()],
          closed[CloseKind.ABORTED.ordinal()],
          closed[CloseKind.HANDLER_FAILURE.ordinal()],
          pIn,
          bIn,
          pOut,
          bOut,
          queued,
          writes);
    } finally {
      lock.unlock();
    }
  }
}
