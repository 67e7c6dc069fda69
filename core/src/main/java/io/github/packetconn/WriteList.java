package io.github.packetconn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Arrays;

/**
 * The frames a {@link SendQueue}'s writer has taken and not yet written: filled chunks, and ranges
 * of {@link FrameSlab}s written from views of the slab (the writer loop's, or spare ones a writer
 * thread takes for one write), in the order they were queued.
 *
 * <p>They go out in gathering writes of a bounded size ({@link #write}). A slab's view has one
 * position, so each range in a gathering write gets a view of its own, and a loop's batch stops
 * before the {@link FrameSlab#VIEWS_PER_WRITE}+1st range of one slab. Written chunks go back to the
 * {@link ChunkPool} and their size to the budget, written bytes of a range to their slab, at once
 * and outside any queue's lock.
 *
 * <p>Threads: event loop (or the writer thread, or whoever holds that thread's write lock) only.
 */
final class WriteList {
  private final int writerLoop; // Index of the event loop that writes, whose slab views we use; -1: a
  // thread of its own, which takes spare views.
  private final MemoryBudget budget; // Gets written chunks' size back.
  private ByteBuffer[] writing = new ByteBuffer[8]; // Chunks; for a range, the view its write uses.
  private FrameSlab[] writingSlab = new FrameSlab[8]; // A range's slab; null for a chunk.
  private int[] writingPos = new int[8]; // A range's next byte to write.
  private int[] writingEnd = new int[8];
  private int writeHead;
  private int writeTail;
  private long written; // Bytes written, ever.
  private long writes; // Write system calls that wrote something, ever.
  private long rangesFinished; // Ranges written out, ever.

  WriteList(int writerLoop, MemoryBudget budget) {
    this.writerLoop = writerLoop;
    this.budget = budget;
  }

  /** {@return true if taken chunks or ranges still wait to be written} */
  boolean hasWriting() {
    return writeHead < writeTail;
  }

  /** {@return the bytes written since the list was made} */
  long writtenBytes() {
    return written;
  }

  /** {@return the write system calls that wrote something since the list was made} */
  long writeCalls() {
    return writes;
  }

  /** {@return the ranges written out since the list was made} */
  long rangesFinished() {
    return rangesFinished;
  }

  /** Appends a filled chunk, flipped for writing. */
  void addChunk(ByteBuffer chunk) {
    if (writeTail == writing.length) compactOrGrow();
    writing[writeTail++] = chunk;
  }

  /**
   * Appends bytes {@code start} to {@code end} of {@code slab}, counted in the slab already.
   *
   * @return true if that made a range of its own, false if it continued the last one
   */
  boolean addRange(FrameSlab slab, int start, int end) {
    int last = writeTail - 1;
    if (last >= writeHead && writingSlab[last] == slab && writingEnd[last] == start) {
      writingEnd[last] = end; // Continues the range being written.
      return false;
    }
    if (writeTail == writing.length) compactOrGrow();
    writingSlab[writeTail] = slab; // Its view is chosen when a write takes it.
    writingPos[writeTail] = start;
    writingEnd[writeTail] = end;
    writeTail++;
    return true;
  }

  /**
   * Writes, at most about {@code maxBytes} per system call, until everything is written or the socket
   * is full. What was written counts in {@link #writtenBytes()} also when the channel throws.
   */
  void write(GatheringByteChannel channel, int maxBytes) throws IOException {
    int given = 0;
    try {
      while (writeHead < writeTail) {
        int end = writeHead;
        long batch = 0;
        while (end < writeTail && (end == writeHead || batch < maxBytes)) {
          FrameSlab slab = writingSlab[end];
          if (slab != null) { // A view per range: each has one position.
            ByteBuffer view = slab.takeView(writerLoop);
            if (view == null) break;
            view.limit(writingEnd[end]).position(writingPos[end]);
            writing[end] = view;
          }
          batch += writing[end++].remaining();
        }
        long n = 0;
        try {
          n = channel.write(writing, writeHead, end - writeHead);
        } finally {
          for (int i = writeHead; i < end; i++) {
            FrameSlab slab = writingSlab[i];
            if (slab == null) continue;
            ByteBuffer view = writing[i];
            writing[i] = null;
            int moved = view.position() - writingPos[i]; // Read before the view is given back.
            slab.giveView(writerLoop, view);
            if (moved == 0) continue;
            writingPos[i] += moved;
            slab.release(moved); // Not under the queue's lock: the slab may go back to its budget.
          }
        }
        written += n;
        if (n > 0) writes++;
        while (writeHead < writeTail && written(writeHead)) {
          if (writingSlab[writeHead] == null) {
            ChunkPool.give(writing[writeHead]);
            given++;
          } else {
            rangesFinished++;
          }
          writingSlab[writeHead] = null;
          writing[writeHead++] = null;
        }
        if (n < batch) break; // The socket is full; the loop waits for OP_WRITE.
      }
    } finally { // Also when a write fails: the written chunks' budget is returned.
      if (writeHead == writeTail) writeHead = writeTail = 0;
      if (given > 0) budget.release(given * (long) ChunkPool.CHUNK_SIZE);
    }
  }

  /**
   * Drops everything left, giving chunks back to the pool and their size to the budget, and the
   * ranges' bytes back to their slabs. Not under the queue's lock: a release may take other queues'
   * locks.
   */
  void discard() {
    int given = 0;
    for (int i = writeHead; i < writeTail; i++) {
      if (writingSlab[i] == null) {
        ChunkPool.give(writing[i]);
        given++;
      }
      writing[i] = null;
    }
    if (given > 0) budget.release(given * (long) ChunkPool.CHUNK_SIZE);
    for (int i = writeHead; i < writeTail; i++) {
      if (writingSlab[i] == null) continue;
      writingSlab[i].release(writingEnd[i] - writingPos[i]);
      writingSlab[i] = null;
    }
    writeHead = writeTail = 0;
  }

  /** {@return true if entry {@code i} is written out} */
  private boolean written(int i) {
    return writingSlab[i] == null ? !writing[i].hasRemaining() : writingPos[i] == writingEnd[i];
  }

  private void compactOrGrow() {
    int live = writeTail - writeHead;
    if (writeHead == 0 || live >= writing.length / 2) {
      int n = writing.length * 2;
      writing = Arrays.copyOf(writing, n);
      writingSlab = Arrays.copyOf(writingSlab, n);
      writingPos = Arrays.copyOf(writingPos, n);
      writingEnd = Arrays.copyOf(writingEnd, n);
    }
    if (writeHead > 0) {
      System.arraycopy(writing, writeHead, writing, 0, live);
      System.arraycopy(writingSlab, writeHead, writingSlab, 0, live);
      System.arraycopy(writingPos, writeHead, writingPos, 0, live);
      System.arraycopy(writingEnd, writeHead, writingEnd, 0, live);
      Arrays.fill(writing, live, writeTail, null);
      Arrays.fill(writingSlab, live, writeTail, null);
    }
    writeHead = 0;
    writeTail = live;
  }
}
