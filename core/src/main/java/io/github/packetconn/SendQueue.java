package io.github.packetconn;

import java.io.IOException;
import java.nio.channels.GatheringByteChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The frames a connection has accepted but not yet written, bounded by bytes: the face of the send
 * path. Under one short lock a send is admitted ({@link Admission}: the bound, the budget, senders
 * waiting in line), encoded into the {@link FillList}, counted, and the queue says, after
 * unlocking, whether the writer must be asked to flush and whether it turned unwritable.
 *
 * <p>Senders encode each frame straight into pooled direct chunks, so the caller may release its
 * packet as soon as {@code send} returns and a frame costs one copy before the kernel's; a frame
 * sent to many connections may instead be held as a range of a {@link FrameSlab} it was encoded
 * into once. The writer (the connection's event loop, or a plain blocking connection's writer
 * thread) takes all filled chunks at once ({@link #takeFilled()}) into its {@link WriteList} and
 * writes them without holding the lock: one gathering write per ready connection, however many
 * senders.
 *
 * <p><b>Writability</b> ({@link Writability}): unwritable at the high water mark, writable again at
 * the low one, told to the owner through a callback on the thread that moved it across, a sender's
 * or the writer's. Per frame this costs one comparison under the lock the frame takes anyway;
 * nothing is allocated.
 *
 * <p>Threads: senders on any thread; {@link #takeFilled}, {@link #write}, {@link #hasWriting},
 * {@link #writtenBytes} and {@link #discard} on the writer only; the rest is guarded by the lock.
 */
final class SendQueue {
  private final ReentrantLock lock = new ReentrantLock();
  private final MemoryBudget budget; // Counts the chunks this queue holds.
  private final Runnable flushRequest; // Asks the loop to write; run when a frame lands unasked.
  private final Runnable writabilityChanged; // Run after unlocking, when writable flipped.
  private final boolean timed; // flushDelay is on: frames are stamped when queued.
  private final FillList filling; // Frames accepted since the writer last took them; under lock.
  private final WriteList writing; // Frames taken and not yet written; the writer's alone.
  private final Admission admission; // Room, and who waits for it; under lock.
  private final Writability writability; // Changed under lock; read anywhere.

  // Guarded by lock.
  private boolean flushPending; // A flush has been requested since the last takeFilled().
  private long firstQueuedNanos; // When the oldest unflushed frame was queued (flush delay only).
  private long lastQueuedNanos;
  private long appended; // Packets accepted, ever; for stats.
  private long written; // Bytes written, ever; for stats. Only the writer changes it.
  private long writes; // Write system calls that wrote something; for stats.

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
    this.budget = budget;
    this.timed = timed;
    this.flushRequest = flushRequest;
    this.writabilityChanged = writabilityChanged;
    this.filling = new FillList(crc, Math.max(2, bound / FrameSlab.SIZE)); // Slabs its bound holds.
    this.writing = new WriteList(writer != null ? writer.index : -1, budget); // -1: never shares.
    this.admission = new Admission(bound, budget, filling, lock.newCondition());
    this.writability = new Writability(lowWater, highWater);
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
    return enqueue(packet, shared, timeoutNanos, false, quietIfClosed, null) != Overflow.REFUSED;
  }

  /**
   * Queues {@code packet} from an I/O thread, which must never wait. Without room, a {@code
   * mayOverflow} send (a blocking {@code send}) is queued anyway, past the bound or the budget, and
   * the caller stops reading the connection whose packet it is handling; {@code onDrained}, that
   * connection's signal, runs once this queue drains. Without room and without {@code mayOverflow},
   * nothing is queued.
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
    return enqueue(packet, shared, 0, mayOverflow, quietIfClosed, onDrained);
  }

  /**
   * Admits and queues one frame, for {@link #offer(Packet, SharedFrame, long, boolean)} and {@link
   * #offerOnLoop(Packet, SharedFrame, boolean, boolean, Runnable)}: without room it queues past the
   * bound or the budget if {@code mayOverflow}, else waits up to {@code timeoutNanos}. Then, after
   * unlocking, it asks for a flush if none is pending and says if the queue turned unwritable.
   */
  private Overflow enqueue(
      Packet packet, SharedFrame shared, long timeoutNanos, boolean mayOverflow, boolean quietIfClosed,
      Runnable onDrained) {
    boolean share = shares(shared);
    int frame = share ? shared.length() : filling.frameSize(packet);
    Overflow overflow = Overflow.NONE;
    boolean unwritable;
    boolean flush;
    long refund = 0;
    lock.lock();
    try {
      if (admission.refused(quietIfClosed)) return Overflow.REFUSED;
      if (share && !filling.mayHold(shared)) share = false; // Copied instead: the same bytes.
      long chunkBytes = admission.chunkBytes(frame, share);
      if (!admission.admitted(frame, chunkBytes)) {
        if (mayOverflow) {
          overflow = admission.overflow(frame, share, onDrained);
        } else if (timeoutNanos == 0 || !admission.await(frame, share, timeoutNanos, quietIfClosed, this)) {
          return Overflow.REFUSED;
        }
        chunkBytes = admission.chunkBytes(frame, share); // What was taken: a wait may have changed it.
      }
      refund = chunkBytes; // Kept if the encoding throws: nothing was queued.
      if (share) {
        filling.append(shared);
      } else {
        filling.encode(packet, frame, chunkBytes);
      }
      refund = 0;
      appended++;
      unwritable = writability.afterQueued(admission.queued(frame));
      flush = markUnflushed();
    } finally {
      admission.wakeWaiting(); // The next in line may fit now.
      lock.unlock();
      if (refund > 0) budget.release(refund); // After unlocking: a release may take other queues' locks.
    }
    if (flush) flushRequest.run();
    if (unwritable) writabilityChanged.run();
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

  /**
   * {@return true if this queue can hold {@code shared} as a range of its slab: it counts its memory
   * in the frame's budget, and frames it with a CRC if the frame has one} Any thread; reads only
   * final fields.
   */
  boolean shares(SharedFrame shared) {
    return shared != null && shared.budget() == budget && shared.crc() == filling.crc();
  }

  /**
   * Stamps the frame just queued (flush delay only). Lock held.
   *
   * @return true if it is the first since the writer last took the filled chunks: a flush must be
   *     asked for
   */
  private boolean markUnflushed() {
    if (timed) {
      lastQueuedNanos = System.nanoTime();
      if (!flushPending) firstQueuedNanos = lastQueuedNanos;
    }
    if (flushPending) return false;
    flushPending = true;
    return true;
  }

  /** Wakes the senders waiting here: the budget has room again. */
  void budgetReleased() {
    lock.lock();
    try {
      admission.wakeAll();
    } finally {
      lock.unlock();
    }
  }

  /** {@return how many senders wait for room; for tests} */
  int waiting() {
    lock.lock();
    try {
      return admission.waiting();
    } finally {
      lock.unlock();
    }
  }

  /** {@return the bytes accepted and not yet written} */
  long queuedBytes() {
    lock.lock();
    try {
      return admission.queuedBytes();
    } finally {
      lock.unlock();
    }
  }

  /** {@return true if no frame waits to be written, taken or not} */
  boolean isEmpty() {
    return queuedBytes() == 0;
  }

  /**
   * {@return the packets accepted, bytes written, write calls and bytes queued, at one instant, in a
   * {@link ConnectionStats} with {@code packetsIn} and {@code bytesIn} given}
   */
  ConnectionStats stats(long packetsIn, long bytesIn) {
    lock.lock();
    try {
      return new ConnectionStats(packetsIn, bytesIn, appended, written, admission.queuedBytes(), writes);
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

  /** Moves every filled chunk and range behind the ones being written. Writer only. */
  void takeFilled() {
    lock.lock();
    try {
      flushPending = false;
      filling.moveTo(writing);
    } finally {
      lock.unlock();
    }
  }

  /** {@return the bytes written since the queue was made} Writer only. */
  long writtenBytes() {
    return writing.writtenBytes();
  }

  /** {@return true if taken chunks still wait to be written} Writer only. */
  boolean hasWriting() {
    return writing.hasWriting();
  }

  /**
   * Writes taken chunks, at most about {@code maxBytes} per system call, until they are all written
   * or the socket is full. Writer only.
   *
   * @return the drain signals to run, if this write drained the queue below half its
   *     bound; otherwise null
   */
  List<Runnable> write(GatheringByteChannel channel, int maxBytes) throws IOException {
    List<Runnable> drained = null;
    boolean nowWritable = false;
    try {
      writing.write(channel, maxBytes);
    } finally { // Also when a write fails: what was written is counted.
      long total = writing.writtenBytes() - written; // Only the writer changes written: read without lock.
      if (total > 0) {
        lock.lock();
        try {
          written += total;
          writes = writing.writeCalls();
          filling.rangesWritten(writing.rangesFinished()); // Only the writer changes it.
          drained = admission.written(total);
          nowWritable = admission.closedReason() == null && writability.afterWritten(admission.queuedBytes());
        } finally {
          lock.unlock();
        }
      }
      if (nowWritable) writabilityChanged.run();
    }
    return drained;
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
    String why;
    lock.lock();
    try {
      why = admission.refuse(reason);
      waiter = writability.close();
    } finally {
      lock.unlock();
    }
    if (waiter != null) waiter.completeExceptionally(new Closed(why));
  }

  /**
   * Refuses further sends and drops every queued frame, returning chunks to the pool and ranges'
   * bytes to their slabs. Writer only.
   *
   * @return the drain signals waiting for this queue to drain
   */
  List<Runnable> discard(String reason) {
    CompletableFuture<Void> waiter = null;
    String why = null;
    lock.lock();
    try {
      why = admission.refuse(reason);
      waiter = writability.close();
      filling.moveTo(writing); // Dropped with the rest, below.
      return admission.clear();
    } finally {
      lock.unlock();
      writing.discard(); // Outside our lock: giving budget back may take other queues' locks.
      if (waiter != null) waiter.completeExceptionally(new Closed(why));
    }
  }

  // ---- writability

  /** {@return true while the queued bytes are below the high water mark, or back at the low one} */
  boolean writable() {
    return writability.writable();
  }

  /** {@return when the queue last turned unwritable, by {@link System#nanoTime()}} */
  long unwritableSince() {
    return writability.unwritableSince();
  }

  /** {@return true if a future of {@link #whenWritable()} waits} Any thread, lock-free. */
  boolean hasWritableWaiter() {
    return writability.hasWaiter();
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
      String closedReason = admission.closedReason();
      if (closedReason != null) return CompletableFuture.failedFuture(new Closed(closedReason));
      return writability.whenWritable();
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
      waiter = writability.takeWaiterIfWritable();
    } finally {
      lock.unlock();
    }
    if (waiter != null) waiter.complete(null);
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
