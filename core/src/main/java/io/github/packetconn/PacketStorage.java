package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The pooled part of a {@link Packet}: the payload array, the cursors and the reference count.
 *
 * <p>A {@code Packet} is a one-field handle to one of these. The storage goes back to the {@link
 * BufferPool} on the last release and serves the next packet; the handle does not, so a stale
 * handle sees {@link #RELEASED} and throws instead of reading another owner's bytes. Storages are
 * interchangeable: growing a packet swaps arrays with a bigger pooled storage and gives that one
 * back, so a live packet keeps its storage for life.
 */
final class PacketStorage {
  /** What a handle points to after its last release: empty, reference count 0. */
  static final PacketStorage RELEASED = new PacketStorage(new byte[0]);

  private static final VarHandle REF_COUNT;

  static {
    REF_COUNT = VarHandles.field(MethodHandles.lookup(), "refCount", int.class);
  }

  byte[] array;
  int size;
  int readPosition;
  int maxSize;
  int refCount; // Atomic through REF_COUNT; plain reads only where misuse is detected.
  Throwable releasedAt; // With PacketLeaks on: where the packet of a released handle was released.

  PacketStorage(byte[] array) {
    this.array = array;
  }

  /** Readies a storage taken from the pool for a new packet. */
  PacketStorage reset(int maxSize) {
    size = 0;
    readPosition = 0;
    this.maxSize = maxSize;
    refCount = 1; // Published with the new handle.
    return this;
  }

  int refCount() {
    return (int) REF_COUNT.getVolatile(this);
  }

  void retain() {
    for (; ; ) {
      int count = refCount();
      if (count <= 0) throw released("refCount: 0");
      if (count == Integer.MAX_VALUE) throw new IllegalStateException("refCount overflow");
      if (REF_COUNT.compareAndSet(this, count, count + 1)) return;
    }
  }

  /**
   * Drops one reference and says whether it was the last. The last one is dropped with a release
   * store, not a compare-and-set: its holder is the only one, so nobody can change the count
   * meanwhile (a retain needs a reference of its own). That saves one of the few atomic operations
   * a packet costs, about 5 ns of the ~50 its Java takes (docs/design.md, "Packets and pools").
   * Released twice one after the other, it throws. A caller bug, two threads releasing one last
   * reference at the same instant, is not caught: both calls return true, the storage goes back to
   * the pool twice, and two later packets may share its array.
   */
  boolean release() {
    if (refCount() == 1) {
      REF_COUNT.setRelease(this, 0);
      return true;
    }
    for (; ; ) {
      int count = refCount();
      if (count <= 0) throw released("refCount: 0 (released twice?)");
      if (REF_COUNT.compareAndSet(this, count, count - 1)) return count == 1;
    }
  }

  /** {@return the error for using this released storage, naming where it was released if known} */
  IllegalStateException released(String message) {
    return releasedAt == null
        ? new IllegalStateException(message)
        : new IllegalStateException(message + "; " + releasedAt.getMessage(), releasedAt);
  }
}
