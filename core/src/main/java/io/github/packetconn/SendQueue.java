package io.github.packetconn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32;

/**
 * The frames a connection has accepted but not yet written, bounded by bytes.
 *
 * <p>Senders encode each frame straight into pooled direct chunks under a short lock, so the caller
 * may release its packet as soon as {@code send} returns and a frame costs one copy before the
 * kernel's. The event loop takes all filled chunks at once ({@link #takeFilled()}), then writes them
 * without holding the lock: one gathering write per ready connection, however many senders.
 *
 * <p><b>Shared frames</b>: a frame sent to many connections may be encoded once into a {@link
 * FrameSlab}; a queue written by an event loop then holds a range of the slab between its own
 * chunks instead of a copy, and writes it from its loop's view of the slab. Consecutive ranges of one
 * slab are kept as one.
 *
 * <p><b>Writability</b>: the queue turns unwritable when its bytes reach the high water mark and
 * writable again when writes bring them down to the low one (hysteresis, like Netty's {@code
 * ChannelOutboundBuffer}), and tells its owner through a callback, on the thread that moved it
 * across: a sender's or the writer's. Per frame this costs one comparison under the lock the
 * frame takes anyway; nothing is allocated.
 */
final class SendQueue {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private final int bound;
  private final MemoryBudget budget; // Counts the chunks this queue holds.
  private final CRC32 crc; // Null without CRC; guarded by lock.
  private final Runnable flushRequest; // Asks the loop to write; run when a frame lands unasked.
  private final Runnable writabilityChanged; // Run after unlocking, when writable flipped.
  private final int lowWater; // Writable again at or below this many bytes queued.
  private final int highWater; // Unwritable at or above this many.
  private final boolean timed; // flushDelay is on: frames are stamped when queued.
  private final byte[] scratch = new byte[4];
  private final int writerLoop; // Index of the event loop that writes this queue; -1: never shares.

  // Guarded by lock.
  private ByteBuffer[] filling = new ByteBuffer[4]; // Chunks, or null where a range of a slab is.
  private FrameSlab[] fillingSlab = new FrameSlab[4]; // Where filling[i] is null: the range's slab,
  private int[] fillingStart = new int[4]; // its first byte,
  private int[] fillingEnd = new int[4]; // and the byte after its last.
  private int fillingCount;
  private long queuedBytes; // Accepted and not yet written.
  private boolean flushPending; // A flush has been requested since the last takeFilled().
  private String closedReason; // Non-null once sends are refused.
  private final java.util.ArrayDeque<Thread> waiting = new java.util.ArrayDeque<>(); // FIFO.
  private int fill; // The chunk being filled; later reserved chunks are empty.
  private List<Runnable> drainSignals; // Run once when the queue drains below half its bound.
  private long firstQueuedNanos; // When the oldest unflushed frame was queued (flush delay only).
  private long lastQueuedNanos;
  private long appended; // Packets accepted, ever; for stats.
  private long written; // Bytes written, ever; for stats. Only the event loop writes it.
  private long writes; // Write system calls that wrote something; for stats.
  private volatile boolean writable = true; // Written under lock; read anywhere, lock-free.
  private volatile long unwritableSince; // System.nanoTime() of the last flip to unwritable.
  private volatile CompletableFuture<Void> writableWaiter; // For whenWritable(); under lock.

  // Owned by the event loop.
  private ByteBuffer[] writing = new ByteBuffer[8]; // Chunks, or for a range the loop's view of it.
  private FrameSlab[] writingSlab = new FrameSlab[8]; // A range's slab; null for a chunk.
  private int[] writingPos = new int[8]; // A range's next byte to write.
  private int[] writingEnd = new int[8];
  private int writeHead;
  private int writeTail;

  SendQueue(int bound, boolean crc, MemoryBudget budget, boolean timed, Runnable flushRequest) {
    this(bound, crc, budget, timed, flushRequest, PacketConfig.defaultHighWaterMark(bound) / 2,
        PacketConfig.defaultHighWaterMark(bound), () -> {}, null);
  }

  SendQueue(
      int bound,
      boolean crc,
      MemoryBudget budget,
      boolean timed,
      Runnable flushRequest,
      int lowWater,
      int highWater,
      Runnable writabilityChanged,
      EventLoop writer) {
    this.bound = bound;
    this.budget = budget;
    this.crc = crc ? new CRC32() : null;
    this.timed = timed;
    this.flushRequest = flushRequest;
    this.lowWater = lowWater;
    this.highWater = highWater;
    this.writabilityChanged = writabilityChanged;
    this.writerLoop = writer != null ? writer.index : -1;
  }

  MemoryBudget budget() {
    return budget;
  }

  /**
   * Queues {@code packet} as one frame, waiting up to {@code timeoutNanos} for room in the queue and
   * the budget (forever when negative, not at all when zero). Waiting senders are admitted in
   * arrival order, so a large frame is not starved by a stream of small ones. Not on an I/O thread:
   * see {@link #offerOnLoop}.
   *
   * @return false if nothing was queued: no room in time
   */
  boolean offer(Packet packet, long timeoutNanos) {
    return offer(packet, timeoutNanos, false);
  }

  /**
   * As {@link #offer(Packet, long)}; a {@code quietIfClosed} offer returns false instead of throwing
   * when the queue refuses sends (closing or closed), also when that happens while it waits.
   */
  boolean offer(Packet packet, long timeoutNanos, boolean quietIfClosed) {
    return offer(packet, null, timeoutNanos, quietIfClosed);
  }

  /**
   * As {@link #offer(Packet, long, boolean)}, queueing {@code shared} (the packet encoded already,
   * or null) instead of a copy if this queue can hold it: see {@link #shares}.
   */
  boolean offer(Packet packet, SharedFrame shared, long timeoutNanos, boolean quietIfClosed) {
    boolean share = shares(shared);
    int frame = share ? shared.length() : frameSize(packet);
    int done;
    long refund = 0;
    lock.lock();
    try {
      if (refused(quietIfClosed)) return false;
      if (!admitted(frame, share) && (timeoutNanos == 0 || !await(frame, share, timeoutNanos, quietIfClosed))) {
        return false;
      }
      long taken = share ? 0 : chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE;
      try {
        done = share ? append(shared) : encode(packet, frame);
      } catch (Throwable t) {
        refund = taken; // Given back after unlocking: a release may take other queues' locks.
        throw t;
      }
    } finally {
      if (!waiting.isEmpty()) notFull.signalAll(); // The next in line may fit now.
      lock.unlock();
      if (refund > 0) budget.release(refund);
    }
    if ((done & FLUSH) != 0) flushRequest.run();
    if ((done & UNWRITABLE) != 0) writabilityChanged.run();
    return true;
  }

  /**
   * Queues {@code packet} from an I/O thread, which must never wait. Without room, a {@code
   * mayOverflow} send (a blocking {@code send}) is queued anyway, past the bound or the budget, and
   * the caller stops reading the connection whose packet it is handling; {@code onDrained}, that
   * connection's signal, runs once this queue drains. Without room and {@code mayOverflow}, nothing
   * is queued.
   */
  Overflow offerOnLoop(Packet packet, boolean mayOverflow, Runnable onDrained) {
    return offerOnLoop(packet, mayOverflow, false, onDrained);
  }

  /**
   * As {@link #offerOnLoop(Packet, boolean, Runnable)}; a {@code quietIfClosed} offer returns {@link
   * Overflow#REFUSED} instead of throwing when the queue refuses sends (closing or closed).
   */
  Overflow offerOnLoop(Packet packet, boolean mayOverflow, boolean quietIfClosed, Runnable onDrained) {
    return offerOnLoop(packet, null, mayOverflow, quietIfClosed, onDrained);
  }

  /**
   * As {@link #offerOnLoop(Packet, boolean, boolean, Runnable)}, queueing {@code shared} (the packet
   * encoded already, or null) instead of a copy if this queue can hold it: see {@link #shares}.
   */
  Overflow offerOnLoop(
      Packet packet, SharedFrame shared, boolean mayOverflow, boolean quietIfClosed, Runnable onDrained) {
    boolean share = shares(shared);
    int frame = share ? shared.length() : frameSize(packet);
    Overflow overflow = Overflow.NONE;
    int done;
    long refund = 0;
    lock.lock();
    try {
      if (refused(quietIfClosed)) return Overflow.REFUSED;
      if (!admitted(frame, share)) {
        if (!mayOverflow) return Overflow.REFUSED;
        boolean pastBound = full(frame);
        if (pastBound && onDrained != null) whenDrained(onDrained);
        long chunkBytes = share ? 0 : chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE;
        boolean pastBudget = !budget.tryAcquire(chunkBytes);
        if (pastBudget) budget.acquire(chunkBytes); // The caller pauses its source until room.
        overflow = pastBound && pastBudget ? Overflow.BOUND_AND_BUDGET : pastBound ? Overflow.BOUND
            : pastBudget ? Overflow.BUDGET : Overflow.NONE; // None: room, but others wait in line.
      }
      long taken = share ? 0 : chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE;
      try {
        done = share ? append(shared) : encode(packet, frame);
      } catch (Throwable t) {
        refund = taken;
        throw t;
      }
    } finally {
      if (!waiting.isEmpty()) notFull.signalAll();
      lock.unlock();
      if (refund > 0) budget.release(refund);
    }
    if ((done & FLUSH) != 0) flushRequest.run();
    if ((done & UNWRITABLE) != 0) writabilityChanged.run();
    return overflow;
  }

  /** What {@link #offerOnLoop} did beyond queueing. */
  enum Overflow {
    /** Queued within the bound and the budget. */
    NONE,
    /** Not queued: no room, and the caller may not overflow. */
    REFUSED,
    /** Queued past the queue's bound. */
    BOUND,
    /** Queued past the memory budget's queued account. */
    BUDGET,
    /** Queued past both. */
    BOUND_AND_BUDGET;

    boolean pastBound() {
      return this == BOUND || this == BOUND_AND_BUDGET;
    }

    boolean pastBudget() {
      return this == BUDGET || this == BOUND_AND_BUDGET;
    }
  }

  private int frameSize(Packet packet) {
    return 4 + packet.size() + (crc != null ? 4 : 0);
  }

  /**
   * {@return true if this queue can hold {@code shared} as a range of its slab: it is written by an
   * event loop (whose view of the slab it writes from), counts its memory in the frame's budget, and
   * frames it with a CRC if the frame has one} Any thread; reads only final fields.
   */
  boolean shares(SharedFrame shared) {
    return shared != null && writerLoop >= 0 && shared.budget() == budget && shared.crc() == (crc != null);
  }

  /**
   * {@return true if {@code frame} may be queued at once: it fits the bound, nobody waits before
   * it, and its chunks were taken from the budget (a {@code shared} frame needs none)} Lock held.
   */
  private boolean admitted(int frame, boolean shared) {
    return !full(frame) && waiting.isEmpty()
        && (shared || budget.tryAcquire(chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE));
  }

  private static final int FLUSH = 1; // encode(): a flush must be asked for.
  private static final int UNWRITABLE = 2; // encode(): the frame made the queue unwritable.

  /**
   * Encodes {@code packet} into the chunks, its {@code frame} bytes already admitted (and their new
   * chunks taken from the budget); returns {@link #FLUSH} if a flush must be asked for, plus {@link
   * #UNWRITABLE} if the queue reached its high water mark. Lock held; if it throws, nothing was
   * queued and the caller gives the chunks' budget back.
   */
  private int encode(Packet packet, int frame) {
    reserve(frame); // Every chunk the frame needs, before a byte is written: failure-atomic.
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
    return queued(frame);
  }

  /**
   * Queues {@code shared} as a range of its slab, after what is queued, and counts its bytes in the
   * slab; returns what {@link #encode} does. Lock held; the frame is admitted.
   */
  private int append(SharedFrame shared) {
    FrameSlab slab = shared.slab();
    int last = fillingCount - 1;
    if (last >= 0 && fillingSlab[last] == slab && fillingEnd[last] == shared.start()) {
      fillingEnd[last] = shared.end(); // The slab's previous frame went to this queue too.
    } else {
      if (fillingCount == filling.length) growFilling(fillingCount + 1);
      filling[fillingCount] = null;
      fillingSlab[fillingCount] = slab;
      fillingStart[fillingCount] = shared.start();
      fillingEnd[fillingCount] = shared.end();
      fillingCount++;
    }
    fill = fillingCount; // A frame copied next starts a chunk of its own, after this range.
    slab.retain(shared.length());
    return queued(shared.length());
  }

  /**
   * Counts a frame of {@code frame} bytes as queued; returns {@link #FLUSH} if a flush must be asked
   * for, plus {@link #UNWRITABLE} if the queue reached its high water mark. Lock held.
   */
  private int queued(int frame) {
    queuedBytes += frame;
    appended++;
    int done = 0;
    if (writable && queuedBytes >= highWater) {
      writable = false;
      unwritableSince = System.nanoTime();
      done = UNWRITABLE;
    }
    if (timed) {
      lastQueuedNanos = System.nanoTime();
      if (!flushPending) firstQueuedNanos = lastQueuedNanos;
    }
    if (flushPending) return done;
    flushPending = true;
    return done | FLUSH;
  }

  private boolean full(int frame) {
    return queuedBytes > 0 && queuedBytes + frame > bound;
  }

  /**
   * Waits in line until {@code frame} fits in this queue and the budget, and takes its chunks from
   * the budget; false on timeout. Lock held.
   */
  private boolean await(int frame, boolean shared, long timeoutNanos, boolean quietIfClosed) {
    Thread me = Thread.currentThread(); // Each thread waits for one frame at a time.
    waiting.addLast(me);
    long remaining = timeoutNanos;
    try {
      while (true) {
        if (waiting.peekFirst() == me && !full(frame)) {
          long chunkBytes = shared ? 0 : chunksNeeded(frame) * (long) ChunkPool.CHUNK_SIZE;
          if (budget.tryAcquire(chunkBytes)) return true;
          budget.waitForRoom(this); // Then try again, so a release in between is not missed.
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

  /** {@return how many chunks a frame of {@code frame} bytes needs beyond the free end of the last} */
  private int chunksNeeded(int frame) {
    int free = fillingCount == 0 || filling[fillingCount - 1] == null ? 0 : filling[fillingCount - 1].remaining();
    if (frame <= free) return 0;
    return (int) (((long) frame - free + ChunkPool.CHUNK_SIZE - 1) / ChunkPool.CHUNK_SIZE);
  }

  /** Takes the chunks {@link #chunksNeeded} says. */
  private void reserve(int frame) {
    int more = chunksNeeded(frame);
    if (more == 0) return;
    if (fillingCount + more > filling.length) growFilling(fillingCount + more);
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

  private void growFilling(int atLeast) {
    int n = Math.max(filling.length * 2, atLeast);
    filling = java.util.Arrays.copyOf(filling, n);
    fillingSlab = java.util.Arrays.copyOf(fillingSlab, n);
    fillingStart = java.util.Arrays.copyOf(fillingStart, n);
    fillingEnd = java.util.Arrays.copyOf(fillingEnd, n);
  }

  /** Wakes the senders waiting here: the budget has room again. */
  void budgetReleased() {
    lock.lock();
    try {
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** {@return how many senders wait for room; for tests} */
  int waiting() {
    lock.lock();
    try {
      return waiting.size();
    } finally {
      lock.unlock();
    }
  }

  /** {@return the bytes accepted and not yet written} */
  long queuedBytes() {
    lock.lock();
    try {
      return queuedBytes;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@return the packets accepted, bytes written, write calls and bytes queued, at one instant, in a
   * {@link ConnectionStats} with {@code packetsIn} and {@code bytesIn} given}
   */
  ConnectionStats stats(long packetsIn, long bytesIn) {
    lock.lock();
    try {
      return new ConnectionStats(packetsIn, bytesIn, appended, written, queuedBytes, writes);
    } finally {
      lock.unlock();
    }
  }

  /** {@return true if no frame waits to be written, taken or not} */
  boolean isEmpty() {
    lock.lock();
    try {
      return queuedBytes == 0;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@return when the queued frames are due: {@code delay} after the newest, but no later than {@code
   * maxDelay} after the oldest unflushed one}
   */
  long flushDue(long delay, long maxDelay) {
    lock.lock();
    try {
      return Math.min(lastQueuedNanos + delay, firstQueuedNanos + maxDelay);
    } finally {
      lock.unlock();
    }
  }

  /** Moves every filled chunk behind the ones being written. Event loop only. */
  void takeFilled() {
    lock.lock();
    try {
      flushPending = false;
      for (int i = 0; i < fillingCount; i++) {
        FrameSlab slab = fillingSlab[i];
        if (slab == null) {
          if (writeTail == writing.length) compactOrGrow();
          writing[writeTail++] = filling[i].flip();
          filling[i] = null;
          continue;
        }
        fillingSlab[i] = null;
        int last = writeTail - 1;
        if (last >= writeHead && writingSlab[last] == slab && writingEnd[last] == fillingStart[i]) {
          writingEnd[last] = fillingEnd[i]; // Continues the range being written.
          continue;
        }
        if (writeTail == writing.length) compactOrGrow();
        writing[writeTail] = slab.view(writerLoop);
        writingSlab[writeTail] = slab;
        writingPos[writeTail] = fillingStart[i];
        writingEnd[writeTail] = fillingEnd[i];
        writeTail++;
      }
      fillingCount = 0;
      fill = 0;
    } finally {
      lock.unlock();
    }
  }

  /** {@return the bytes written since the queue was made} Event loop only. */
  long writtenBytes() {
    return written; // The loop's own writes: no lock needed to read them on the loop.
  }

  /** {@return true if taken chunks still wait to be written} Event loop only. */
  boolean hasWriting() {
    return writeHead < writeTail;
  }

  /**
   * Writes taken chunks, at most about {@code maxBytes} per system call, until they are all written
   * or the socket is full. Event loop only.
   *
   * @return the drain signals to run, if this write drained the queue below half its
   *     bound; otherwise null
   */
  List<Runnable> write(GatheringByteChannel channel, int maxBytes) throws IOException {
    long total = 0;
    int given = 0;
    int calls = 0;
    List<Runnable> drained = null;
    boolean nowWritable = false;
    try {
      while (writeHead < writeTail) {
        int end = writeHead;
        long batch = 0;
        while (end < writeTail && (end == writeHead || batch < maxBytes)) {
          FrameSlab slab = writingSlab[end];
          if (slab != null) {
            if (holds(slab, writeHead, end)) break; // One view per loop: a slab once per write.
            writing[end].limit(writingEnd[end]).position(writingPos[end]);
          }
          batch += writing[end++].remaining();
        }
        long n = channel.write(writing, writeHead, end - writeHead);
        total += n;
        if (n > 0) calls++;
        for (int i = writeHead; i < end; i++) {
          if (writingSlab[i] == null) continue;
          int moved = writing[i].position() - writingPos[i];
          if (moved == 0) continue;
          writingPos[i] += moved;
          writingSlab[i].release(moved); // Not under our lock: the slab may go back to its budget.
        }
        while (writeHead < writeTail && written(writeHead)) {
          if (writingSlab[writeHead] == null) {
            ChunkPool.give(writing[writeHead]);
            given++;
          }
          writingSlab[writeHead] = null;
          writing[writeHead++] = null;
        }
        if (n < batch) break; // The socket is full; the loop waits for OP_WRITE.
      }
    } finally { // Also when a write fails: what was written is counted, its chunks' budget returned.
      if (writeHead == writeTail) writeHead = writeTail = 0;
      if (given > 0) budget.release(given * (long) ChunkPool.CHUNK_SIZE);
      if (total > 0) {
        lock.lock();
        try {
          queuedBytes -= total;
          written += total;
          writes += calls;
          if (!waiting.isEmpty()) notFull.signalAll();
          if (drainSignals != null && queuedBytes <= bound / 2) {
            drained = drainSignals;
            drainSignals = null;
          }
          if (!writable && queuedBytes <= lowWater && closedReason == null) {
            writable = true;
            nowWritable = true;
          }
        } finally {
          lock.unlock();
        }
      }
      if (nowWritable) writabilityChanged.run();
    }
    return drained;
  }

  /** {@return true if entry {@code i} is written out} Event loop only. */
  private boolean written(int i) {
    return writingSlab[i] == null ? !writing[i].hasRemaining() : writingPos[i] == writingEnd[i];
  }

  /** {@return true if a range of {@code slab} is among entries {@code from} to {@code to}, exclusive} */
  private boolean holds(FrameSlab slab, int from, int to) {
    for (int i = from; i < to; i++) {
      if (writingSlab[i] == slab) return true;
    }
    return false;
  }

  /**
   * Remembers {@code signal}, to run once this queue drains below half its bound (or is discarded).
   * A {@link Holding} signal is told each time it starts waiting here, under this lock, so that it
   * is counted before it can run. Lock held.
   */
  private void whenDrained(Runnable signal) {
    if (drainSignals == null) drainSignals = new ArrayList<>(2);
    if (!drainSignals.contains(signal)) {
      drainSignals.add(signal);
      if (signal instanceof Holding holding) holding.held();
    }
  }

  /**
   * A drain signal that counts the queues it waits for: a connection paused because its handler
   * overfilled several queues reads again only when the last of them drains.
   */
  interface Holding {
    /** One more queue waits to run this signal. */
    void held();
  }

  /** Refuses further sends with {@code reason}; frames already queued stay. */
  void refuse(String reason) {
    CompletableFuture<Void> waiter;
    lock.lock();
    try {
      if (closedReason == null) closedReason = reason;
      notFull.signalAll();
      waiter = takeWaiterOnClose();
    } finally {
      lock.unlock();
    }
    failWaiter(waiter);
  }

  /**
   * Refuses further sends and drops every queued frame, returning chunks to the pool.
   *
   * @return the drain signals waiting for this queue to drain
   */
  List<Runnable> discard(String reason) {
    int given = 0;
    CompletableFuture<Void> waiter = null;
    FrameSlab[] slabs = null; // The ranges dropped, released after unlocking.
    int[] slabBytes = null;
    int ranges = 0;
    lock.lock();
    try {
      if (closedReason == null) closedReason = reason;
      waiter = takeWaiterOnClose();
      for (int i = 0; i < fillingCount; i++) {
        if (filling[i] != null) {
          ChunkPool.give(filling[i]);
          filling[i] = null;
          given++;
          continue;
        }
        if (slabs == null) {
          slabs = new FrameSlab[fillingCount + writeTail - writeHead];
          slabBytes = new int[slabs.length];
        }
        slabs[ranges] = fillingSlab[i];
        slabBytes[ranges++] = fillingEnd[i] - fillingStart[i];
        fillingSlab[i] = null;
      }
      fillingCount = 0;
      fill = 0;
      for (int i = writeHead; i < writeTail; i++) {
        if (writingSlab[i] == null) {
          ChunkPool.give(writing[i]);
          given++;
        } else {
          if (slabs == null) {
            slabs = new FrameSlab[writeTail - writeHead];
            slabBytes = new int[slabs.length];
          }
          slabs[ranges] = writingSlab[i];
          slabBytes[ranges++] = writingEnd[i] - writingPos[i];
          writingSlab[i] = null;
        }
        writing[i] = null;
      }
      writeHead = writeTail = 0;
      queuedBytes = 0;
      notFull.signalAll();
      List<Runnable> resumed = drainSignals;
      drainSignals = null;
      return resumed;
    } finally {
      lock.unlock();
      if (given > 0) budget.release(given * (long) ChunkPool.CHUNK_SIZE); // Outside our lock.
      for (int i = 0; i < ranges; i++) slabs[i].release(slabBytes[i]);
      failWaiter(waiter);
    }
  }

  // ---- writability

  /** {@return true while the queued bytes are below the high water mark, or back at the low one} */
  boolean writable() {
    return writable;
  }

  /** {@return when the queue last turned unwritable, by {@link System#nanoTime()}} */
  long unwritableSince() {
    return unwritableSince;
  }

  /** {@return true if a future of {@link #whenWritable()} waits} Any thread, lock-free. */
  boolean hasWritableWaiter() {
    return writableWaiter != null;
  }

  /**
   * {@return a future completed when the queue is writable: at once if it is, else by {@link
   * #completeWritableWaiter()}; failed at once, or when sends are refused, with the {@code
   * IllegalStateException} a send would throw} Every caller in one unwritable spell gets the same
   * future.
   */
  CompletableFuture<Void> whenWritable() {
    lock.lock();
    try {
      if (closedReason != null) return CompletableFuture.failedFuture(new Closed(closedReason));
      if (writable) return CompletableFuture.completedFuture(null);
      CompletableFuture<Void> waiter = writableWaiter;
      if (waiter == null) writableWaiter = waiter = new CompletableFuture<>();
      return waiter;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Completes the future of {@link #whenWritable()}, if the queue is writable; its dependents run on
   * the calling thread, so the owner calls this where they may run.
   */
  void completeWritableWaiter() {
    CompletableFuture<Void> waiter;
    lock.lock();
    try {
      waiter = writableWaiter;
      if (waiter == null || !writable) return;
      writableWaiter = null;
    } finally {
      lock.unlock();
    }
    waiter.complete(null);
  }

  /** Marks the queue unwritable for good, sends being refused; returns the waiter to fail. Lock held. */
  private CompletableFuture<Void> takeWaiterOnClose() {
    writable = false;
    CompletableFuture<Void> waiter = writableWaiter;
    writableWaiter = null;
    return waiter;
  }

  private void failWaiter(CompletableFuture<Void> waiter) {
    if (waiter != null) waiter.completeExceptionally(new Closed(closedReason()));
  }

  private String closedReason() {
    lock.lock();
    try {
      return closedReason;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@return true if sends are refused and the caller asked to be told quietly} Throws {@code
   * IllegalStateException} with the reason if they are refused and it did not. Lock held.
   */
  private boolean refused(boolean quietly) {
    if (closedReason == null) return false;
    if (quietly) return true;
    throw new Closed(closedReason);
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

  private void compactOrGrow() {
    int live = writeTail - writeHead;
    if (writeHead == 0 || live >= writing.length / 2) {
      int n = writing.length * 2;
      writing = java.util.Arrays.copyOf(writing, n);
      writingSlab = java.util.Arrays.copyOf(writingSlab, n);
      writingPos = java.util.Arrays.copyOf(writingPos, n);
      writingEnd = java.util.Arrays.copyOf(writingEnd, n);
    }
    if (writeHead > 0) {
      System.arraycopy(writing, writeHead, writing, 0, live);
      System.arraycopy(writingSlab, writeHead, writingSlab, 0, live);
      System.arraycopy(writingPos, writeHead, writingPos, 0, live);
      System.arraycopy(writingEnd, writeHead, writingEnd, 0, live);
      java.util.Arrays.fill(writing, live, writeTail, null);
      java.util.Arrays.fill(writingSlab, live, writeTail, null);
    }
    writeHead = 0;
    writeTail = live;
  }

  /**
   * What a send to a closing or closed connection throws: an {@code IllegalStateException} to the
   * application, and a type of its own inside, so that a handler's send failing under a close can be
   * told from the handler's own bugs without reading messages.
   */
  static final class Closed extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    Closed(String reason) {
      super(reason);
    }
  }
}
