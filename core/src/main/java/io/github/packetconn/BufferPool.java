package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Packet storage ({@link PacketStorage}, an array and its cursors) in size classes that double from
 * 128 bytes. Classes up to 2 MiB are pooled; larger arrays are allocated on demand, exactly sized,
 * and left to the GC. Doubling (go-packetconn's ladder is ×4) wastes at most half of an array and
 * lets a received frame of up to 2 MiB land in a pooled array of its own size class.
 *
 * <p>Each class keeps at most {@link #CLASS_BUDGET} bytes of free storage, so the pool never holds
 * more than about 120 MiB however bursty the traffic was. Storage that is never given back is simply
 * garbage: forgetting a release costs pooling, never memory.
 */
final class BufferPool {
  static final int MIN_CAPACITY = 128;
  static final int MAX_POOLED_CAPACITY = 2 << 20;
  static final int CLASS_BUDGET = 8 << 20;

  private static final int CLASSES = 15; // 128 B, 256 B, ..., 1 MiB, 2 MiB
  private static final Stack[] STACKS = new Stack[CLASSES];

  static {
    for (int i = 0; i < CLASSES; i++) {
      int capacity = MIN_CAPACITY << i;
      STACKS[i] = new Stack(Math.min(4096, CLASS_BUDGET / capacity));
    }
  }

  private BufferPool() {}

  /** {@return the capacity of the smallest size class that holds {@code minCapacity} bytes} */
  static long classCapacity(int minCapacity) {
    return minCapacity <= MIN_CAPACITY ? MIN_CAPACITY : Long.highestOneBit(minCapacity - 1L) << 1;
  }

  /**
   * Returns empty storage for a packet of at most {@code maxSize} bytes whose array holds at least
   * {@code minCapacity} bytes: a pooled size class, or exactly {@code minCapacity} bytes when the
   * class would exceed {@code maxSize} or the largest pooled class. The array's contents are
   * unspecified.
   */
  static PacketStorage take(int minCapacity, int maxSize) {
    long capacity = classCapacity(minCapacity);
    if (capacity > maxSize || capacity > MAX_POOLED_CAPACITY) {
      return new PacketStorage(new byte[minCapacity]).reset(maxSize); // Off the ladder: never pooled.
    }
    int index = classIndex((int) capacity);
    EventLoop loop = EventLoop.current();
    PacketStorage storage = loop == null ? null : loop.storageCache.pop(index);
    if (storage == null) storage = STACKS[index].pop();
    return (storage != null ? storage : new PacketStorage(new byte[(int) capacity])).reset(maxSize);
  }

  /** Gives {@code storage} back for reuse; storage whose array is not a pooled class is dropped. */
  static void give(PacketStorage storage) {
    int index = classIndex(storage.array.length);
    if (index < 0) return;
    EventLoop loop = EventLoop.current();
    if (loop == null || !loop.storageCache.push(index, storage)) STACKS[index].push(storage);
  }

  private static int classIndex(int capacity) {
    if (capacity < MIN_CAPACITY || capacity > MAX_POOLED_CAPACITY) return -1;
    if (Integer.bitCount(capacity) != 1) return -1;
    return Integer.numberOfTrailingZeros(capacity) - Integer.numberOfTrailingZeros(MIN_CAPACITY);
  }

  /**
   * A few free storages of the small classes for one I/O thread, taken and given without a lock: an
   * echo on the I/O thread takes and gives one per packet, and the shared stacks' lock is a
   * measurable part of that. At most {@link #CACHE_CLASS_BYTES} per class, classes up to 64 KiB.
   */
  static final class Cache {
    private static final int CACHE_CLASS_BYTES = 64 << 10;
    private static final int CACHED_CLASSES = 10; // 128 B to 64 KiB

    private final PacketStorage[][] free = new PacketStorage[CACHED_CLASSES][];
    private final int[] counts = new int[CACHED_CLASSES];

    Cache() {
      for (int i = 0; i < CACHED_CLASSES; i++) {
        free[i] = new PacketStorage[Math.min(64, CACHE_CLASS_BYTES / (MIN_CAPACITY << i))];
      }
    }

    PacketStorage pop(int index) {
      if (index >= CACHED_CLASSES || counts[index] == 0) return null;
      int count = --counts[index];
      PacketStorage storage = free[index][count];
      free[index][count] = null;
      return storage;
    }

    boolean push(int index, PacketStorage storage) {
      if (index >= CACHED_CLASSES || counts[index] == free[index].length) return false;
      free[index][counts[index]++] = storage;
      return true;
    }
  }

  /**
   * A bounded LIFO of free storage; LIFO keeps recently used arrays warm in cache. Guarded by a
   * try-lock of one compare-and-set, let go by a release store (a monitor takes two compare-and-sets,
   * a measurable part of a small packet: docs/design.md, "Packets and pools"). A thread that finds
   * it held a few times in a row does without the pool: it allocates, or leaves the storage to the
   * GC. So nobody waits for a holder that its OS thread's scheduler has put aside.
   */
  private static final class Stack {
    private static final VarHandle LOCK;

    static {
      LOCK = VarHandles.field(MethodHandles.lookup(), "locked", int.class);
    }

    private static final int TRIES = 16; // Compare-and-sets before doing without the pool.

    private final PacketStorage[] free;
    private int count; // Guarded by locked.
    @SuppressWarnings("unused") // Through LOCK.
    private int locked; // 1 while a thread holds the stack.

    Stack(int limit) {
      free = new PacketStorage[limit];
    }

    /** {@return a free storage, or null if there is none or the stack stayed held} */
    PacketStorage pop() {
      if (!lock()) return null;
      try {
        if (count == 0) return null;
        PacketStorage storage = free[--count];
        free[count] = null;
        return storage;
      } finally {
        LOCK.setRelease(this, 0);
      }
    }

    /** Keeps {@code storage} for reuse, unless the stack is full or stayed held: then the GC has it. */
    void push(PacketStorage storage) {
      if (!lock()) return;
      try {
        if (count < free.length) free[count++] = storage;
      } finally {
        LOCK.setRelease(this, 0);
      }
    }

    private boolean lock() {
      for (int i = 0; i < TRIES; i++) {
        if (LOCK.compareAndSet(this, 0, 1)) return true;
        Thread.onSpinWait();
      }
      return false;
    }
  }
}
