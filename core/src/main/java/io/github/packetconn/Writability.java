package io.github.packetconn;

import java.util.concurrent.CompletableFuture;

/**
 * Whether a {@link SendQueue} takes more: unwritable when its queued bytes reach the high water
 * mark, writable again when writes bring them down to the low one (hysteresis, like Netty's {@code
 * ChannelOutboundBuffer}), and unwritable for good once it refuses sends. Holds the one future that
 * every caller of {@link SendQueue#whenWritable()} in an unwritable spell gets.
 *
 * <p>Threads: changed under the SendQueue's lock; {@link #writable}, {@link #unwritableSince} and
 * {@link #hasWaiter} are read anywhere, lock-free.
 */
final class Writability {
  private final int lowWater; // Writable again at or below this many bytes queued.
  private final int highWater; // Unwritable at or above this many.
  private volatile boolean writable = true; // Written under the queue's lock; read anywhere, lock-free.
  private volatile long unwritableSince; // System.nanoTime() of the last flip to unwritable.
  private volatile CompletableFuture<Void> waiter; // For whenWritable(); under the queue's lock.

  Writability(int lowWater, int highWater) {
    this.lowWater = lowWater;
    this.highWater = highWater;
  }

  /** {@return true while the queued bytes are below the high water mark, or back at the low one} */
  boolean writable() {
    return writable;
  }

  /** {@return when the queue last turned unwritable, by {@link System#nanoTime()}} */
  long unwritableSince() {
    return unwritableSince;
  }

  /** {@return true if a future of {@link #whenWritable()} waits} */
  boolean hasWaiter() {
    return waiter != null;
  }

  /**
   * Notes that a frame was queued, {@code queuedBytes} now queued. Lock held.
   *
   * @return true if that reached the high water mark and turned the queue unwritable
   */
  boolean afterQueued(long queuedBytes) {
    if (!writable || queuedBytes < highWater) return false;
    writable = false;
    unwritableSince = System.nanoTime();
    return true;
  }

  /**
   * Notes that bytes were written, {@code queuedBytes} left. Lock held; not once sends are refused.
   *
   * @return true if that came down to the low water mark and turned the queue writable
   */
  boolean afterWritten(long queuedBytes) {
    if (writable || queuedBytes > lowWater) return false;
    writable = true;
    return true;
  }

  /**
   * {@return a future completed when the queue is writable: at once if it is, else the one this
   * unwritable spell hands out} Lock held; sends are not refused.
   */
  CompletableFuture<Void> whenWritable() {
    if (writable) return CompletableFuture.completedFuture(null);
    CompletableFuture<Void> future = waiter;
    if (future == null) waiter = future = new CompletableFuture<>();
    return future;
  }

  /** {@return the waiting future, taken, to complete if the queue is writable; otherwise null} Lock held. */
  CompletableFuture<Void> takeWaiterIfWritable() {
    CompletableFuture<Void> future = waiter;
    if (future == null || !writable) return null;
    waiter = null;
    return future;
  }

  /**
   * Marks the queue unwritable for good, sends being refused. Lock held.
   *
   * @return the waiting future, taken, to fail; or null
   */
  CompletableFuture<Void> close() {
    writable = false;
    CompletableFuture<Void> future = waiter;
    waiter = null;
    return future;
  }
}
