package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Direct buffers of {@link #CHUNK_SIZE} bytes that hold encoded frames between {@code send} and the
 * socket write. Direct, so the write is a single copy into the kernel; 16 KiB, so a connection with
 * a few small packets queued pins little memory, and a large frame spans a gathering write.
 */
final class ChunkPool {
  static final int CHUNK_SIZE = 16 << 10;
  private static final int MAX_FREE = 4096; // 64 MiB of idle chunks at most: 2,000 busy connections.

  private static final ByteBuffer[] free = new ByteBuffer[MAX_FREE];
  private static int count;

  private ChunkPool() {}

  /** Returns an empty little-endian chunk. */
  static ByteBuffer take() {
    synchronized (free) { // Held for a few nanoseconds; never around I/O.
      if (count > 0) {
        ByteBuffer chunk = free[--count];
        free[count] = null;
        return chunk;
      }
    }
    return ByteBuffer.allocateDirect(CHUNK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Gives a chunk back; when the pool is full, the GC reclaims it. */
  static void give(ByteBuffer chunk) {
    chunk.clear();
    synchronized (free) {
      if (count < MAX_FREE) free[count++] = chunk;
    }
  }
}
