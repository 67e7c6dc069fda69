package io.github.packetconn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A limit on the memory that connections sharing it hold on behalf of their peers: frames queued
 * for sending and not yet written, and frames partly received.
 *
 * <p>Each connection's send queue has its own bound ({@link PacketConfig#sendQueueBytes()}), but ten
 * thousand peers that stop reading would add those bounds up to an {@link OutOfMemoryError}; a
 * budget caps the sum. When it is spent, <b>senders wait</b> as if their own queue were full ({@link
 * PacketConn#trySend} fails, a timed send times out, a {@link PacketHandler}'s sends pause the
 * connection it is reading), and <b>connections stop reading</b> while they hold part of a frame,
 * so TCP pushes back on their peers. Everything resumes when written frames or completed, closed or
 * released ones bring the budget back under half its limit.
 *
 * <p>All connections share {@link #shared()} unless their {@link PacketConfig} names another; give a
 * server its own budget to keep it from starving others in the same process:
 *
 * <pre>{@code
 * PacketConfig config = PacketConfig.builder()
 *     .memoryBudget(MemoryBudget.of(512L << 20)) // this server's connections: 512 MiB at most
 *     .build();
 * }</pre>
 *
 * <p>Memory is counted in 16 KiB chunks of queued frames and in the arrays of partly received
 * frames; packets handed to the application are the application's, and not counted. A budget may
 * be exceeded by what one read or one send from an I/O thread adds before the connection is paused.
 * Thread-safe.
 */
public final class MemoryBudget {
  private static final MemoryBudget SHARED = new MemoryBudget(defaultLimit());

  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private volatile boolean waiters; // Someone waits for room: releases must look.
  private final Set<SendQueue> waitingQueues = new LinkedHashSet<>(); // Guarded by itself.
  // Paused connections, with their decoder if they hold part of a frame. Guarded by waitingQueues.
  private final Map<PacketConn, FrameDecoder> pausedReaders = new LinkedHashMap<>();
  // The one connection that may go on reading while the budget is spent, to finish its frame: were
  // all stopped, frames partly received could hold the whole budget and wait for each other forever.
  private volatile FrameDecoder exempt; // Written under waitingQueues.

  private MemoryBudget(long limit) {
    this.limit = limit;
  }

  /**
   * {@return a new budget of {@code bytes}}
   *
   * @throws IllegalArgumentException if {@code bytes} is below 1 MiB
   */
  public static MemoryBudget of(long bytes) {
    if (bytes < 1 << 20) throw new IllegalArgumentException("memory budget < 1 MiB: " + bytes);
    return new MemoryBudget(bytes);
  }

  /**
   * {@return the budget of connections whose configuration names no other: a quarter of the
   * maximum heap ({@code Runtime.maxMemory() / 4}), or {@code -Dpacketconn.memoryBudget=}bytes}
   */
  public static MemoryBudget shared() {
    return SHARED;
  }

  /** {@return the limit in bytes} */
  public long limit() {
    return limit;
  }

  /** {@return the bytes counted now} */
  public long used() {
    return used.get();
  }

  @Override
  public String toString() {
    return "MemoryBudget[" + used() + " of " + limit + " bytes used]";
  }

  private static long defaultLimit() {
    String property = System.getProperty("packetconn.memoryBudget");
    if (property != null) {
      try {
        return Math.max(1 << 20, Long.parseLong(property.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("-Dpacketconn.memoryBudget is not a number of bytes: " + property);
      }
    }
    return Math.max(16 << 20, Runtime.getRuntime().maxMemory() / 4);
  }

  // ---- for the connections

  /** {@return a budget that never runs out; for parts used on their own, as in tests and benchmarks} */
  static MemoryBudget unlimited() {
    return new MemoryBudget(Long.MAX_VALUE / 2);
  }

  /** Takes {@code bytes} if they fit (or nothing is used, so one large frame always can); else false. */
  boolean tryAcquire(long bytes) {
    if (bytes == 0) return true; // The frame fits in a chunk already counted: the usual case.
    for (long u = used.get(); ; u = used.get()) {
      if (u > 0 && u + bytes > limit) return false;
      if (used.compareAndSet(u, u + bytes)) return true;
    }
  }

  /** Takes {@code bytes} even past the limit: the caller cannot wait, and will pause its reader. */
  void acquire(long bytes) {
    used.addAndGet(bytes);
  }

  /**
   * {@return true if {@code decoder}'s connection may read: the limit is not reached, or it is the
   * one connection allowed to finish its partial frame}
   */
  boolean mayRead(FrameDecoder decoder) {
    return used.get() < limit || exempt == decoder;
  }

  /** Gives {@code bytes} back and wakes whoever waits for room. */
  void release(long bytes) {
    long u = used.addAndGet(-bytes);
    if (!waiters) return;
    List<SendQueue> queues;
    List<PacketConn> readers = null;
    synchronized (waitingQueues) {
      queues = waitingQueues.isEmpty() ? List.of() : List.copyOf(waitingQueues);
      waitingQueues.clear();
      if (u <= limit / 2 && !pausedReaders.isEmpty()) {
        readers = new ArrayList<>(pausedReaders.keySet());
        pausedReaders.clear();
      }
      waiters = !pausedReaders.isEmpty();
    }
    for (SendQueue queue : queues) queue.budgetReleased(); // Outside our lock: they take theirs.
    if (readers != null) for (PacketConn reader : readers) reader.resumeFromAnyThread();
  }

  /**
   * Registers {@code queue} to be told of the next release. Register before the last {@link
   * #tryAcquire}, so a release between the two is not missed.
   */
  void waitForRoom(SendQueue queue) {
    synchronized (waitingQueues) {
      waitingQueues.add(queue);
      waiters = true;
    }
  }

  /**
   * Registers {@code reader}, which stopped reading, to resume when the budget is back under half
   * its limit. A reader holding part of a frame passes its {@code decoder} (else null): if no other
   * is exempt, it becomes the one allowed to read on and finish its frame.
   *
   * @return false if the reader should not stop after all (room, or exempt)
   */
  boolean pauseUntilRoom(PacketConn reader, FrameDecoder decoder) {
    synchronized (waitingQueues) {
      waiters = true; // Before reading used: a release after this sees it, one before is seen.
      if (used.get() <= limit / 2) {
        waiters = !pausedReaders.isEmpty() || !waitingQueues.isEmpty();
        return false;
      }
      if (decoder != null && (exempt == null || exempt == decoder)) {
        exempt = decoder;
        return false;
      }
      pausedReaders.put(reader, decoder);
      return true;
    }
  }

  /**
   * Says {@code decoder}'s partial frame is done (completed, or dropped with its connection): if it
   * was exempt, the next paused reader holding part of a frame is.
   */
  void frameDone(FrameDecoder decoder) {
    if (exempt != decoder) return;
    PacketConn next = null;
    synchronized (waitingQueues) {
      if (exempt != decoder) return;
      exempt = null;
      for (var it = pausedReaders.entrySet().iterator(); it.hasNext(); ) {
        var entry = it.next();
        if (entry.getValue() != null) {
          exempt = entry.getValue();
          next = entry.getKey();
          it.remove();
          break;
        }
      }
    }
    if (next != null) next.resumeFromAnyThread();
  }
}
