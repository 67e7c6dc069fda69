package io.github.packetconn;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The writing side of a {@link SocketTransport}: makes its send queue and gets the queued frames
 * into the socket, through one writer virtual thread started on the first send, and receivers,
 * which write the replies to a batch themselves before reading again ({@link #writeInline()}).
 * What a write leads to (a failure, the end of a graceful close) is the transport's, which owns the
 * state.
 *
 * <p>Thread rule: {@link #writeLoop()} runs on the writer thread alone, {@link #writeInline()} and
 * {@link #pauseWritesNonBlocking()} on a receiver holding the transport's decoder lock, and every socket
 * write, and every switch of the socket's mode, holds {@code writeLock}; the rest runs on any thread.
 */
final class SocketWriter {
  private static final int WRITE_PIECE = 256 << 10; // Bytes per write call: a stall shows between.

  private final SocketTransport transport; // Its fields are read through it: no copies per connection.
  final SendQueue out;
  private final ReentrantLock writeLock = new ReentrantLock(); // Whoever writes the socket, or finish().
  private final Runnable completeWritableWaiter; // Run on the timer's loop: see writabilityChanged().
  final long flushDelayNanos; // Zero when off.
  private final long maxFlushDelayNanos;

  private volatile Thread writer; // Parks while there is nothing to write; null until needed.
  private volatile boolean started; // start() ran: the writer may start.
  private volatile boolean writeWanted; // Set before the writer is unparked: no wake-up is lost.
  private volatile boolean flushForced; // flush() was called: write without waiting for the delay.
  private volatile long writeSince; // When the pending write call began; 0: not writing.
  private long inlineWrites; // Writes by receivers (writeInline); theirs alone, read by tests after.

  SocketWriter(SocketTransport transport) {
    this.transport = transport;
    PacketConfig config = transport.config;
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
            null); // Written by a virtual thread of its own, which takes slabs' spare views.
    this.completeWritableWaiter = out::completeWritableWaiter;
    this.flushDelayNanos = config.flushDelay().toNanos();
    this.maxFlushDelayNanos =
        (config.maxFlushDelay().isZero() ? config.flushDelay() : config.maxFlushDelay()).toNanos();
  }

  /** Lets the writer start, and starts it if a send or the close came before. */
  void start() {
    started = true;
    if (writeWanted || transport.state != State.OPEN) wantWrite(); // Sent or closed before it started.
  }

  void flushNow() {
    flushForced = true;
    wantWrite();
  }

  /**
   * {@return true if the writer has been woken to write and has not begun, and no flush delay
   * holds the frames back}
   */
  boolean writePending() {
    return writeWanted && flushDelayNanos == 0 && writer != null && writeSince == 0;
  }

  /**
   * Writes what is queued without waiting for the socket, on the receiver's thread, unless the
   * writer is writing. Receivers only, holding the decoder's lock, so that no read is in progress
   * while the socket is non-blocking.
   */
  void writeInline() throws IOException {
    if (!pauseWritesNonBlocking()) return; // The writer is writing.
    try {
      if (transport.state != State.OPEN) return; // Under writeLock: finish() has not discarded meanwhile.
      inlineWrites++;
      takeAndWrite(false);
    } finally {
      resumeWritesBlocking();
    }
  }

  /**
   * Holds off the writer unless it is writing, and switches the socket to non-blocking mode (which
   * the JDK would make wait for a write in progress, and that write may wait for the peer).
   * Receivers only, holding the decoder's lock; {@link #resumeWritesBlocking()} after.
   *
   * @return false if the writer is writing: nothing is held, the mode is unchanged
   */
  boolean pauseWritesNonBlocking() throws IOException {
    if (!writeLock.tryLock()) return false;
    try {
      transport.channel.configureBlocking(false);
      return true;
    } catch (IOException | RuntimeException e) {
      writeLock.unlock();
      throw e;
    }
  }

  /** Switches the socket back to blocking mode and lets the writer write again. */
  void resumeWritesBlocking() throws IOException {
    try {
      transport.channel.configureBlocking(true);
    } finally {
      writeLock.unlock();
    }
  }

  /** {@return how many times receivers wrote the queue themselves; for tests, once they are done} */
  long inlineWrites() {
    return inlineWrites;
  }

  /** Wakes the writer, starting it on first use: a connection that never sends has none. */
  void wantWrite() {
    writeWanted = true;
    Thread w = writer;
    if (w != null) {
      LockSupport.unpark(w);
    } else if (started) {
      synchronized (this) {
        w = writer;
        if (w == null) { // Assigned before it starts, so a wake-up from now on reaches it.
          String name = "packetconn-write-" + PacketConn.format(transport.conn.remoteAddress());
          writer = w = Thread.ofVirtual().name(name).unstarted(this::writeLoop);
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
          if (transport.state == State.CLOSED) return;
          LockSupport.park(this);
        }
        writeWanted = false;
        if (transport.state == State.CLOSED) return;
        if (flushDelayNanos != 0 && transport.state == State.OPEN && !flushForced) awaitFlushDelay();
        flushForced = false;
        writeQueued();
        if (transport.state == State.CLOSING && out.isEmpty()) {
          transport.closeOutput();
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      if (transport.state != State.CLOSED) transport.finish(e, false);
    }
  }

  private void awaitFlushDelay() {
    while (transport.state == State.OPEN && !flushForced) {
      long wait = out.flushDue(flushDelayNanos, maxFlushDelayNanos) - System.nanoTime();
      // Checked again after flushDue(): waiting for the queue's lock may have used up the wake-up
      // that flush() or the close gave after setting its flag, and the park below would not end.
      if (wait <= 0 || transport.state != State.OPEN || flushForced) return;
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
      if (transport.state == State.CLOSED) return;
      takeAndWrite(true);
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Takes the filled frames and writes until all are written, or a non-blocking socket is full.
   * writeLock held.
   */
  private void takeAndWrite(boolean blocking) throws IOException {
    out.takeFilled();
    while (out.hasWriting()) {
      writeSince = System.nanoTime();
      List<Runnable> drained;
      long before = blocking ? 0 : out.writtenBytes();
      try {
        drained = out.write(transport.channel, WRITE_PIECE);
      } finally {
        writeSince = 0;
      }
      if (drained != null) for (Runnable signal : drained) signal.run();
      if (!blocking && out.writtenBytes() == before) return; // The socket is full.
    }
  }

  /** Wakes the writer of a closed connection, so that it sees the end and returns. */
  void closed() {
    Thread w = writer;
    if (w != null) LockSupport.unpark(w);
  }

  /**
   * Discards what is queued, once the socket is closed: under writeLock, so a write in progress has
   * failed and let go of its chunks first.
   *
   * @return the drain signals waiting for the queue to drain
   */
  List<Runnable> discard(String reason) {
    writeLock.lock();
    try {
      return out.discard(reason);
    } finally {
      writeLock.unlock();
    }
  }

  /** {@return when the pending write call began, for the write-stall deadline; 0: not writing} */
  long writeSince() {
    return writeSince;
  }

  /**
   * The send queue crossed a water mark: to writable on the writer thread, which must not run the
   * waiting futures' dependents (one that sends would wait for the writer itself), so they run on
   * the timer's I/O thread, as a loop connection's do.
   */
  private void writabilityChanged() {
    if (out.hasWritableWaiter()) transport.timers.execute(completeWritableWaiter);
  }
}
