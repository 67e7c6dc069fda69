package io.github.packetconn;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The frames a {@link SendQueue} has accepted since its writer last took them: pooled direct chunks
 * that senders encode frames into, and between them ranges of {@link FrameSlab}s where a frame
 * encoded once for many queues is shared instead of copied.
 *
 * <p>A frame reserves every chunk it needs before its first byte is written, so a failed allocation
 * (out of direct memory) queues nothing instead of half a frame. Consecutive ranges of one slab are
 * kept as one entry, and a frame copied after a range starts a chunk of its own.
 *
 * <p>Threads: guarded by the SendQueue's lock, except {@link #frameSize} and {@link #crc}, which read
 * only final fields.
 */
final class FillList {
  private final CRC32 crc; // Null without CRC.
  private final byte[] scratch = new byte[4]; // A header split over two chunks, and the CRC's input.
  private ByteBuffer[] filling = new ByteBuffer[4]; // Chunks, or null where a range of a slab is.
  private FrameSlab[] fillingSlab = new FrameSlab[4]; // Where filling[i] is null: the range's slab,
  private int[] fillingStart = new int[4]; // its first byte,
  private int[] fillingEnd = new int[4]; // and the byte after its last.
  private int fillingCount;
  private int fill; // The chunk being filled; later reserved chunks are empty.
  private final int maxRanges; // Ranges of slabs the queue may hold: see mayHold().
  private int ranges; // Ranges of slabs queued, here or in the WriteList, and not yet written out.
  private long rangesWrittenSeen; // The WriteList's count of ranges written out, as last counted.

  FillList(boolean crc, int maxRanges) {
    this.crc = crc ? new CRC32() : null;
    this.maxRanges = maxRanges;
  }

  /**
   * {@return true if the queue may hold {@code shared} as a range of its slab} A range pins its whole
   * slab until written, and a queue that falls behind while other queues' frames fill the slabs
   * between its own would pin a slab per frame: past {@code maxRanges} (as many slabs as its bound
   * holds) it takes copies, unless the frame continues its last range.
   */
  boolean mayHold(SharedFrame shared) {
    return ranges < maxRanges || continues(shared);
  }

  /** Counts the ranges the writer has written out, {@code finished} in all since it was made. */
  void rangesWritten(long finished) {
    ranges -= (int) (finished - rangesWrittenSeen);
    rangesWrittenSeen = finished;
  }

  /** {@return true if frames end with a CRC} */
  boolean crc() {
    return crc != null;
  }

  /** {@return the bytes {@code packet} takes as a frame: header, payload and CRC} */
  int frameSize(Packet packet) {
    return 4 + packet.size() + (crc != null ? 4 : 0);
  }

  /**
   * {@return the budget a copied frame of {@code frame} bytes takes: the chunks it needs beyond the
   * free end of the last}
   */
  long chunkBytes(int frame) {
    return chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE;
  }

  /** {@return how many chunks a frame of {@code frame} bytes needs beyond the free end of the last} */
  private int chunksNeeded(int frame) {
    int free = fillingCount == 0 || filling[fillingCount - 1] == null ? 0 : filling[fillingCount - 1].remaining();
    if (frame <= free) return 0;
    return (int) (((long) frame - free + ChunkPool.CHUNK_SIZE - 1) / ChunkPool.CHUNK_SIZE);
  }

  /**
   * Copies {@code packet} after what is queued, as a frame of {@code frame} bytes whose new chunks
   * ({@code chunkBytes}, as {@link #chunkBytes} said under the same lock) the caller took from the
   * budget. If it throws, nothing was queued and the caller gives that budget back.
   */
  void encode(Packet packet, int frame, long chunkBytes) {
    reserve((int) (chunkBytes / ChunkPool.CHUNK_SIZE)); // Before a byte is written: failure-atomic.
    int size = packet.size();
    byte[] payload = packet.array();
    putInt(size);
    put(payload, 0, size);
    if (crc != null) {
      crc.reset();
      crc.update(littleEndian(size), 0, 4);
      crc.update(payload, 0, size);
      putInt((int) crc.getValue());
    }
  }

  /** {@return true if {@code shared} continues the last range queued: it would pin no other slab} */
  private boolean continues(SharedFrame shared) {
    int last = fillingCount - 1;
    return last >= 0 && fillingSlab[last] == shared.slab() && fillingEnd[last] == shared.start();
  }

  /** Queues {@code shared} as a range of its slab, after what is queued, and counts its bytes in the slab. */
  void append(SharedFrame shared) {
    FrameSlab slab = shared.slab();
    if (continues(shared)) {
      fillingEnd[fillingCount - 1] = shared.end(); // The slab's previous frame went to this queue too.
    } else {
      if (fillingCount == filling.length) grow(fillingCount + 1);
      filling[fillingCount] = null;
      fillingSlab[fillingCount] = slab;
      fillingStart[fillingCount] = shared.start();
      fillingEnd[fillingCount] = shared.end();
      fillingCount++;
      ranges++;
    }
    fill = fillingCount; // A frame copied next starts a chunk of its own, after this range.
    slab.retain(shared.length());
  }

  /**
   * Moves every chunk and range, in order, behind the ones {@code writing} holds, leaving this list
   * empty. Called by the writer, which owns {@code writing}.
   */
  void moveTo(WriteList writing) {
    for (int i = 0; i < fillingCount; i++) {
      if (fillingSlab[i] == null) {
        writing.addChunk(filling[i].flip());
        filling[i] = null;
      } else {
        if (!writing.addRange(fillingSlab[i], fillingStart[i], fillingEnd[i])) ranges--; // Merged.
        fillingSlab[i] = null;
      }
    }
    fillingCount = 0;
    fill = 0;
  }

  /** Takes {@code more} new chunks: as many as {@link #chunkBytes} said a frame needs. */
  private void reserve(int more) {
    if (more == 0) return;
    if (fillingCount + more > filling.length) grow(fillingCount + more);
    int before = fillingCount;
    try {
      for (int i = 0; i < more; i++) {
        ByteBuffer chunk = ChunkPool.take();
        filling[fillingCount++] = chunk;
      }
    } catch (Throwable t) { // Out of direct memory: give back what was taken, queue nothing.
      while (fillingCount > before) {
        ChunkPool.give(filling[--fillingCount]);
        filling[fillingCount] = null;
      }
      throw t;
    }
  }

  private void grow(int atLeast) {
    int n = Math.max(filling.length * 2, atLeast);
    filling = Arrays.copyOf(filling, n);
    fillingSlab = Arrays.copyOf(fillingSlab, n);
    fillingStart = Arrays.copyOf(fillingStart, n);
    fillingEnd = Arrays.copyOf(fillingEnd, n);
  }

  private void putInt(int value) {
    ByteBuffer chunk = current();
    if (chunk.remaining() >= 4) {
      chunk.putInt(value);
    } else {
      put(littleEndian(value), 0, 4); // The header straddles two chunks.
    }
  }

  private void put(byte[] source, int offset, int length) {
    while (length > 0) {
      ByteBuffer chunk = current();
      int n = Math.min(length, chunk.remaining());
      chunk.put(source, offset, n);
      offset += n;
      length -= n;
    }
  }

  /** {@return the chunk to write into: the first reserved one with room} */
  private ByteBuffer current() {
    ByteBuffer chunk = filling[fill];
    return chunk.hasRemaining() ? chunk : filling[++fill];
  }

  private byte[] littleEndian(int value) {
    scratch[0] = (byte) value;
    scratch[1] = (byte) (value >> 8);
    scratch[2] = (byte) (value >> 16);
    scratch[3] = (byte) (value >>> 24);
    return scratch;
  }
}
