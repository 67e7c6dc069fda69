package io.github.packetconn;

/**
 * Packet storage ({@link PacketStorage}, an array and its cursors) for packet payloads, in size classes that grow ×4 from 128 bytes (go-packetconn's
 * ladder). Classes up to 2 MiB are pooled; larger arrays are allocated on demand and left to the GC.
 *
 * <p>Each class keeps at most {@link #CLASS_BUDGET} bytes of free arrays, so the pool never holds
 * more than about 64 MiB however bursty the traffic was. An array that is never given back is simply
 * garbage: forgetting a release costs pooling, never memory.
 */
final class BufferPool {
  static final int MIN_CAPACITY = 128;
  static final int MAX_POOLED_CAPACITY = 2 << 20;
  static final int CLASS_BUDGET = 8 << 20;

  private static final int CLASSES = 8; // 128 B, 512 B, 2 KiB, 8 KiB, 32 KiB, 128 KiB, 512 KiB, 2 MiB
  private static final Stack[] STACKS = new Stack[CLASSES];

  static {
    for (int i = 0; i < CLASSES; i++) {
      int capacity = MIN_CAPACITY << (2 * i);
      STACKS[i] = new Stack(Math.min(4096, CLASS_BUDGET / capacity));
    }
  }

  private BufferPool() {}

  /** {@return the capacity of the smallest size class that holds {@code minCapacity} bytes} */
  static long classCapacity(int minCapacity) {
    long capacity = MIN_CAPACITY;
    while (capacity < minCapacity) capacity <<= 2;
    return capacity;
  }

  /**
   * Returns empty storage for a packet of at most {@code maxSize} bytes, whose array holds at least
   * {@code minCapacity} bytes and at most {@code limit} (unless {@code minCapacity} itself exceeds
   * it). The array's contents are unspecified.
   */
  static PacketStorage take(int minCapacity, int limit, int maxSize) {
    long capacity = classCapacity(minCapacity);
    if (capacity > limit) { // Off the ladder: exact size, never pooled.
      return new PacketStorage(new byte[Math.max(minCapacity, limit)]).reset(maxSize);
    }
    int index = classIndex((int) capacity);
    if (index >= 0) {
      PacketStorage storage = STACKS[index].pop();
      if (storage != null) return storage.reset(maxSize);
    }
    return new PacketStorage(new byte[(int) capacity]).reset(maxSize);
  }

  /** Gives {@code storage} back for reuse; storage whose array is not a pooled class is dropped. */
  static void give(PacketStorage storage) {
    int index = classIndex(storage.array.length);
    if (index >= 0) STACKS[index].push(storage);
  }

  private static int classIndex(int capacity) {
    if (capacity < MIN_CAPACITY || capacity > MAX_POOLED_CAPACITY) return -1;
    if (Integer.bitCount(capacity) != 1) return -1;
    int shift = Integer.numberOfTrailingZeros(capacity) - Integer.numberOfTrailingZeros(MIN_CAPACITY);
    return (shift & 1) == 0 ? shift >> 1 : -1;
  }

  /** A bounded LIFO of free storage; LIFO keeps recently used arrays warm in cache. */
  private static final class Stack {
    private final PacketStorage[] free;
    private int count;

    Stack(int limit) {
      free = new PacketStorage[limit];
    }

    synchronized PacketStorage pop() { // Held for a few nanoseconds; never around I/O.
      if (count == 0) return null;
      PacketStorage storage = free[--count];
      free[count] = null;
      return storage;
    }

    synchronized void push(PacketStorage storage) {
      if (count < free.length) free[count++] = storage; // Full: let the GC have it.
    }
  }
}
