package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Direct read buffers lent to receivers that read on their own thread ({@link ReceiveQueue}) for
 * the length of one read and decode, so ten thousand blocking connections do not pin ten thousand
 * buffers: only as many exist as receivers read at the same moment.
 */
final class ReadBuffers {
  private static final int MAX_FREE = 64;
  private static final ByteBuffer[] free = new ByteBuffer[MAX_FREE];
  private static int count;

  private ReadBuffers() {}

  /** Returns an empty little-endian buffer of {@code size} bytes. */
  static ByteBuffer take(int size) {
    synchronized (free) { // Held for a few nanoseconds; never around I/O.
      for (int i = count - 1; i >= 0; i--) {
        if (free[i].capacity() == size) {
          ByteBuffer buffer = free[i];
          free[i] = free[--count];
          free[count] = null;
          return buffer.clear();
        }
      }
    }
    return ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Gives a buffer back; when the pool is full, the GC reclaims it. */
  static void give(ByteBuffer buffer) {
    synchronized (free) {
      if (count < MAX_FREE) free[count++] = buffer;
    }
  }
}
