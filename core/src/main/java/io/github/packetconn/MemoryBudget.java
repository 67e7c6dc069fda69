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
 * budget caps the sum. It keeps <b>two accounts, each capped at the limit</b>, because they are
 * different memory and because one must never wait for the other:
 *
 * <ul>
 *   <li><b>Queued frames</b> (direct memory). When they reach the limit, <b>senders wait</b> as if
 *       their own queue were full ({@link PacketConn#trySend} fails, a timed send times out, a
 *       {@link PacketHandler}'s sends pause the connection it is reading) until written frames bring
 *       the account back under half the limit.
 *   <li><b>Partly received frames</b> (heap arrays). When they reach the limit, <b>connections stop
 *       reading</b>, so TCP pushes back on their peers, all but one that finishes its frame; they
 *       resume when completed or dropped frames bring the account back under half.
 * </ul>
 *
 * <p><b>Reading never waits for room taken by send queues.</b> A server and its clients in one
 * process share the {@link #shared()} budget; were reading held back by queued frames, the clients
 * would stop reading the very bytes that drain the server's queues, and both would stall. Queued
 * frames therefore hold back only senders, and a peer that never reads is left to the write-stall
 * timeout ({@link PacketConfig#writeStallTimeout()}) or the sender's own policy.
 *
 * <p>All connections share {@link #shared()} unless their {@link PacketConfig} names another; give a
 * server its own budget to keep its peers' memory apart from the rest of the process:
 *
 * <pre>{@code
 * PacketConfig config = PacketConfig.builder()
 *     .memoryBudget(MemoryBudget.of(512L << 20)) // this server's connections: 512 MiB at most
 *     .build();
 * }</pre>
 *
 * <p>Memory is counted in 16 KiB chunks of queued frames and in the arrays of partly received
 * frames; packets handed to the application are the application's, and not counted. An account may
 * be exceeded by what one read or one send from an I/O thread adds before the connection is paused.
 * Thread-safe.
 */
public final class MemoryBudget {
  private static final MemoryBudget SHARED = new MemoryBudget(defaultLimit());

  private final long limit;
  private final AtomicLong queued = new AtomicLong(); // Chunks of send queues.
  private final AtomicLong partial = new AtomicLong(); // Arrays of frames partly received.
  private volatile boolean waiters; // Someone waits for room: releases must look.
  private final Set<SendQueue> waitingQueues = new LinkedHashSet<>(); // Guarded by itself.
  // Connections that stopped reading because a handler's send went past the queued account; they
  // resume when it is back under half. Guarded by waitingQueues.
  private final Set<Runnable> pausedSources = new LinkedHashSet<>(); // Their resume signals.
  // Connections that stopped reading because the partial account is spent, with their decoder if
  // they hold part of a frame. Guarded by waitingQueues.
  private final Map<Runnable, FrameDecoder> pausedReaders = new LinkedHashMap<>(); // By resume signal.
  // The one connection that may go on reading while the partial account is spent, to finish its
  // frame: were all stopped, frames partly received could hold it all and wait for each other forever.
  private volatile FrameDecoder exempt; // Written under waitingQueues.

  private MemoryBudget(long limit) {
    this.limit = limit;
  }

  /**
   * {@return a new budget of {@code bytes}}
   *
   * @param bytes the limit of each account (queued frames, partly received frames), 1 MiB or more
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

  /** {@return the limit in bytes, of queued frames and, separately, of partly received frames} */
  public long limit() {
    return limit;
  }

  /** {@return the bytes counted now, queued and partly received together} */
  public long used() {
    return queued.get() + partial.get();
  }

  @Override
  public String toString() {
    return "MemoryBudget[" + queued.get() + " queued, " + partial.get() + " partly received, of "
        + limit + " bytes each]";
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

  // Queued frames: the send queues' chunks.

  /** Takes {@code bytes} if they fit (or nothing is queued, so one large frame always can); else false. */
  boolean tryAcquire(long bytes) {
    if (bytes == 0) return true; // The frame fits in a chunk already counted: the usual case.
    for (long u = queued.get(); ; u = queued.get()) {
      if (u > 0 && u + bytes > limit) return false;
      if (queued.compareAndSet(u, u + bytes)) return true;
    }
  }

  /** Takes {@code bytes} even past the limit: the caller cannot wait, and will pause its source. */
  void acquire(long bytes) {
    queued.addAndGet(bytes);
  }

  /** Gives back queued {@code bytes} and wakes whoever waits for room. */
  void release(long bytes) {
    long u = queued.addAndGet(-bytes);
    if (!waiters) return;
    List<SendQueue> queues;
    List<Runnable> sources = null;
    synchronized (waitingQueues) {
      queues = waitingQueues.isEmpty() ? List.of() : List.copyOf(waitingQueues);
      waitingQueues.clear();
      if (u <= limit / 2 && !pausedSources.isEmpty()) {
        sources = new ArrayList<>(pausedSources);
        pausedSources.clear();
      }
      updateWaiters();
    }
    for (SendQueue queue : queues) queue.budgetReleased(); // Outside our lock: they take theirs.
    if (sources != null) for (Runnable source : sources) source.run();
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
   * Registers the {@code resume} signal of a connection that stopped reading because a send of its
   * handler went past the queued account, to run when that account is back under half its limit.
   *
   * @return false if the source should not stop after all (there is room)
   */
  boolean pauseSourceUntilRoom(Runnable resume) {
    synchronized (waitingQueues) {
      waiters = true; // Before reading the account: a release after this sees it, one before is seen.
      if (queued.get() <= limit / 2) {
        updateWaiters();
        return false;
      }
      pausedSources.add(resume);
      return true;
    }
  }

  // Partly received frames: the decoders' arrays. Never coupled to the queued account (see above).

  /** Counts {@code bytes} of a partly received frame, even past the limit: the reader pauses next. */
  void holdPartial(long bytes) {
    partial.addAndGet(bytes);
  }

  /** Gives back {@code bytes} of a partly received frame and resumes paused readers if there is room. */
  void releasePartial(long bytes) {
    long u = partial.addAndGet(-bytes);
    if (!waiters || u > limit / 2) return;
    List<Runnable> readers;
    synchronized (waitingQueues) {
      if (pausedReaders.isEmpty()) return;
      readers = new ArrayList<>(pausedReaders.keySet());
      pausedReaders.clear();
      updateWaiters();
    }
    for (Runnable reader : readers) reader.run();
  }

  /**
   * {@return true if {@code decoder}'s connection may read: the partial account is under its limit,
   * or it is the one connection allowed to finish its partial frame}
   */
  boolean mayRead(FrameDecoder decoder) {
    return partial.get() < limit || exempt == decoder;
  }

  /**
   * Registers the {@code resume} signal of a connection that stopped reading, to run when the
   * partial account is back under half its limit. A reader holding part of a frame passes its {@code decoder} (else null):
   * if no other is exempt, it becomes the one allowed to read on and finish its frame.
   *
   * @return false if the reader should not stop after all (room, or exempt)
   */
  boolean pauseReaderUntilRoom(Runnable resume, FrameDecoder decoder) {
    synchronized (waitingQueues) {
      waiters = true; // Before reading the account: a release after this sees it, one before is seen.
      if (partial.get() <= limit / 2) {
        updateWaiters();
        return false;
      }
      if (decoder != null && (exempt == null || exempt == decoder)) {
        exempt = decoder;
        updateWaiters();
        return false;
      }
      pausedReaders.put(resume, decoder);
      return true;
    }
  }

  /**
   * Says {@code decoder}'s partial frame is done (completed, or dropped with its connection): if it
   * was exempt, the next paused reader holding part of a frame is.
   */
  void frameDone(FrameDecoder decoder) {
    if (exempt != decoder) return;
    Runnable next = null;
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
      updateWaiters();
    }
    if (next != null) next.run();
  }

  private void updateWaiters() { // Lock held.
    waiters = !waitingQueues.isEmpty() || !pausedSources.isEmpty() || !pausedReaders.isEmpty();
  }
}
