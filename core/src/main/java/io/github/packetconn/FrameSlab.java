package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A direct buffer that frames sent to many connections are encoded into once and written from by
 * each of them: the memory of {@link SharedFrame}s.
 *
 * <p>A slab counts the bytes still to be written from it, summed over every queue that holds one
 * of its frames, plus one while a {@link FrameSharer} still encodes into it; when that count reaches
 * zero the slab goes back to the pool and its size back to the {@link MemoryBudget} it was taken
 * from. Each event loop writes from views of its own of the slab (duplicates made once, on that loop,
 * and kept with the slab in the pool), setting a view's position and limit to one queue's range
 * just before the write; other writers (blocking connections' threads) take spare views, also kept
 * with the slab, for the length of one write. So a delivery allocates nothing and queues never
 * share a position.
 *
 * <p>Threads: the encoder writes the bytes under its own lock before any queue holds them; a loop's
 * view is touched only by its loop, a spare view only by the thread that took it; the spare views
 * are guarded by the slab's monitor; the count is atomic, and whoever brings it to zero recycles.
 */
final class FrameSlab {
  static final int SIZE = 256 << 10;
  private static final int MAX_FREE = 64; // 16 MiB of idle slabs at most.
  private static final FrameSlab[] free = new FrameSlab[MAX_FREE];
  private static int freeCount; // Guarded by free.
  private static final AtomicInteger taken = new AtomicInteger(); // Out of the pool; for tests.

  final ByteBuffer memory = ByteBuffer.allocateDirect(SIZE).order(ByteOrder.LITTLE_ENDIAN);
  /**
   * How many ranges of one slab a gathering write may hold: a view has one position, so each range
   * in a write needs a view of its own. A member of several groups gets ranges of one slab with other
   * groups' frames between them; more than this many in its queue split its write.
   */
  static final int VIEWS_PER_WRITE = 8;

  /** Spare views kept for threads that are not event loops, beyond which they are left to the GC. */
  private static final int MAX_SPARE_VIEWS = 256;

  private final ByteBuffer[][] views = new ByteBuffer[EventLoop.count()][VIEWS_PER_WRITE]; // [loop][k].
  private final int[] viewsInUse = new int[EventLoop.count()]; // In the write a loop is building.
  private ByteBuffer[] spareViews = new ByteBuffer[4]; // For other threads' writes; guarded by this.
  private int spareCount;
  private final AtomicLong pending = new AtomicLong(); // Bytes to write, plus one while encoded into.
  private MemoryBudget budget; // Charged SIZE while taken; set before the slab is shared.

  private FrameSlab() {}

  /**
   * {@return a slab charged to {@code budget}, its count at one (the encoder's hold), or null if the
   * budget has no room for it}
   */
  static FrameSlab take(MemoryBudget budget) {
    if (!budget.tryAcquire(SIZE)) return null;
    FrameSlab slab = null;
    synchronized (free) {
      if (freeCount > 0) {
        slab = free[--freeCount];
        free[freeCount] = null;
      }
    }
    if (slab == null) {
      try {
        slab = new FrameSlab(); // Outside the lock: the JDK zeroes the memory.
      } catch (Throwable t) { // Out of direct memory.
        budget.release(SIZE);
        throw t;
      }
    }
    slab.budget = budget;
    slab.pending.set(1);
    taken.incrementAndGet();
    return slab;
  }

  /** {@return how many slabs are out of the pool, held by encoders or queues; for tests} */
  static int taken() {
    return taken.get();
  }

  /**
   * {@return the next view of this slab that event loop {@code loop} may put in the gathering write
   * it is building, or null if that write holds {@link #VIEWS_PER_WRITE} already; for a {@code loop}
   * of -1 (a thread that is not an event loop, such as a blocking connection's writer), a spare
   * view} That loop only; {@link #giveView} when the write is done.
   */
  ByteBuffer takeView(int loop) {
    if (loop < 0) return takeSpareView();
    int k = viewsInUse[loop];
    if (k == VIEWS_PER_WRITE) return null;
    viewsInUse[loop] = k + 1;
    ByteBuffer view = views[loop][k];
    if (view == null) views[loop][k] = view = memory.duplicate();
    return view;
  }

  /**
   * Takes back {@code view}, taken by {@code loop} for a write now done; the caller no longer
   * touches it. An event loop's views all come back at once, whichever it gives.
   */
  void giveView(int loop, ByteBuffer view) {
    if (loop >= 0) {
      viewsInUse[loop] = 0;
    } else {
      giveSpareView(view);
    }
  }

  /**
   * Spare views are made once and kept with the slab, so that a delivery allocates nothing once as
   * many exist as such writes run at once.
   */
  private ByteBuffer takeSpareView() {
    synchronized (this) {
      if (spareCount > 0) {
        ByteBuffer view = spareViews[--spareCount];
        spareViews[spareCount] = null;
        return view;
      }
    }
    return memory.duplicate();
  }

  private synchronized void giveSpareView(ByteBuffer view) {
    if (spareCount == spareViews.length) {
      if (spareCount == MAX_SPARE_VIEWS) return;
      spareViews = Arrays.copyOf(spareViews, spareCount * 2);
    }
    spareViews[spareCount++] = view;
  }

  /** Counts {@code bytes} more to be written from this slab. */
  void retain(long bytes) {
    pending.addAndGet(bytes);
  }

  /**
   * Counts {@code bytes} as written (or dropped), recycling the slab when none are left. Never under
   * a queue's lock: giving the budget back may wake other queues' senders.
   */
  void release(long bytes) {
    long left = pending.addAndGet(-bytes);
    if (left > 0) return;
    if (left < 0) throw new IllegalStateException("slab released past zero: " + left);
    MemoryBudget charged = budget;
    budget = null;
    taken.decrementAndGet();
    synchronized (free) {
      if (freeCount < MAX_FREE) free[freeCount++] = this; // Else the GC reclaims it.
    }
    charged.release(SIZE);
  }
}
