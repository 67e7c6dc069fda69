package io.github.packetconn;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;

/**
 * The room in a {@link SendQueue}: the bytes it holds against its bound, who may queue a frame now,
 * and who waits for room. A frame is admitted if it fits the bound (any frame fits an empty queue),
 * nobody waits before it, and the {@link MemoryBudget} gives the chunks it needs.
 *
 * <p>Senders on other threads that find no room wait in arrival order (a FIFO of threads), so a
 * large frame is not starved by a stream of small ones and a {@code trySend} does not overtake them.
 * An I/O thread never waits: it queues past the bound and leaves a <em>drain signal</em> (the
 * resume signal of the connection it stops reading), run once the queue drains below half its
 * bound. Once the queue refuses sends, nothing is admitted.
 *
 * <p>Threads: guarded by the SendQueue's lock, whose condition the waiting senders wait on.
 */
final class Admission {
  private final int bound; // In bytes.
  private final MemoryBudget budget; // Gives the chunks a copied frame needs.
  private final FillList filling; // Says how many new chunks a frame needs.
  private final Condition notFull; // The queue lock's; signalled when room may have come.
  private final ArrayDeque<Thread> waiting = new ArrayDeque<>(); // FIFO.
  private List<Runnable> drainSignals; // Run once when the queue drains below half its bound.
  private long queuedBytes; // Accepted and not yet written.
  private String closedReason; // Non-null once sends are refused.

  Admission(int bound, MemoryBudget budget, FillList filling, Condition notFull) {
    this.bound = bound;
    this.budget = budget;
    this.filling = filling;
    this.notFull = notFull;
  }

  /** {@return the bytes accepted and not yet written} */
  long queuedBytes() {
    return queuedBytes;
  }

  /** {@return why sends are refused, or null while they are not} */
  String closedReason() {
    return closedReason;
  }

  /** {@return how many senders wait for room} */
  int waiting() {
    return waiting.size();
  }

  /**
   * {@return true if sends are refused and the caller asked to be told quietly} Throws {@link
   * SendQueue.Closed} with the reason if they are refused and it did not.
   */
  boolean refused(boolean quietly) {
    if (closedReason == null) return false;
    if (quietly) return true;
    throw new SendQueue.Closed(closedReason);
  }

  /**
   * {@return true if {@code frame} may be queued at once: it fits the bound, nobody waits before
   * it, and its new chunks ({@code chunkBytes}, from {@link #chunkBytes}) were taken from the budget}
   */
  boolean admitted(int frame, long chunkBytes) {
    return !full(frame) && waiting.isEmpty() && budget.tryAcquire(chunkBytes);
  }

  /** {@return the budget {@code frame} bytes take in new chunks: none if {@code shared}} */
  long chunkBytes(int frame, boolean shared) {
    return shared ? 0 : filling.chunkBytes(frame);
  }

  /**
   * Takes room for {@code frame} past the bound or the budget, for an I/O thread that may not wait
   * but will stop reading the connection whose signal {@code onDrained} is (if not null) until it
   * runs.
   *
   * @return how far past
   */
  SendQueue.Overflow overflow(int frame, boolean shared, Runnable onDrained) {
    boolean pastBound = full(frame);
    if (pastBound && onDrained != null) whenDrained(onDrained);
    long chunkBytes = chunkBytes(frame, shared);
    boolean pastBudget = !budget.tryAcquire(chunkBytes);
    if (pastBudget) budget.acquire(chunkBytes); // The caller pauses its source until room.
    return pastBound && pastBudget ? SendQueue.Overflow.BOUND_AND_BUDGET
        : pastBound ? SendQueue.Overflow.BOUND
        : pastBudget ? SendQueue.Overflow.BUDGET
        : SendQueue.Overflow.NONE; // None: room, but others wait in line.
  }

  /**
   * Waits in line until {@code frame} fits in the queue and the budget, and takes its chunks from the
   * budget; false on timeout, or if sends are refused meanwhile and {@code quietIfClosed}. The budget
   * tells {@code queue} when it has room.
   */
  boolean await(int frame, boolean shared, long timeoutNanos, boolean quietIfClosed, SendQueue queue) {
    Thread me = Thread.currentThread(); // Each thread waits for one frame at a time.
    waiting.addLast(me);
    long remaining = timeoutNanos;
    try {
      while (true) {
        if (waiting.peekFirst() == me && !full(frame)) {
          long chunkBytes = chunkBytes(frame, shared);
          if (budget.tryAcquire(chunkBytes)) return true;
          budget.waitForRoom(queue); // Then try again, so a release in between is not missed.
          if (budget.tryAcquire(chunkBytes)) return true;
        }
        if (timeoutNanos < 0) {
          notFull.await();
        } else {
          if (remaining <= 0) return false;
          remaining = notFull.awaitNanos(remaining);
        }
        if (refused(quietIfClosed)) return false;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(
          "interrupted while waiting for send queue space (" + queuedBytes + " of " + bound
              + " bytes queued, " + budget + "); packet not sent");
    } finally {
      waiting.remove(me);
    }
  }

  private boolean full(int frame) {
    return queuedBytes > 0 && queuedBytes + frame > bound;
  }

  /**
   * Remembers {@code signal}, to run once the queue drains below half its bound (or is discarded).
   * A {@link SendQueue.Holding} signal is told each time it starts waiting here, under the queue's
   * lock, so that it is counted before it can run.
   */
  private void whenDrained(Runnable signal) {
    if (drainSignals == null) drainSignals = new ArrayList<>(2);
    if (!drainSignals.contains(signal)) {
      drainSignals.add(signal);
      if (signal instanceof SendQueue.Holding holding) holding.held();
    }
  }

  /**
   * Counts a frame of {@code frame} bytes as queued.
   *
   * @return the bytes queued now
   */
  long queued(int frame) {
    return queuedBytes += frame;
  }

  /**
   * Counts {@code bytes} as written, and wakes the waiting senders: the next in line may fit now.
   *
   * @return the drain signals to run, if that brought the queue below half its bound; otherwise null
   */
  List<Runnable> written(long bytes) {
    queuedBytes -= bytes;
    wakeWaiting();
    if (drainSignals == null || queuedBytes > bound / 2) return null;
    List<Runnable> drained = drainSignals;
    drainSignals = null;
    return drained;
  }

  /** Wakes the waiting senders, if any: the next in line may fit now. */
  void wakeWaiting() {
    if (!waiting.isEmpty()) notFull.signalAll();
  }

  /** Wakes every waiting sender: the budget has room again, or sends are refused. */
  void wakeAll() {
    notFull.signalAll();
  }

  /**
   * Refuses every send from now on, for {@code reason} unless they are refused already, and wakes
   * the waiting senders to say so.
   *
   * @return the reason sends are refused for
   */
  String refuse(String reason) {
    if (closedReason == null) closedReason = reason;
    notFull.signalAll();
    return closedReason;
  }

  /**
   * Counts every frame as gone, the queue being discarded.
   *
   * @return the drain signals waiting for the queue to drain, to run now
   */
  List<Runnable> clear() {
    queuedBytes = 0;
    List<Runnable> resumed = drainSignals;
    drainSignals = null;
    return resumed;
  }
}
