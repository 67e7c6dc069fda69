package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A plain connection received in the blocking style, owning its socket in blocking mode: a receiver
 * reads and decodes on its own thread (parking in the JDK's poller when the socket is empty), and
 * one writer virtual thread writes what senders queue. No selector, no task for the I/O thread and
 * no change of interest per read: the measurements are in {@code docs/design.md}.
 *
 * <p>The guarantees are the loop's: receivers read only while they receive (at most one read buffer
 * ahead, so TCP pushes back on the peer); sends are bounded by the queue and the budget and never
 * wait for the socket; a graceful close writes everything queued, shuts the output and reads on to
 * the peer's end; deadlines are kept by an event loop's timer, which closes the socket to end a
 * blocked read or write.
 *
 * <p>Thread rule: {@link #pull()} runs on one receiver at a time (the inbox sees to it) holding
 * {@code decoderLock}; {@link #writeLoop()} on the writer thread alone; {@link #onTimer} on the
 * timer's loop; the rest on any thread. {@link #finish} runs once, on whichever thread comes first.
 */
final class SocketTransport extends AbstractTransport implements EventLoop.Timed {
  /** {@code -Dpacketconn.blockingTransport=loop} keeps blocking connections on the I/O threads. */
  static final boolean ENABLED = !"loop".equals(System.getProperty("packetconn.blockingTransport"));

  private static final VarHandle PACKETS_IN;
  private static final VarHandle BYTES_READ;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      PACKETS_IN = lookup.findVarHandle(SocketTransport.class, "packetsIn", long.class);
      BYTES_READ = lookup.findVarHandle(SocketTransport.class, "bytesRead", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final int WRITE_PIECE = 256 << 10; // Bytes per write call: a stall shows between.
  private static final int SMALL_READ = 2048; // Bytes an idle receiver's read holds while it waits.

  private final FrameDecoder decoder;
  private final EventLoop timers = EventLoop.next(); // Keeps the deadlines; never sees the socket.
  private final FrameDecoder.Sink sink = this::deliver;
  private final ReentrantLock decoderLock = new ReentrantLock(); // The receiver pulling, or finish().
  private final ReentrantLock writeLock = new ReentrantLock(); // The writer writing, or finish().
  private final Runnable resumeAfterBudget; // The budget's signal: receivers may read again.
  private final Runnable completeWritableWaiter; // Run on the timer's loop: see writabilityChanged().
  private final long readIdleNanos; // Zero when off, as the two below.
  private final long writeStallNanos;
  private final long flushDelayNanos;
  private final long maxFlushDelayNanos;

  private volatile Thread writer; // Parks while there is nothing to write; null until needed.
  private volatile Thread inlineWriter; // A sender that writes what it queues itself; see send().
  private volatile boolean started; // start() ran: the writer may start.
  private volatile boolean writeWanted; // Set before the writer is unparked: no wake-up is lost.
  private volatile boolean flushForced; // flush() was called: write without waiting for the delay.
  private volatile long readSince; // When the pending read began or last got bytes; 0: not reading.
  private volatile long writeSince; // When the pending write call began; 0: not writing.
  private volatile long closeDeadline; // Written once the close begins; 0 before.
  private volatile boolean inputEnded; // A read saw the peer's end of stream.

  private ByteBuffer small; // The read buffer an idle receiver blocks on; receivers only.
  private boolean readBig; // The last read filled its buffer; receivers only.
  private InputStream input; // Says how many bytes wait in the socket; receivers only.

  // Counters for stats(): one writer at a time, opaque access (see LoopInput).
  private long packetsIn; // Under decoderLock.
  private long bytesRead; // Under decoderLock.

  SocketTransport(
      PacketConn conn, SocketChannel channel, PacketConfig config, ReceiveQueue inbox, Consumer<PacketConn> onClosed) {
    super(conn, channel, config, inbox, onClosed, false);
    this.decoder = new FrameDecoder(config.maxPacketSize(), config.crc(), config.memoryBudget());
    this.out =
        new SendQueue(
            config.sendQueueBytes(),
            config.crc(),
            config.memoryBudget(),
            !config.flushDelay().isZero(),
            this::wantWrite,
            config.writeLowWaterMark(),
            config.writeHighWaterMark(),
            this::writabilityChanged,
            null); // Written by a virtual thread of its own, which has no view of a shared slab.
    this.completeWritableWaiter = out::completeWritableWaiter;
    this.resumeAfterBudget = inbox::readable;
    this.readIdleNanos = config.readIdleTimeout().toNanos();
    this.writeStallNanos = config.writeStallTimeout().toNanos();
    this.flushDelayNanos = config.flushDelay().toNanos();
    this.maxFlushDelayNanos =
        (config.maxFlushDelay().isZero() ? config.flushDelay() : config.maxFlushDelay()).toNanos();
  }

  @Override
  public void start() {
    mbean = Transport.registerMBean(conn, this::stats);
    events.opened();
    started = true;
    if (readIdleNanos != 0 || writeStallNanos != 0) armTimer();
    if (writeWanted || state != State.OPEN) wantWrite(); // Sent or closed before it started.
  }

  // ---- sending: senders queue, the writer writes

  @Override
  public boolean send(Packet packet, SharedFrame shared, long timeoutNanos, boolean quietIfClosed) {
    // A receiver replying to the last packet it took writes the reply itself, as a hand-written
    // server does, instead of waking the writer: it will read next anyway, and a request-response
    // load saves a thread switch per packet. Once per packet taken, so that a thread sending many
    // packets still has them coalesced by the writer; never with a flush delay, nor on an I/O thread.
    if (flushDelayNanos != 0 || EventLoop.current() != null || !inbox.tookLast()) {
      return super.send(packet, shared, timeoutNanos, quietIfClosed);
    }
    boolean queued;
    inlineWriter = Thread.currentThread(); // So that the queue's flush request does not wake the writer.
    try {
      queued = out.offer(packet, shared, timeoutNanos, quietIfClosed);
    } finally {
      inlineWriter = null;
    }
    if (queued) writeInline();
    return queued;
  }

  @Override
  public void flushNow() {
    flushForced = true;
    wantWrite();
  }

  /**
   * Writes what is queued on the calling thread without blocking, if no other thread reads or
   * writes the socket; else, or with bytes left when the socket is full, the writer takes over.
   * The socket is non-blocking only while both locks are held, so no read or write sees the change.
   */
  private void writeInline() {
    boolean done = false;
    Throwable failed = null;
    if (state == State.OPEN && decoderLock.tryLock()) {
      try {
        if (writeLock.tryLock()) {
          try {
            if (state == State.OPEN) {
              channel.configureBlocking(false);
              try {
                out.takeFilled();
                List<Runnable> drained = out.write(channel, WRITE_PIECE); // Until done or full.
                if (drained != null) for (Runnable signal : drained) signal.run();
                done = !out.hasWriting();
              } finally {
                channel.configureBlocking(true);
              }
            }
          } catch (IOException | RuntimeException e) {
            failed = e;
          } finally {
            writeLock.unlock();
          }
        }
      } finally {
        decoderLock.unlock();
      }
    }
    if (failed != null) {
      if (state != State.CLOSED) finish(failed, false);
    } else if (!done) {
      wantWrite();
    }
  }

  /** Wakes the writer, starting it on first use: a connection that never sends has none. */
  private void wantWrite() {
    if (inlineWriter == Thread.currentThread()) return; // It writes right after queueing.
    writeWanted = true;
    Thread w = writer;
    if (w != null) {
      LockSupport.unpark(w);
    } else if (started) {
      synchronized (this) {
        w = writer;
        if (w == null) { // Assigned before it starts, so a wake-up from now on reaches it.
          writer = w = Thread.ofVirtual().name("packetconn-write-" + PacketConn.format(conn.remoteAddress())).unstarted(this::writeLoop);
          w.start();
        } else {
          LockSupport.unpark(w); // Started by another sender since we looked.
        }
      }
    }
  }

  /** The writer thread: writes what is queued until the close, then shuts the output and lingers. */
  private void writeLoop() {
    try {
      while (true) {
        while (!writeWanted) {
          if (state == State.CLOSED) return;
          LockSupport.park(this);
        }
        writeWanted = false;
        if (state == State.CLOSED) return;
        if (flushDelayNanos != 0 && state == State.OPEN && !flushForced) awaitFlushDelay();
        flushForced = false;
        writeQueued();
        if (state == State.CLOSING && out.isEmpty()) {
          closeOutput();
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      if (state != State.CLOSED) finish(e, false);
    }
  }

  private void awaitFlushDelay() {
    for (long wait;
        state == State.OPEN && !flushForced
            && (wait = out.flushDue(flushDelayNanos, maxFlushDelayNanos) - System.nanoTime()) > 0; ) {
      LockSupport.parkNanos(this, wait);
    }
  }

  /**
   * Writes every frame queued so far, in pieces, so that a stalled write shows between them. Holds
   * writeLock: finish() frees the chunks only once a write the close interrupted has let go of them.
   */
  private void writeQueued() throws IOException {
    writeLock.lock();
    try {
      if (state == State.CLOSED) return;
      out.takeFilled();
      while (out.hasWriting()) {
        writeSince = System.nanoTime();
        List<Runnable> drained;
        try {
          drained = out.write(channel, WRITE_PIECE);
        } finally {
          writeSince = 0;
        }
        if (drained != null) for (Runnable signal : drained) signal.run();
      }
    } finally {
      writeLock.unlock();
    }
  }

  /** Shuts the output once everything is written; the close ends when the input has too. */
  private void closeOutput() throws IOException {
    channel.shutdownOutput();
    if (!STATE.compareAndSet(this, State.CLOSING, State.LINGERING)) return; // Aborted meanwhile.
    outputClosed.complete(null);
    if (inputEnded) finish(null, true);
  }

  /**
   * Reads and drops the input of a closing connection until the peer's end: a peer blocked writing
   * to us must be let go for our own queued bytes to get through, and unread bytes would turn our
   * close into a reset that could destroy packets the peer has not read yet. A receiver still in a
   * read keeps the lock until its read returns.
   */
  private void discardInput() {
    ByteBuffer discard = ByteBuffer.allocate(4096);
    decoderLock.lock();
    try {
      decoder.release();
      while (state != State.CLOSED && !inputEnded) {
        if (channel.read(discard.clear()) < 0) inputEnded = true;
      }
    } catch (IOException e) {
      if (state != State.CLOSED) finish(e, true); // Else our own close ended the read.
    } finally {
      decoderLock.unlock();
    }
    if (inputEnded && state == State.LINGERING) finish(null, true);
  }

  // ---- receiving: the receiver reads the socket itself

  @Override
  public void pull() {
    if (state != State.OPEN) return;
    ByteBuffer lent = null; // A large pooled buffer, given back after the read.
    decoderLock.lock();
    try {
      if (state != State.OPEN) return;
      MemoryBudget budget = config.memoryBudget();
      if (!budget.mayRead(decoder)
          && budget.pauseReaderUntilRoom(resumeAfterBudget, decoder.held() > 0 ? decoder : null)) {
        return; // Not readable until the budget says so.
      }
      // A read blocks holding its buffer, so an idle connection waits on a small one of its own. A
      // read that filled its buffer says more may be coming: when more than the small one holds is
      // already in the socket, the next takes a large pooled one, which thus never waits. (A guess
      // alone would park an idle receiver on 256 KiB after a burst that ended on a buffer's edge.)
      ByteBuffer buffer =
          readBig && input().available() > SMALL_READ
              ? (lent = ReadBuffers.take(config.readBufferSize()))
              : smallBuffer();
      readSince = System.nanoTime();
      int n;
      try {
        n = channel.read(buffer);
      } finally {
        readSince = 0;
      }
      if (n < 0) {
        endOfStream();
        return;
      }
      readBig = n == buffer.capacity();
      BYTES_READ.setOpaque(this, bytesRead + n);
      buffer.flip();
      decoder.decode(buffer, sink);
      inbox.readable(); // Blocking reads: there is always more to wait for.
    } catch (Throwable t) {
      if (state != State.CLOSED) finish(t, false); // Else our own close ended a blocked read.
    } finally {
      decoderLock.unlock();
      if (lent != null) ReadBuffers.give(lent);
    }
  }

  /** {@return the socket as a stream, whose available() asks the kernel what is waiting} */
  private InputStream input() {
    InputStream in = input;
    if (in == null) input = in = Channels.newInputStream(channel);
    return in;
  }

  private ByteBuffer smallBuffer() {
    ByteBuffer b = small;
    if (b == null) {
      small = b = ByteBuffer.allocate(Math.min(SMALL_READ, config.readBufferSize())).order(ByteOrder.LITTLE_ENDIAN);
    }
    return b.clear();
  }

  private boolean deliver(Packet packet) {
    if (state != State.OPEN) {
      packet.release(); // Closing: nobody will take it.
      return false;
    }
    PACKETS_IN.setOpaque(this, packetsIn + 1);
    inbox.addPulled(packet);
    return true;
  }

  /** The peer ended its stream: receivers see the end; sending works until close(). Lock held. */
  private void endOfStream() {
    inputEnded = true;
    try {
      decoder.endOfStream();
    } catch (EOFException truncated) {
      finish(truncated, false);
      return;
    }
    inbox.end(null, false);
  }

  // ---- closing

  @Override
  public boolean beginClose() {
    if (state != State.OPEN) return false;
    out.refuse("closed"); // Before the state changes, so no send slips in behind the flush.
    if (!STATE.compareAndSet(this, State.OPEN, State.CLOSING)) return false;
    inbox.end(null, true);
    closeDeadline = System.nanoTime() + config.closeTimeout().toNanos();
    armTimer();
    wantWrite(); // The writer writes what is queued, then shuts the output.
    Thread.ofVirtual().name("packetconn-close-" + PacketConn.format(conn.remoteAddress())).start(this::discardInput);
    return true;
  }

  @Override
  public void abort(Throwable why, boolean byApplication) {
    if (state != State.CLOSED && byApplication) aborted = true;
    inbox.end(why, true);
    out.refuse("closed");
    STATE.compareAndSet(this, State.OPEN, State.CLOSING);
    finish(why, true);
  }

  /** Ends the connection: closes the socket, which ends blocked reads and writes, and frees the rest. */
  private void finish(Throwable why, boolean discardReceived) {
    for (State s = state; ; s = state) {
      if (s == State.CLOSED) return;
      if (STATE.compareAndSet(this, s, State.CLOSED)) break;
    }
    cause = why;
    Transport.close(channel, why, aborted); // A reset unless clean; ends blocked reads and writes.
    Thread w = writer;
    if (w != null) LockSupport.unpark(w);
    decoderLock.lock(); // After the close: a receiver blocked in a read has been let go.
    try {
      decoder.release();
    } finally {
      decoderLock.unlock();
    }
    List<Runnable> drained;
    writeLock.lock(); // After the close: a write in progress has failed and let go of its chunks.
    try {
      drained = out.discard(why == null ? "closed" : "closed: " + why);
    } finally {
      writeLock.unlock();
    }
    if (drained != null) for (Runnable signal : drained) signal.run();
    inbox.end(why, discardReceived);
    ended(why);
  }

  // ---- deadlines, on an event loop's timer

  /** Has the timer loop look at this connection; a deadline set before this call is seen. */
  private void armTimer() {
    timers.execute(() -> timers.addTimer(this));
  }

  @Override
  public long onTimer(long now) {
    State s = state;
    if (s == State.CLOSED) return 0;
    long deadline = closeDeadline;
    if (deadline != 0 && now - deadline >= 0) {
      if (s == State.LINGERING) {
        finish(null, true); // The peer never closed its side: enough lingering.
      } else {
        finish(
            new SocketTimeoutException(
                "close timed out after " + config.closeTimeout().toMillis() + " ms with "
                    + out.queuedBytes() + " bytes unwritten; aborted"),
            true);
      }
      return 0;
    }
    long next = deadline;
    if (s == State.OPEN && readIdleNanos != 0) {
      long since = readSince;
      if (since != 0 && now - since >= readIdleNanos) {
        finish(
            new SocketTimeoutException(
                "no packet received for " + config.readIdleTimeout().toMillis() + " ms (readIdleTimeout)"),
            false);
        return 0;
      }
      next = Liveness.earliest(next, (since != 0 ? since : now) + readIdleNanos);
    }
    if (s == State.OPEN && writeStallNanos != 0) {
      long since = writeSince;
      if (since != 0 && now - since >= writeStallNanos) {
        events.writeStalled(now - since, out.queuedBytes());
        finish(
            new SocketTimeoutException(
                "no bytes written for " + config.writeStallTimeout().toMillis() + " ms with "
                    + out.queuedBytes() + " bytes queued (writeStallTimeout); the peer stopped reading"),
            false);
        return 0;
      }
      next = Liveness.earliest(next, (since != 0 ? since : now) + writeStallNanos);
    }
    return next; // 0: nothing to watch; the close arms the timer again.
  }

  // ---- accessors

  @Override
  public TlsChannel tls() {
    return null;
  }

  @Override
  public boolean readingPaused() {
    return false; // Receivers stop reading by not receiving; the budget stops them in pull().
  }

  @Override
  public ConnectionStats stats() {
    return out.stats((long) PACKETS_IN.getOpaque(this), (long) BYTES_READ.getOpaque(this));
  }

  // ---- writability

  /**
   * The send queue crossed a water mark: to writable on the writer thread, which must not run the
   * waiting futures' dependents (one that sends would wait for the writer itself), so they run on
   * the timer's I/O thread, as a loop connection's do.
   */
  private void writabilityChanged() {
    if (out.hasWritableWaiter()) timers.execute(completeWritableWaiter);
  }
}
