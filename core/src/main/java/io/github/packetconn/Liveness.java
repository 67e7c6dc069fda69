package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;

/**
 * The liveness clocks of one connection: read-idle timeout, write-stall timeout and the handler's
 * idle interval. Deadlines are checked lazily, when the loop's timer comes round; activity only
 * stamps a time, so the I/O path pays a field write per wake-up, not per packet.
 *
 * <p>Thread rule: the connection's event loop, except {@link #readNow()}, which a receiver pulling
 * on its own thread may call too (an opaque write: no fence).
 */
final class Liveness {
  private static final VarHandle LAST_READ;

  static {
    LAST_READ = VarHandles.field(MethodHandles.lookup(), "lastReadNanos", long.class);
  }

  /** What the clocks ask of their connection. Loop only. */
  interface Owner {
    /** {@return true if the connection waits for the peer's bytes, rather than not reading by choice} */
    boolean waitingForPeer();

    /** {@return the bytes queued and not yet written} */
    long queuedBytes();

    /** Calls the handler's {@code onIdle}; returns false if the connection is no longer open. */
    boolean idle();

    /** Closes the connection: a deadline passed. */
    void timedOut(SocketTimeoutException why);

    /** Says the write-stall timeout fires, after {@code stalledNanos} without progress. */
    void writeStalled(long stalledNanos);
  }

  private final PacketConfig config;
  private final long readIdleNanos; // Zero when off, as the two below.
  private final long writeStallNanos;
  private final long idleNanos; // Zero also without a handler: onIdle is a handler's callback.

  @SuppressWarnings("unused") // Through LAST_READ.
  private long lastReadNanos; // Stamped per read wake-up, and by receivers that pull.
  private long readIdleDeadline; // When to look at lastReadNanos again; 0 when off.
  private boolean stalled; // Queued bytes wait for room in the socket.
  private long writeProgressNanos; // When the stall began or the socket last took bytes.
  private long writtenAtLastLook; // Bytes written when noteWrite() last looked.
  private long stallDeadline; // When to look at the stall again; 0 when off.
  private long lastSendNanos; // When the socket last took bytes.
  private long idleDeadline; // When to look at lastSendNanos again; 0 when off.

  Liveness(PacketConfig config, boolean hasHandler) {
    this.config = config;
    this.readIdleNanos = config.readIdleTimeout().toNanos();
    this.writeStallNanos = config.writeStallTimeout().toNanos();
    this.idleNanos = hasHandler ? config.idleInterval().toNanos() : 0;
  }

  /** {@return true if any clock is on} */
  boolean on() {
    return readIdleNanos != 0 || writeStallNanos != 0 || idleNanos != 0;
  }

  /** {@return true if writes must be noted} */
  boolean watchesWrites() {
    return writeStallNanos != 0 || idleNanos != 0;
  }

  /** {@return true if reads must be stamped} */
  boolean watchesReads() {
    return readIdleNanos != 0;
  }

  /** Starts the clocks the configuration turns on. */
  void arm(long now) {
    LAST_READ.setOpaque(this, now);
    lastSendNanos = now;
    if (readIdleNanos != 0) readIdleDeadline = now + readIdleNanos;
    if (writeStallNanos != 0) stallDeadline = now + writeStallNanos;
    if (idleNanos != 0) idleDeadline = now + idleNanos;
  }

  /** Stamps a read. Any thread. */
  void readNow() {
    LAST_READ.setOpaque(this, System.nanoTime());
  }

  /**
   * Stamps a write that made progress ({@code written} grew since the last look), and the start of a
   * stall: bytes still {@code waiting} for room in the socket.
   */
  void noteWrite(long written, boolean waiting) {
    if (written != writtenAtLastLook) {
      writtenAtLastLook = written;
      lastSendNanos = writeProgressNanos = System.nanoTime();
    } else if (waiting && !stalled) {
      writeProgressNanos = System.nanoTime();
    }
    stalled = waiting;
  }

  /** Stops every clock: closing, the close deadline rules from now on. */
  void stop() {
    readIdleDeadline = stallDeadline = idleDeadline = 0;
  }

  /**
   * Closes the connection through {@code owner} if a deadline has passed with no activity since,
   * calls {@code onIdle} if due, and moves the deadlines that saw activity to last activity plus the
   * timeout.
   *
   * @return the next deadline, or 0 if none (or the connection closed)
   */
  long check(long now, Owner owner) {
    if (readIdleDeadline != 0 && now - readIdleDeadline >= 0) {
      long last = (long) LAST_READ.getOpaque(this);
      if (!owner.waitingForPeer()) {
        LAST_READ.setOpaque(this, now); // The clock runs again from when the connection reads.
        readIdleDeadline = now + readIdleNanos;
      } else if (now - last >= readIdleNanos) {
        owner.timedOut(
            new SocketTimeoutException(
                "no packet received for " + config.readIdleTimeout().toMillis() + " ms (readIdleTimeout)"));
        return 0;
      } else {
        readIdleDeadline = last + readIdleNanos;
      }
    }
    if (stallDeadline != 0 && now - stallDeadline >= 0) {
      if (!stalled) {
        stallDeadline = now + writeStallNanos; // A stall starting later is seen at the next look.
      } else if (now - writeProgressNanos >= writeStallNanos) {
        owner.writeStalled(now - writeProgressNanos);
        owner.timedOut(
            new SocketTimeoutException(
                "no bytes written for " + config.writeStallTimeout().toMillis() + " ms with "
                    + owner.queuedBytes() + " bytes queued (writeStallTimeout); the peer stopped reading"));
        return 0;
      } else {
        stallDeadline = writeProgressNanos + writeStallNanos;
      }
    }
    if (idleDeadline != 0 && now - idleDeadline >= 0) {
      if (now - lastSendNanos >= idleNanos) {
        idleDeadline = now + idleNanos; // Again after an interval, unless the handler sends.
        if (!owner.idle()) { // The handler closed it: the close deadline rules now.
          stop();
          return 0;
        }
      } else {
        idleDeadline = lastSendNanos + idleNanos;
      }
    }
    return earliest(readIdleDeadline, earliest(stallDeadline, idleDeadline));
  }

  /** {@return the earlier of two deadlines, where 0 means none} */
  static long earliest(long a, long b) {
    if (a == 0) return b;
    if (b == 0) return a;
    return a - b < 0 ? a : b;
  }
}
