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
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A plain connection received in the blocking style, owning its socket in blocking mode: a receiver
 * reads and decodes on its own thread (parking in the JDK's poller when the socket is empty), and
 * its {@link SocketWriter} gets what senders queue into the socket. No selector, no task for the
 * I/O thread and no change of interest per read: the measurements are in {@code docs/design.md}.
 *
 * <p>The guarantees are the loop's: receivers read only while they receive (at most one read buffer
 * ahead, so TCP pushes back on the peer); sends are bounded by the queue and the budget and never
 * wait for the socket; a graceful close writes everything queued, shuts the output and reads on to
 * the peer's end; deadlines are kept by an event loop's timer, which closes the socket to end a
 * blocked read or write.
 *
 * <p>Thread rule: {@link #pull(boolean)} runs on one receiver at a time (the inbox sees to it) holding
 * {@code decoderLock}, and may write the queue through the writer's {@code writeInline()}; {@link
 * #onTimer} on the timer's loop; the rest on any thread, the writer's included (it calls {@link
 * #closeOutput()} and {@link #finish}). {@link #finish} runs once, on whichever thread comes first.
 */
final class SocketTransport extends AbstractTransport implements EventLoop.Timed {
  /** {@code -Dpacketconn.blockingTransport=loop} keeps blocking connections on the I/O threads. */
  static final boolean ENABLED = !"loop".equals(System.getProperty("packetconn.blockingTransport"));

  private static final VarHandle PACKETS_IN;
  private static final VarHandle BYTES_READ;
  private static final VarHandle INBOX_ALARM;
  private static final VarHandle ALARMS_SET;

  static {
    MethodHandles.Lookup lookup = MethodHandles.lookup();
    PACKETS_IN = VarHandles.field(lookup, "packetsIn", long.class);
    BYTES_READ = VarHandles.field(lookup, "bytesRead", long.class);
    INBOX_ALARM = VarHandles.field(lookup, "inboxAlarm", long.class);
    ALARMS_SET = VarHandles.field(lookup, "alarmsSet", long.class);
  }

  private static final int SMALL_READ = 2048; // Bytes an idle receiver's read holds while it waits.

  private final FrameDecoder decoder;
  final EventLoop timers = EventLoop.next(); // Keeps the deadlines; never sees the socket.
  private final FrameDecoder.Sink sink = this::deliver;
  private final ReentrantLock decoderLock = new ReentrantLock(); // The receiver pulling, or finish().
  private final SocketWriter output; // Gets the queued frames into the socket.
  private final Runnable resumeAfterBudget; // The budget's signal: receivers may read again.
  private final long readIdleNanos; // Zero when off, as the one below.
  private final long writeStallNanos;

  private volatile long readSince; // When the pending read began or last got bytes; 0: not reading.
  private volatile long closeDeadline; // Written once the close begins; 0 before.
  private volatile boolean inputEnded; // A read saw the peer's end of stream.
  private volatile long inboxAlarm; // When the timer wakes timed receivers (ReceiveQueue.Alarm); 0: never.
  private volatile long alarmsSet; // How many times receivers set the alarm (and armed the timer); for tests.

  private ByteBuffer small; // The read buffer an idle receiver blocks on; receivers only.
  private boolean readBig; // The last read filled its buffer; receivers only.
  private int lastReadPackets; // Packets the last read completed; receivers only.
  private InputStream input; // Says how many bytes wait in the socket; receivers only.

  // Counters for stats(): one writer at a time, opaque access (see LoopInput).
  private long packetsIn; // Under decoderLock.
  private long bytesRead; // Under decoderLock.

  SocketTransport(
      PacketConn conn, SocketChannel channel, PacketConfig config, ReceiveQueue inbox, Consumer<PacketConn> onClosed) {
    super(conn, channel, config, inbox, onClosed, false);
    this.decoder = new FrameDecoder(config.maxPacketSize(), config.crc(), config.memoryBudget());
    this.output = new SocketWriter(this);
    this.out = output.out;
    this.resumeAfterBudget = inbox::readable;
    this.readIdleNanos = config.readIdleTimeout().toNanos();
    this.writeStallNanos = config.writeStallTimeout().toNanos();
    inbox.alarm(this::wakeInboxAt);
  }

  @Override
  public void start() {
    mbean = Transport.registerMBean(conn, this::stats);
    events.opened();
    if (readIdleNanos != 0 || writeStallNanos != 0) armTimer();
    output.start(); // The writer may start now, and does if a send or the close came first.
  }

  // ---- sending: senders queue, the writer writes

  @Override
  public void flushNow() {
    output.flushNow();
  }

  /** Shuts the output once everything is written; the close ends when the input has too. Writer only. */
  void closeOutput() throws IOException {
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
  public void pull(boolean mayWait) {
    if (state != State.OPEN) return;
    ByteBuffer lent = null; // A large pooled buffer, given back after the read.
    if (mayWait) {
      decoderLock.lock();
    } else if (!decoderLock.tryLock()) { // The close reads the input out; a timed receiver may not wait for it.
      inbox.readable();
      return;
    }
    try {
      if (state != State.OPEN) return;
      // The last read drained the socket and brought a batch, whose replies wait for the writer:
      // write them now, non-blocking, while they are in the cache, as a hand-written server writes
      // after each read; the writer writes whatever the socket does not take. Not after a read of
      // one packet (ping-pong, one client): there the writer, already woken, would run for nothing
      // just when the next request comes. No read is in progress (readers hold decoderLock), so
      // the socket may switch modes. See docs/design.md, "Blocking style".
      if (output.writePending() && !readBig && lastReadPackets > 1) output.writeInline();
      MemoryBudget budget = config.memoryBudget();
      if (!budget.mayRead(decoder)
          && budget.pauseReaderUntilRoom(resumeAfterBudget, decoder.held() > 0 ? decoder : null)) {
        return; // Not readable until the budget says so.
      }
      // A read blocks holding its buffer, so an idle connection waits on a small one of its own. A
      // read that filled its buffer says more may be coming: the next reads a large pooled buffer
      // without waiting, and only if nothing came does the receiver block, on the small one. (A
      // blocking read of the large one would park an idle receiver on 256 KiB after a burst that
      // ended on a buffer's edge.)
      ByteBuffer buffer = null;
      int n = 0;
      if (readBig) {
        lent = ReadBuffers.take(config.readBufferSize());
        n = readAhead(lent, mayWait);
        if (n != 0) {
          buffer = lent;
        } else {
          ReadBuffers.give(lent); // Not held while blocked.
          lent = null;
        }
      }
      if (buffer == null && !mayWait) {
        // A timed receiver takes only what is there and never waits in the socket, where an
        // interrupt would close the connection; a virtual thread waits there for it. After reads
        // of one packet each (a peer that waits for every answer) the socket is most likely empty:
        // no look, and no system call for nothing.
        n = !readBig && lastReadPackets > 1 ? readAhead(smallBuffer(), false) : 0;
        if (n == 0) {
          inbox.readable(); // The next pull waits.
          return;
        }
        buffer = small;
      }
      if (buffer == null) {
        buffer = smallBuffer();
        inbox.idle(); // Probably waits for bytes now: a burst's arrays are not kept meanwhile.
        readSince = System.nanoTime();
        try {
          n = channel.read(buffer);
        } finally {
          readSince = 0;
        }
      }
      if (n < 0) {
        endOfStream();
        return;
      }
      readBig = n == buffer.capacity();
      BYTES_READ.setOpaque(this, bytesRead + n);
      buffer.flip();
      long before = packetsIn;
      decoder.decode(buffer, sink);
      lastReadPackets = (int) Math.min(packetsIn - before, Integer.MAX_VALUE);
      inbox.readable(); // Blocking reads: there is always more to wait for.
    } catch (Throwable t) {
      if (state != State.CLOSED) finish(t, false); // Else our own close ended a blocked read.
    } finally {
      decoderLock.unlock();
      if (lent != null) ReadBuffers.give(lent);
    }
  }

  /**
   * Reads what the socket has into {@code buffer} without waiting: non-blocking if the writer is not
   * writing (no system call to switch modes on a virtual thread's socket), else, {@code orAsk},
   * only as much as the kernel says is there (a system call to ask, and a blocking-mode read, which
   * an interrupt would end by closing the channel), or nothing. Lock held.
   *
   * @return the bytes read, 0 if none were waiting, or -1 at the end of the stream
   */
  private int readAhead(ByteBuffer buffer, boolean orAsk) throws IOException {
    if (output.pauseWritesNonBlocking()) {
      try {
        return channel.read(buffer);
      } finally {
        output.resumeWritesBlocking();
      }
    }
    if (!orAsk) return 0; // The read would be one that an interrupt ends by closing the channel.
    return input().available() > 0 ? channel.read(buffer) : 0; // Waits for nothing: bytes are there.
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
    output.wantWrite(); // The writer writes what is queued, then shuts the output.
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
  void finish(Throwable why, boolean discardReceived) {
    for (State s = state; ; s = state) {
      if (s == State.CLOSED) return;
      if (STATE.compareAndSet(this, s, State.CLOSED)) break;
    }
    cause = why;
    if (inboxAlarm != 0) armTimer(); // The timer forgets a closed connection only when it runs.
    Transport.close(channel, why, aborted); // A reset unless clean; ends blocked reads and writes.
    output.closed(); // The writer sees the end and returns.
    decoderLock.lock(); // After the close: a receiver blocked in a read has been let go.
    try {
      decoder.release();
    } finally {
      decoderLock.unlock();
    }
    // After the close, under writeLock: a write in progress has failed and let go of its chunks.
    List<Runnable> drained = output.discard(why == null ? "closed" : "closed: " + why);
    if (drained != null) for (Runnable signal : drained) signal.run();
    inbox.end(why, discardReceived);
    ended(why);
  }

  // ---- deadlines, on an event loop's timer

  /**
   * Has the timer wake the inbox's timed receivers at {@code deadline} or before. An alarm set for
   * earlier stands: the receivers it wakes set theirs again. So a receiver that waits with the same
   * timeout again and again arms the timer once per timeout, not once per wait.
   */
  private void wakeInboxAt(long deadline) {
    for (long at = inboxAlarm; at == 0 || deadline - at < 0; at = inboxAlarm) {
      if (INBOX_ALARM.compareAndSet(this, at, deadline)) {
        ALARMS_SET.getAndAdd(this, 1L);
        armTimer();
        return;
      }
    }
  }

  /** Has the timer loop look at this connection; a deadline set before this call is seen. */
  private void armTimer() {
    timers.execute(() -> timers.addTimer(this));
  }

  @Override
  public long onTimer(long now) {
    long alarm = inboxAlarm;
    if (alarm != 0 && now - alarm >= 0) {
      if (INBOX_ALARM.compareAndSet(this, alarm, 0L)) inbox.alarmRang();
      alarm = inboxAlarm; // 0, or set again since.
    }
    State s = state;
    if (s == State.CLOSED) return 0;
    long deadline = closeDeadline;
    if (deadline != 0 && now - deadline >= 0) {
      finish(closeTimedOut(), true); // Lingering: the peer never closed its side; enough.
      return 0;
    }
    long next = Liveness.earliest(deadline, alarm);
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
      long since = output.writeSince();
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

  /** {@return how many times timed receivers set the inbox's alarm, each arming the timer; for tests} */
  long alarmsSet() {
    return alarmsSet;
  }

  /** {@return how many times receivers wrote the queue themselves; for tests, once they are done} */
  long inlineWrites() {
    return output.inlineWrites();
  }

  @Override
  public ConnectionStats stats() {
    return out.stats((long) PACKETS_IN.getOpaque(this), (long) BYTES_READ.getOpaque(this));
  }
}
