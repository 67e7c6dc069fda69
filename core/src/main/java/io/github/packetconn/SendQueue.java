package io.github.packetconn;

import java.io.IOException;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The frames a connection has accepted but not yet written, bounded by bytes: the face of the send
 * path, which admits senders, counts what is queued and says when the writer has work.
 *
 * <p>Senders encode each frame straight into pooled direct chunks under a short lock (a {@link
 * FillList}), so the caller may release its packet as soon as {@code send} returns and a frame costs
 * one copy before the kernel's. The writer (the connection's event loop, or a plain blocking
 * connection's writer thread) takes all filled chunks at once ({@link #takeFilled()}) into its
 * {@link WriteList}, then writes them without holding the lock: one gathering write per ready
 * connection, however many senders.
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
 *
 * <p>Threads: senders on any thread, the writer alone for {@link #takeFilled}, {@link #write}, {@link
 * #hasWriting}, {@link #writtenBytes} and {@link #discard}; the state is guarded by the lock, the
 * write list by being the writer's.
 */
final class SendQueue {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private final int bound;
  private final MemoryBudget budget; // Counts the chunks this queue holds.
  private final Runnable flushRequest; // Asks the loop to write; run when a frame lands unasked.
  private final Runnable writabilityChanged; // Run after unlocking, when writable flipped.
  private final boolean timed; // flushDelay is on: frames are stamped when queued.
  private final FillList filling; // Frames accepted since the writer last took them; guarded by lock.
  private final WriteList writing; // Frames taken and not yet written; the writer's alone.
  private final Writability writability; // Changed under lock; read anywhere.

  // Guarded by lock.
  private long queuedBytes; // Accepted and not yet written.
  private boolean flushPending; // A flush has been requested since the last takeFilled().
  private String closedReason; // Non-null once sends are refused.
  private final ArrayDeque<Thread> waiting = new ArrayDeque<>(); // FIFO.
  private List<Runnable> drainSignals; // Run once when the queue drains below half its bound.
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
    this.bound = bound;
    this.budget = budget;
    this.timed = timed;
    this.flushRequest = flushRequest;
    this.writabilityChanged = writabilityChanged;
    this.filling = new FillList(crc);
    this.writing = new WriteList(writer != null ? writer.index : -1, budget); // -1: never shares.
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
      if (refused(quietIfClosed)) return Overflow.REFUSED;
      if (!admitted(frame, share)) {
        if (mayOverflow) {
          overflow = overflow(frame, share, onDrained);
        } else if (timeoutNanos == 0 || !await(frame, share, timeoutNanos, quietIfClosed)) {
          return Overflow.REFUSED;
        }
      }
      refund = chunkBytes(frame, share); // Kept if the encoding throws: nothing was queued.
      if (share) {
        filling.append(shared);
      } else {
        filling.encode(packet, frame);
      }
      refund = 0;
      unwritable = countQueued(frame);
      flush = markUnflushed();
    } finally {
      if (!waiting.isEmpty()) notFull.signalAll(); // The next in line may fit now.
      lock.unlock();
      if (refund > 0) budget.release(refund); // After unlocking: a release may take other queues' locks.
    }
    if (flush) flushRequest.run();
    if (unwritable) writabilityChanged.run();
    return overflow;
  }

  /**
   * Takes room for {@code frame} past the bound or the budget, for a caller that may not wait but
   * will pause its source until {@code onDrained} runs. Lock held.
   *
   * @return how far past
   */
  private Overflow overflow(int frame, boolean share, Runnable onDrained) {
    boolean pastBound = full(frame);
    if (pastBound && onDrained != null) whenDrained(onDrained);
    long chunkBytes = chunkBytes(frame, share);
    boolean pastBudget = !budget.tryAcquire(chunkBytes);
    if (pastBudget) budget.acquire(chunkBytes); // The caller pauses its source until room.
    return pastBound && pastBudget ? Overflow.BOUND_AND_BUDGET : pastBound ? Overflow.BOUND
        : pastBudget ? Overflow.BUDGET : Overflow.NONE; // None: room, but others wait in line.
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
   * {@return true if this queue can hold {@code shared} as a range of its slab: it is written by an
   * event loop (whose view of the slab it writes from), counts its memory in the frame's budget, and
   * frames it with a CRC if the frame has one} Any thread; reads only final fields.
   */
  boolean shares(SharedFrame shared) {
    return shared != null && writing.writerLoop() >= 0 && shared.budget() == budget && shared.crc() == filling.crc();
  }

  /**
   * {@return true if {@code frame} may be queued at once: it fits the bound, nobody waits before
   * it, and its chunks were taken from the budget (a {@code shared} frame needs none)} Lock held.
   */
  private boolean admitted(int frame, boolean shared) {
    return !full(frame) && waiting.isEmpty() && budget.tryAcquire(chunkBytes(frame, shared));
  }

  /** {@return the budget {@code frame} bytes take in new chunks: none if {@code shared}} Lock held. */
  private long chunkBytes(int frame, boolean shared) {
    return shared ? 0 : filling.chunkBytes(frame);
  }

  /**
   * Counts a frame of {@code frame} bytes as queued. Lock held.
   *
   * @return true if it took the queue to its high water mark: it turned unwritable
   */
  private boolean countQueued(int frame) {
    queuedBytes += frame;
    appended++;
    return writability.afterQueued(queuedBytes);
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
          long chunkBytes = chunkBytes(frame, shared);
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
    return queuedBytes() == 0;
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
          queuedBytes -= total;
          written += total;
          writes = writing.writeCalls();
          if (!waiting.isEmpty()) notFull.signalAll();
          if (drainSignals != null && queuedBytes <= bound / 2) {
            drained = drainSignals;
            drainSignals = null;
          }
          nowWritable = closedReason == null && writability.afterWritten(queuedBytes);
        } finally {
          lock.unlock();
        }
      }
      if (nowWritable) writabilityChanged.run();
    }
    return drained;
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
    String why;
    lock.lock();
    try {
      if (closedReason == null) closedReason = reason;
      why = closedReason;
      notFull.signalAll();
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
      if (closedReason == null) closedReason = reason;
      why = closedReason;
      waiter = writability.close();
      filling.moveTo(writing); // Dropped with the rest, below.
      queuedBytes = 0;
      notFull.signalAll();
      List<Runnable> resumed = drainSignals;
      drainSignals = null;
      return resumed;
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
   * {@return true if sends are refused and the caller asked to be told quietly} Throws {@code
   * IllegalStateException} with the reason if they are refused and it did not. Lock held.
   */
  private boolean refused(boolean quietly) {
    if (closedReason == null) return false;
    if (quietly) return true;
    throw new Closed(closedReason);
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
