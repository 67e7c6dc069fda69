package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.function.Consumer;

/**
 * The I/O thread's side of one connection: it registers the socket, runs the connection's life
 * (every change of {@link State}: the graceful close, the lingering, the abort, the end), its
 * deadlines and the work other threads ask of the loop. Its parts do the rest: {@link LoopInput}
 * reads and hands out packets and pauses reading, {@link LoopOutput} writes, {@link TlsHandshake}
 * shakes TLS hands. {@link PacketConn} is the application's face of it.
 *
 * <p>Thread rule: everything here runs on the connection's event loop, except {@link #send},
 * {@link #flushNow}, {@link #beginClose} and {@link #abort} (any thread; they hand the rest to the
 * loop through {@link #request}) and {@link #pull(boolean)}, which a blocking receiver runs on its own
 * thread.
 */
final class LoopTransport extends AbstractTransport implements EventLoop.Selectable, EventLoop.Timed, Liveness.Owner {
  private static final VarHandle REQUESTS;

  static {
    REQUESTS = VarHandles.field(MethodHandles.lookup(), "requests", int.class);
  }

  // Work other threads ask of the loop, as bits of one pending task: a burst of asks is one task.
  static final int RESUME_QUEUE_FULL = 1; // A queue our handler overfilled drained.
  static final int RESUME_QUEUED_BUDGET = 1 << 1; // The budget's queued account has room.
  static final int RESUME_PARTIAL_BUDGET = 1 << 2; // Its partial account has room.
  static final int END_OF_STREAM = 1 << 3; // A receiver read the peer's end.
  static final int PAUSE_FOR_BUDGET = 1 << 4; // A receiver found the budget spent.
  static final int WRITE = 1 << 5; // Write what is queued now (TLS: what the engine made).
  static final int FLUSH = 1 << 6; // Write what is queued, honouring flushDelay.
  static final int ARM_READ = 1 << 7; // A receiver drained the socket: watch it again.
  static final int READ = 1 << 8; // TLS holds plaintext the selector cannot see.
  static final int WRITABILITY = 1 << 9; // The send queue crossed a water mark.
  private static final int NOT_INLINE = READ | WRITABILITY; // From a task even on the loop: see request().

  final EventLoop loop;
  final Wire wire; // The socket, or TLS over it.
  final TlsChannel tls; // Null for plain TCP.
  final PacketHandler handler; // Null: packets go to the inbox.
  final ReadInterest interest = new ReadInterest();
  final Liveness liveness;
  final LoopInput input;
  final LoopOutput output;
  private final TlsHandshake handshake; // Null for plain TCP.
  private final Runnable runRequests = this::runRequests;

  @SuppressWarnings("unused") // Through REQUESTS.
  private volatile int requests;
  private volatile boolean abortRequested; // abort() was called, from any thread; its finish() follows.

  // Owned by the event loop.
  SelectionKey key;
  private boolean opened; // Registered, and the handler's onOpen ran.
  boolean inputEnded; // The peer's end of stream was read.
  private long closeDeadline; // Flush by then, or abort; once lingering, linger until then.

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
    this.loop = EventLoop.next();
    this.liveness = new Liveness(config, handler != null);
    this.output = new LoopOutput(this);
    this.out = output.out;
    this.input = new LoopInput(this);
    this.handshake = tls != null ? new TlsHandshake(this, tls, established) : null;
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
    return out.stats(input.packetsIn(), input.bytesIn());
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

  @Override
  public void pull(boolean mayWait) {
    input.pull(); // Never waits: the socket is non-blocking.
  }

  /** {@return true while the first TLS handshake is under way: packets wait} Any thread. */
  boolean handshaking() {
    return handshake != null && handshake.inProgress();
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
  void request(int work) {
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
    if ((work & RESUME_QUEUE_FULL) != 0) input.queuesDrained();
    if ((work & RESUME_QUEUED_BUDGET) != 0) input.resume(ReadInterest.Pause.QUEUED_BUDGET);
    if ((work & RESUME_PARTIAL_BUDGET) != 0) input.resume(ReadInterest.Pause.PARTIAL_BUDGET);
    if ((work & END_OF_STREAM) != 0) endOfStream();
    if ((work & PAUSE_FOR_BUDGET) != 0) input.pauseForBudget();
    if ((work & WRITE) != 0) flushOnLoop(true);
    if ((work & FLUSH) != 0) flushOnLoop(false);
    if ((work & ARM_READ) != 0 && state == State.OPEN) interest.resume(ReadInterest.Pause.RECEIVER);
    if ((work & READ) != 0) input.read();
    if ((work & WRITABILITY) != 0) output.writabilityChangedOnLoop();
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
    output.attach(key);
    opened = true;
    events.opened();
    mbean = Transport.registerMBean(conn, this::stats);
    if (liveness.on()) {
      liveness.arm(System.nanoTime());
      loop.addTimer(this); // For the connection's life: each check returns the next deadline.
    }
    if (handshake != null) { // Before a close that came first: its packets go out once hands are shaken.
      try {
        handshake.begin();
      } catch (IOException e) {
        finish(e, true);
        return;
      }
    }
    if (state == State.CLOSING) { // Closed before it was registered: the close could not flush yet.
      if (abortRequested) return; // An abort's finish() is queued behind us: no graceful FIN first.
      closeOnLoop();
      if (handshake != null) handshake();
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
    if (handshake != null) handshake();
  }

  /** Moves the TLS handshake on; once done, lets the packets queued meanwhile and those that came flow. */
  private void handshake() {
    if (state == State.CLOSED) return;
    try {
      if (!handshake.step()) return;
    } catch (IOException e) {
      finish(e, true);
      return;
    }
    out.takeFilled();
    writeNow(); // What was sent during the handshake.
    input.readBufferedTls(); // What came with the handshake's last flight.
  }

  @Override
  public void ready(SelectionKey key) {
    if (!key.isValid()) return;
    if (handshaking()) {
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
        input.read();
      }
    }
    loop.runFlushes(); // Everything the callbacks sent: one write per connection per read.
  }

  /** The peer ended its stream: closes a callback connection, tells receivers. */
  void endOfStream() {
    if (state == State.CLOSED || inputEnded) return;
    inputEnded = true;
    interest.pause(ReadInterest.Pause.INPUT_ENDED);
    if (state != State.OPEN) { // Closing: what the peer sent no longer matters, only that it ended.
      input.releaseDecoder();
      if (state == State.LINGERING) finish(null, true);
      return;
    }
    try {
      input.endOfStream();
    } catch (EOFException truncated) {
      finish(truncated, false);
      return;
    }
    if (handler != null) {
      beginClose(); // Every callback has run: close gracefully.
    } else {
      inbox.end(null, false); // Receivers see the end; sending works until close().
    }
  }

  // ---- writing and closing

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
    if (state == State.CLOSED || !output.attached()) return;
    if (output.holdBack(!forced && state == State.OPEN)) return; // The timer comes back for it.
    out.takeFilled();
    writeNow();
  }

  private void writeNow() {
    if (state == State.CLOSED || handshaking()) return; // TLS: the handshake writes first.
    boolean waiting;
    try {
      waiting = output.write();
    } catch (IOException e) {
      finish(e, false);
      return;
    }
    if (!waiting && state == State.CLOSING && out.isEmpty()) shutdownOutput();
  }

  private void shutdownOutput() {
    try {
      wire.closeOutbound(); // TLS: the closing alert first; writeNow() comes back here once it is out.
      if (!wire.flush()) {
        output.writeInterest(true);
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
    input.releaseDecoder();
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    loop.addTimer(this);
    interest.resumeForClose();
  }

  @Override
  public long onTimer(long now) {
    if (output.flushDue(now)) flushOnLoop(false);
    if (closeDeadline != 0 && now - closeDeadline >= 0 && state != State.CLOSED) {
      finish(closeTimedOut(), true); // Lingering: the peer never closed its side; enough.
    }
    if (handshake != null && handshake.overdue(now) && state != State.CLOSED) finish(handshake.timeout(), true);
    long live;
    if (state == State.OPEN) {
      live = liveness.check(now, this);
    } else {
      liveness.stop(); // Closing: closeTimeout rules from now on.
      live = 0;
    }
    if (state == State.CLOSED) return 0;
    long handshakeDeadline = handshake == null ? 0 : handshake.deadline();
    return Liveness.earliest(
        live, Liveness.earliest(Liveness.earliest(output.flushDeadline(), closeDeadline), handshakeDeadline));
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

  /** Ends the connection: closes the socket and frees what it held. Loop only; once. */
  void finish(Throwable why, boolean discardReceived) {
    if (state == State.CLOSED) return;
    state = State.CLOSED;
    cause = why;
    if (key != null) key.cancel();
    Transport.close(channel, why, aborted); // A reset unless clean; sent when the key leaves the selector.
    input.releaseDecoder();
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
