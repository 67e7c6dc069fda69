package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The I/O thread's side of one connection: it registers the socket, reads and decodes, hands out
 * packets, writes the send queue, shakes TLS hands, runs the close and the deadlines. {@link
 * PacketConn} is the application's face of it.
 *
 * <p>Thread rule: everything here runs on the connection's event loop, except {@link #send} and
 * {@link #beginClose}/{@link #abort} (any thread; they hand the rest to the loop through {@link
 * #request}) and {@link #pull()}, which a blocking receiver runs on its own thread holding {@code
 * decoderLock}.
 */
final class LoopTransport extends AbstractTransport implements EventLoop.Selectable, EventLoop.Timed, Liveness.Owner {
  private static final VarHandle REQUESTS;
  private static final VarHandle PACKETS_IN;
  private static final VarHandle BYTES_READ;
  private static final VarHandle BYTES_PULLED;
  private static final VarHandle QUEUES_HOLDING;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      REQUESTS = lookup.findVarHandle(LoopTransport.class, "requests", int.class);
      PACKETS_IN = lookup.findVarHandle(LoopTransport.class, "packetsIn", long.class);
      BYTES_READ = lookup.findVarHandle(LoopTransport.class, "bytesRead", long.class);
      BYTES_PULLED = lookup.findVarHandle(LoopTransport.class, "bytesPulled", long.class);
      QUEUES_HOLDING = lookup.findVarHandle(LoopTransport.class, "queuesHolding", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // Work other threads ask of the loop, as bits of one pending task: a burst of asks is one task.
  private static final int RESUME_QUEUE_FULL = 1; // A queue our handler overfilled drained.
  private static final int RESUME_QUEUED_BUDGET = 1 << 1; // The budget's queued account has room.
  private static final int RESUME_PARTIAL_BUDGET = 1 << 2; // Its partial account has room.
  private static final int END_OF_STREAM = 1 << 3; // A receiver read the peer's end.
  private static final int PAUSE_FOR_BUDGET = 1 << 4; // A receiver found the budget spent.
  private static final int WRITE = 1 << 5; // Write what is queued now (TLS: what the engine made).
  private static final int FLUSH = 1 << 6; // Write what is queued, honouring flushDelay.
  private static final int ARM_READ = 1 << 7; // A receiver drained the socket: watch it again.
  private static final int READ = 1 << 8; // TLS holds plaintext the selector cannot see.
  private static final int WRITABILITY = 1 << 9; // The send queue crossed a water mark.
  private static final int NOT_INLINE = READ | WRITABILITY; // From a task even on the loop: see request().

  final EventLoop loop;
  private final Wire wire; // The socket, or TLS over it.
  private final TlsChannel tls; // Null for plain TCP.
  private final PacketHandler handler; // Null: packets go to the inbox.
  private final FrameDecoder decoder;
  private final ReadInterest interest = new ReadInterest();
  private final Liveness liveness;
  private final FrameDecoder.Sink sink = this::deliver;
  private final Runnable runRequests = this::runRequests;
  // Signals this connection gives other queues and the budget, to resume reading: stable identities.
  final Runnable resumeAfterQueueFull = new QueueFullSignal();
  private final Runnable resumeAfterQueuedBudget = () -> request(RESUME_QUEUED_BUDGET);
  private final Runnable resumeAfterPartialBudget = () -> request(RESUME_PARTIAL_BUDGET);
  // Held by whoever uses the decoder of a connection whose receivers pull: the receiver's thread
  // while it reads and decodes, the I/O thread when it ends or releases the decoder.
  private final ReentrantLock decoderLock = new ReentrantLock();
  private final boolean delayedFlush; // flushDelay is set.
  private final long flushDelayNanos;
  private final long maxFlushDelayNanos; // maxFlushDelay, or flushDelay when that is zero.

  @SuppressWarnings("unused") // Through REQUESTS.
  private volatile int requests;
  private volatile boolean handshaking; // TLS: packets wait until the first handshake is done.
  private volatile boolean abortRequested; // abort() was called, from any thread; its finish() follows.
  @SuppressWarnings("unused") // Through QUEUES_HOLDING.
  private volatile int queuesHolding; // Queues our handler overfilled that have not drained yet.

  // Owned by the event loop.
  private SelectionKey key;
  private boolean opened; // Registered, and the handler's onOpen ran.
  private boolean inputEnded; // The peer's end of stream was read.
  private long flushDeadline;
  private long closeDeadline; // Flush by then, or abort; once lingering, linger until then.
  private long handshakeDeadline; // TLS: established by then, or fail.

  // Counters for stats(), written with setOpaque by their one writer at a time and read with
  // getOpaque: no lock, no fence and no allocation per packet, yet never a torn long.
  private long packetsIn; // By whoever decodes: the I/O thread, or a receiver under decoderLock.
  private long bytesRead; // By the I/O thread.
  private long bytesPulled; // By receivers, under decoderLock.

  LoopTransport(
      PacketConn conn,
      SocketChannel channel,
      PacketConfig config,
      PacketHandler handler,
      ReceiveQueue inbox,
      Consumer<PacketConn> onClosed,
      TlsChannel tls) {
    super(conn, channel, config, inbox, onClosed, tls != null);
    this.handler = handler;
    this.tls = tls;
    this.wire = tls != null ? tls : Wire.plain(channel);
    this.handshaking = tls != null;
    this.loop = EventLoop.next();
    this.decoder = new FrameDecoder(config.maxPacketSize(), config.crc(), config.memoryBudget());
    this.delayedFlush = !config.flushDelay().isZero();
    this.out =
        new SendQueue(
            config.sendQueueBytes(),
            config.crc(),
            config.memoryBudget(),
            delayedFlush,
            this::requestFlush,
            config.writeLowWaterMark(),
            config.writeHighWaterMark(),
            this::writabilityChanged,
            loop);
    this.liveness = new Liveness(config, handler != null);
    this.flushDelayNanos = config.flushDelay().toNanos();
    this.maxFlushDelayNanos =
        (config.maxFlushDelay().isZero() ? config.flushDelay() : config.maxFlushDelay()).toNanos();
  }

  // ---- for the application's face, any thread

  @Override
  public TlsChannel tls() {
    return tls;
  }

  @Override
  public boolean readingPaused() {
    return interest.backpressured();
  }

  @Override
  public ConnectionStats stats() {
    long in = (long) PACKETS_IN.getOpaque(this);
    long bytesIn = (long) BYTES_READ.getOpaque(this) + (long) BYTES_PULLED.getOpaque(this);
    return out.stats(in, bytesIn);
  }

  /** Hands the connection to its loop; nothing is read before this. */
  @Override
  public void start() {
    if (loop.inLoop()) {
      register();
    } else {
      loop.execute(this::register);
    }
  }

  /**
   * The signal this connection leaves with each queue its handler overfills: it reads again once
   * every one of them has drained, not when the first does (a healthy reader's queue draining must
   * not let a talker go on filling a dead reader's). Counted up under the queue's lock, on this
   * connection's loop; counted down by whichever thread drains or discards the queue.
   */
  private final class QueueFullSignal implements Runnable, SendQueue.Holding {
    @Override
    public void held() {
      QUEUES_HOLDING.getAndAdd(LoopTransport.this, 1);
    }

    @Override
    public void run() {
      if ((int) QUEUES_HOLDING.getAndAdd(LoopTransport.this, -1) == 1) request(RESUME_QUEUE_FULL);
    }
  }

  /**
   * Stops reading this connection, whose handler's send went past another queue's bound or the
   * {@code budget} as {@code overflow} says, until that queue drains or the budget has room.
   */
  void pushedBack(SendQueue.Overflow overflow, MemoryBudget budget, PacketConn sendingTo) {
    if (overflow.pastBound()) {
      events.paused(BackpressureEvent.SEND_QUEUE_FULL, sendingTo);
      interest.pause(ReadInterest.Pause.QUEUE_FULL); // The peer fills it up.
    }
    if (overflow.pastBudget()) {
      events.paused(BackpressureEvent.QUEUED_BUDGET, null);
      interest.pause(ReadInterest.Pause.QUEUED_BUDGET);
      if (!budget.pauseSourceUntilRoom(resumeAfterQueuedBudget)) resume(ReadInterest.Pause.QUEUED_BUDGET);
    }
  }

  /** Asks for the queued frames to be written: after the current read on the loop, else soon. */
  private void requestFlush() {
    if (loop.inLoop()) {
      loop.scheduleFlush(this); // Written after the current read: one write per read batch.
    } else {
      request(FLUSH);
    }
  }

  /** Writes what is queued now, without waiting for flushDelay. */
  @Override
  public void flushNow() {
    if (loop.inLoop()) {
      flushOnLoop(true);
    } else {
      request(WRITE);
    }
  }

  /** Starts a graceful close; returns false if the connection was already closing or closed. */
  @Override
  public boolean beginClose() {
    if (state != State.OPEN) return false;
    out.refuse("closed"); // Before the state changes, so no send slips in behind the flush.
    if (!STATE.compareAndSet(this, State.OPEN, State.CLOSING)) return false;
    if (inbox != null) inbox.end(null, true);
    if (loop.inLoop()) {
      closeOnLoop();
    } else {
      loop.execute(this::closeOnLoop);
    }
    return true;
  }

  /** Closes at once with {@code why} (null: the application asked), dropping what is queued. */
  @Override
  public void abort(Throwable why, boolean byApplication) {
    if (state != State.CLOSED && byApplication) aborted = true;
    abortRequested = true; // Before the state changes: register() must not start a graceful close.
    if (inbox != null) inbox.end(why, true); // Also after a failure: nobody will receive them.
    out.refuse("closed");
    STATE.compareAndSet(this, State.OPEN, State.CLOSING);
    if (loop.inLoop()) {
      finish(why, true);
    } else {
      loop.execute(() -> finish(why, true));
    }
  }

  /**
   * Asks the loop for {@code work}: done now on the loop itself (but a read, which waits its turn,
   * and a writability change, whose callback must not run inside a send or a write), else one task
   * however many asks come before it runs.
   */
  private void request(int work) {
    if (loop.inLoop() && (work & NOT_INLINE) == 0) {
      runRequests(work);
    } else if ((int) REQUESTS.getAndBitwiseOr(this, work) == 0) {
      loop.execute(runRequests); // Nothing was pending: no task is on its way yet.
    }
  }

  private void runRequests() {
    runRequests((int) REQUESTS.getAndSet(this, 0));
  }

  private void runRequests(int work) {
    if ((work & RESUME_QUEUE_FULL) != 0 && (int) QUEUES_HOLDING.getVolatile(this) == 0) {
      resume(ReadInterest.Pause.QUEUE_FULL); // Unless a queue overfilled since holds it again.
    }
    if ((work & RESUME_QUEUED_BUDGET) != 0) resume(ReadInterest.Pause.QUEUED_BUDGET);
    if ((work & RESUME_PARTIAL_BUDGET) != 0) resume(ReadInterest.Pause.PARTIAL_BUDGET);
    if ((work & END_OF_STREAM) != 0) endOfStream();
    if ((work & PAUSE_FOR_BUDGET) != 0) pauseForBudget();
    if ((work & WRITE) != 0) flushOnLoop(true);
    if ((work & FLUSH) != 0) flushOnLoop(false);
    if ((work & ARM_READ) != 0 && state == State.OPEN) interest.resume(ReadInterest.Pause.RECEIVER);
    if ((work & READ) != 0) read();
    if ((work & WRITABILITY) != 0) writabilityChangedOnLoop();
  }

  // ---- writability

  /**
   * The send queue crossed a water mark, on whichever thread moved it: tells the handler and the
   * waiting futures on the loop, if anyone listens. Nothing is asked of the loop otherwise.
   */
  private void writabilityChanged() {
    if (handler != null || out.hasWritableWaiter()) request(WRITABILITY);
  }

  /** Completes the waiting futures if writable, then calls the handler: from a task on the loop. */
  private void writabilityChangedOnLoop() {
    out.completeWritableWaiter();
    if (handler == null || state != State.OPEN) return;
    try {
      handler.onWritabilityChanged(conn);
    } catch (Throwable t) {
      handlerFailed = true;
      finish(t, false);
    }
  }

  // ---- the event loop's side

  private void register() {
    try {
      key = channel.register(loop.selector(), SelectionKey.OP_READ, this);
    } catch (IOException | RuntimeException e) {
      finish(e, true);
      return;
    }
    interest.attach(key);
    opened = true;
    events.opened();
    mbean = Transport.registerMBean(conn, this::stats);
    if (liveness.on()) {
      liveness.arm(System.nanoTime());
      loop.addTimer(this); // For the connection's life: each check returns the next deadline.
    }
    if (tls != null) { // Before a close that came first: its packets go out once hands are shaken.
      handshakeDeadline = System.nanoTime() + config.tls().handshakeTimeout().toNanos();
      loop.addTimer(this);
      events.handshakeBegins();
      try {
        tls.begin();
      } catch (IOException e) {
        finish(e, true);
        return;
      }
    }
    if (state == State.CLOSING) { // Closed before it was registered: the close could not flush yet.
      if (abortRequested) return; // An abort's finish() is queued behind us: no graceful FIN first.
      closeOnLoop();
      if (tls != null) handshake();
      return;
    }
    if (handler != null) {
      try {
        handler.onOpen(conn);
      } catch (Throwable t) {
        handlerFailed = true;
        finish(t, true);
        return;
      }
    }
    if (tls != null) handshake();
  }

  /** Moves the TLS handshake on; once done, lets the packets queued meanwhile and those that came flow. */
  private void handshake() {
    if (state == State.CLOSED) return;
    boolean done;
    try {
      done = tls.flush() & tls.handshake();
    } catch (IOException e) {
      finish(e, true);
      return;
    }
    writeInterest(tls.wantsWrite());
    if (!done) return;
    handshaking = false;
    handshakeDeadline = 0;
    events.handshakeDone(tls.engine());
    established.complete(null);
    out.takeFilled();
    writeNow(); // What was sent during the handshake.
    readBufferedTls(); // What came with the handshake's last flight.
  }

  /** Reads what TLS holds already decrypted or whole: the selector will not say it is there. */
  private void readBufferedTls() {
    if (state == State.CLOSED || interest.backpressured() || inputEnded || !tls.hasBufferedInput()) return;
    if (inbox != null && state == State.OPEN) {
      inbox.readable();
    } else {
      request(READ); // From a task, not now: let other connections in.
    }
  }

  @Override
  public void ready(SelectionKey key) {
    if (!key.isValid()) return;
    if (handshaking) {
      handshake();
      loop.runFlushes();
      return;
    }
    int ops = key.readyOps();
    if ((ops & SelectionKey.OP_WRITE) != 0) {
      out.takeFilled();
      writeNow();
    }
    if ((ops & SelectionKey.OP_READ) != 0 && state != State.CLOSED && interest.reading()) {
      if (liveness.watchesReads()) liveness.readNow(); // Per wake-up, not per packet.
      if (inbox != null && state == State.OPEN) {
        interest.pause(ReadInterest.Pause.RECEIVER); // The receiver reads on its thread: see pull().
        inbox.readable();
      } else {
        read();
      }
    }
    loop.runFlushes(); // Everything the callbacks sent: one write per connection per read.
  }

  private void read() {
    if (state == State.CLOSED) return;
    if (overBudget()) {
      pauseForBudget();
      return;
    }
    int size = config.readBufferSize();
    ByteBuffer buffer = loop.readBuffer(size);
    for (int reads = 0; reads < 4; reads++) { // A few reads per wake-up, then let others in.
      int n;
      try {
        n = wire.read(buffer);
      } catch (IOException e) {
        finish(e, false);
        return;
      }
      if (n < 0) {
        endOfStream();
        break;
      }
      if (n == 0) break;
      BYTES_READ.setOpaque(this, bytesRead + n);
      buffer.flip();
      if (state != State.OPEN) {
        buffer.clear().limit(size); // Closing: the peer's packets are no longer wanted.
      } else {
        loop.dispatching = this;
        try {
          decoder.decode(buffer, sink);
        } catch (Throwable t) {
          finish(t, false);
          return;
        } finally {
          loop.dispatching = null;
        }
      }
      if (state == State.CLOSED || !interest.reading() || n < size) break;
      if (overBudget()) {
        pauseForBudget();
        break;
      }
      buffer.clear().limit(size);
    }
    if (tls != null && state != State.CLOSED && key.isValid()) { // Answer what TLS must; come back.
      writeInterestOn(tls.wantsWrite());
      readBufferedTls();
    }
  }

  private boolean deliver(Packet packet) throws Exception {
    if (state != State.OPEN) {
      packet.release(); // Closing or closed: nobody will take it.
      return false;
    }
    PACKETS_IN.setOpaque(this, packetsIn + 1);
    if (handler != null) {
      try {
        handler.onPacket(conn, packet);
      } catch (Throwable t) {
        handlerFailed = true; // Not the peer's fault, unlike what the decoder throws.
        throw t;
      }
    } else {
      inbox.addPulled(packet); // Only receivers decode for the inbox: see pull().
    }
    return state == State.OPEN;
  }

  private void endOfStream() {
    if (state == State.CLOSED || inputEnded) return;
    inputEnded = true;
    interest.pause(ReadInterest.Pause.INPUT_ENDED);
    if (state != State.OPEN) { // Closing: what the peer sent no longer matters, only that it ended.
      releaseDecoder();
      if (state == State.LINGERING) finish(null, true);
      return;
    }
    EOFException truncated = null;
    decoderLock.lock();
    try {
      decoder.endOfStream();
    } catch (EOFException e) {
      truncated = e;
    } finally {
      decoderLock.unlock();
    }
    if (truncated != null) {
      finish(truncated, false);
      return;
    }
    if (handler != null) {
      beginClose(); // Every callback has run: close gracefully.
    } else {
      inbox.end(null, false); // Receivers see the end; sending works until close().
    }
  }

  private void closeOnLoop() {
    if (state == State.CLOSED) return;
    // Input is discarded from now on, by the I/O thread also where receivers pulled; reading keeps
    // both sides' flushes moving.
    interest.resumeForClose();
    events.resumed();
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    loop.addTimer(this);
    flushOnLoop(true);
  }

  /** Writes what is queued; unless {@code forced}, not before flushDelay says so. Loop only. */
  void flushOnLoop(boolean forced) {
    if (state == State.CLOSED || key == null) return;
    if (delayedFlush && !forced && state == State.OPEN) {
      long due = out.flushDue(flushDelayNanos, maxFlushDelayNanos);
      if (System.nanoTime() - due < 0) {
        flushDeadline = due;
        loop.addTimer(this);
        return;
      }
    }
    flushDeadline = 0;
    out.takeFilled();
    writeNow();
  }

  private void writeNow() {
    if (state == State.CLOSED || handshaking) return; // TLS: the handshake writes first.
    List<Runnable> drained;
    boolean wirePending;
    try {
      drained = out.write(wire, config.writeBufferSize());
      wirePending = !wire.flush();
    } catch (IOException e) {
      finish(e, false);
      return;
    }
    boolean waiting = out.hasWriting() || wirePending; // TLS records the socket did not take count.
    if (liveness.watchesWrites()) liveness.noteWrite(out.writtenBytes(), waiting);
    if (drained != null) {
      for (Runnable signal : drained) signal.run();
    }
    writeInterest(waiting);
    if (!waiting && state == State.CLOSING && out.isEmpty()) shutdownOutput();
  }

  private void shutdownOutput() {
    try {
      wire.closeOutbound(); // TLS: the closing alert first; writeNow() comes back here once it is out.
      if (!wire.flush()) {
        writeInterest(true);
        return;
      }
      channel.shutdownOutput();
    } catch (IOException e) {
      finish(e, false);
      return;
    }
    state = State.LINGERING;
    outputClosed.complete(null);
    if (inputEnded) {
      finish(null, true);
      return;
    }
    // Keep reading until the peer's end, so unread bytes do not turn our close into a reset that
    // could destroy packets the peer has not read yet.
    releaseDecoder();
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    loop.addTimer(this);
    interest.resumeForClose();
  }

  /** Sets OP_WRITE on or off. Loop only: with {@link ReadInterest}, the only writers of the key's ops. */
  private void writeInterest(boolean on) {
    if (key == null || !key.isValid()) return;
    int ops = key.interestOps();
    int wanted = on ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE;
    if (wanted != ops) key.interestOps(wanted);
  }

  /** Sets OP_WRITE on if {@code on}; never off (what is queued may still want it). */
  private void writeInterestOn(boolean on) {
    if (on) writeInterest(true);
  }

  @Override
  public long onTimer(long now) {
    if (flushDeadline != 0 && now - flushDeadline >= 0) flushOnLoop(false);
    if (closeDeadline != 0 && now - closeDeadline >= 0 && state != State.CLOSED) {
      if (state == State.LINGERING) {
        finish(null, true); // The peer never closed its side: enough lingering.
      } else {
        finish(
            new SocketTimeoutException(
                "close timed out after " + config.closeTimeout().toMillis() + " ms with "
                    + out.queuedBytes() + " bytes unwritten; aborted"),
            true);
      }
    }
    if (handshakeDeadline != 0 && now - handshakeDeadline >= 0 && state != State.CLOSED) {
      finish(
          new SocketTimeoutException(
              "TLS handshake with " + PacketConn.format(conn.remoteAddress()) + " not finished after "
                  + config.tls().handshakeTimeout().toMillis() + " ms"),
          true);
    }
    long live;
    if (state == State.OPEN) {
      live = liveness.check(now, this);
    } else {
      liveness.stop(); // Closing: closeTimeout rules from now on.
      live = 0;
    }
    if (state == State.CLOSED) return 0;
    return Liveness.earliest(live, Liveness.earliest(Liveness.earliest(flushDeadline, closeDeadline), handshakeDeadline));
  }

  // ---- Liveness.Owner

  @Override
  public boolean waitingForPeer() {
    return !inputEnded && key.isValid() && interest.reading();
  }

  @Override
  public boolean idle() {
    try {
      handler.onIdle(conn);
    } catch (Throwable t) {
      handlerFailed = true;
      finish(t, false);
      return false;
    }
    return state == State.OPEN;
  }

  @Override
  public void timedOut(SocketTimeoutException why) {
    finish(why, false);
  }

  @Override
  public void writeStalled(long stalledNanos) {
    events.writeStalled(stalledNanos, out.queuedBytes());
  }

  // ---- memory budget and pauses

  /**
   * {@return true if the budget's account of partly received frames is spent and this connection
   * must not read (see {@link MemoryBudget}): what it reads might be kept}
   */
  private boolean overBudget() {
    return state == State.OPEN && !config.memoryBudget().mayRead(decoder); // Closing: nothing is kept.
  }

  /** Stops reading until the budget has room, unless it lets this connection finish its frame. */
  private void pauseForBudget() {
    if (state == State.CLOSED) return;
    events.paused(BackpressureEvent.PARTIAL_BUDGET, null);
    interest.pause(ReadInterest.Pause.PARTIAL_BUDGET);
    interest.resume(ReadInterest.Pause.RECEIVER); // Resuming reads again, and tells the receivers.
    boolean holding;
    decoderLock.lock(); // A receiver may be decoding.
    try {
      holding = decoder.held() > 0; // Only a frame that holds budget can finish and free it.
    } finally {
      decoderLock.unlock();
    }
    if (!config.memoryBudget().pauseReaderUntilRoom(resumeAfterPartialBudget, holding ? decoder : null)) {
      resume(ReadInterest.Pause.PARTIAL_BUDGET);
    }
  }

  private void resume(ReadInterest.Pause reason) {
    if (state == State.CLOSED) return;
    boolean reading = interest.resume(reason);
    if (!interest.backpressured()) events.resumed();
    if (reading && tls != null && !handshaking) readBufferedTls();
  }

  /**
   * Reads and decodes for a receiver, on its thread, while its queue is empty (see {@link
   * ReceiveQueue}). End of stream and failures are handed to the I/O thread, which owns closing;
   * receivers see them when it ends the queue.
   */
  @Override
  public void pull() {
    if (state != State.OPEN) return; // Closing: the I/O thread discards input from now on.
    ByteBuffer buffer = ReadBuffers.take(config.readBufferSize());
    decoderLock.lock();
    try {
      if (overBudget()) {
        request(PAUSE_FOR_BUDGET); // Resuming says readable() again.
        return;
      }
      if (handshaking) return; // The I/O thread shakes hands; it says readable() when done.
      int n = state != State.OPEN ? 0 : wire.read(buffer);
      if (n < 0) {
        request(END_OF_STREAM);
        return;
      }
      if (n > 0) {
        BYTES_PULLED.setOpaque(this, bytesPulled + n);
        if (liveness.watchesReads()) liveness.readNow();
        buffer.flip();
        decoder.decode(buffer, sink);
      }
      if (tls != null && tls.wantsWrite()) request(WRITE); // A reply TLS must send.
      if (overBudget()) {
        request(PAUSE_FOR_BUDGET);
      } else if (n == buffer.capacity() || (tls != null && tls.hasBufferedInput())) {
        inbox.readable(); // Probably more: the next take reads again at once.
      } else {
        request(ARM_READ); // Drained: the I/O thread says when there is more.
      }
    } catch (Throwable t) {
      loop.execute(() -> finish(t, false));
    } finally {
      decoderLock.unlock();
      ReadBuffers.give(buffer);
    }
  }

  private void releaseDecoder() {
    decoderLock.lock();
    try {
      decoder.release();
    } finally {
      decoderLock.unlock();
    }
  }

  /** Ends the connection: closes the socket and frees what it held. Loop only; once. */
  private void finish(Throwable why, boolean discardReceived) {
    if (state == State.CLOSED) return;
    state = State.CLOSED;
    cause = why;
    if (key != null) key.cancel();
    Transport.close(channel, why, aborted); // A reset unless clean; sent when the key leaves the selector.
    releaseDecoder();
    List<Runnable> drained = out.discard(why == null ? "closed" : "closed: " + why);
    if (drained != null) {
      for (Runnable signal : drained) signal.run();
    }
    if (inbox != null) inbox.end(why, discardReceived);
    if (handler != null && opened) {
      try {
        handler.onClose(conn, why);
      } catch (Throwable t) {
        EventLoop.logSafely(Level.WARNING, "onClose failed for " + conn, t);
      }
    }
    ended(why);
  }
}
