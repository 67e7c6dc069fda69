package io.github.packetconn;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.util.List;

/**
 * The output side of a loop connection: makes its send queue and answers the queue's calls (a
 * flush wanted, a water mark crossed), writes the frames the queue took to the wire, holds a flush
 * back while {@link PacketConfig#flushDelay()} says so, and keeps {@code OP_WRITE} on while bytes
 * wait for the socket. When to write, and what a write leads to (a failure, the end of a graceful
 * close), is the {@link LoopTransport}'s, which owns the state.
 *
 * <p>Thread rule: everything in this class runs on the connection's event loop, except the send
 * queue's calls, which come on whichever thread moved it and hand their work to the loop.
 */
final class LoopOutput {
  private final LoopTransport transport; // Its fields are read through it: no copies per connection.
  final SendQueue out;
  private final boolean delayedFlush; // flushDelay is set.
  private final long flushDelayNanos;
  private final long maxFlushDelayNanos; // maxFlushDelay, or flushDelay when that is zero.
  private SelectionKey key; // Null until registered.
  private long flushDeadline; // 0: no flush held back.

  LoopOutput(LoopTransport transport) {
    this.transport = transport;
    PacketConfig config = transport.config;
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
            transport.loop);
    this.flushDelayNanos = config.flushDelay().toNanos();
    this.maxFlushDelayNanos =
        (config.maxFlushDelay().isZero() ? config.flushDelay() : config.maxFlushDelay()).toNanos();
  }

  /** Asks for the queued frames to be written: after the current read on the loop, else soon. */
  private void requestFlush() {
    if (transport.loop.inLoop()) {
      transport.loop.scheduleFlush(transport); // Written after the current read: one write per read batch.
    } else {
      transport.request(LoopTransport.FLUSH);
    }
  }

  /**
   * The send queue crossed a water mark, on whichever thread moved it: tells the handler and the
   * waiting futures on the loop, if anyone listens. Nothing is asked of the loop otherwise.
   */
  private void writabilityChanged() {
    if (transport.handler != null || out.hasWritableWaiter()) transport.request(LoopTransport.WRITABILITY);
  }

  /** Completes the waiting futures if writable, then calls the handler: from a task on the loop. */
  void writabilityChangedOnLoop() {
    out.completeWritableWaiter();
    PacketHandler handler = transport.handler;
    if (handler == null || transport.state != State.OPEN) return;
    try {
      handler.onWritabilityChanged(transport.conn);
    } catch (Throwable t) {
      transport.handlerFailed = true;
      transport.finish(t, false);
    }
  }

  /** Starts applying to {@code key}, which was just registered. */
  void attach(SelectionKey key) {
    this.key = key;
  }

  /** {@return true once the connection is registered: a write may begin} */
  boolean attached() {
    return key != null;
  }

  /**
   * {@return true if flushDelay holds a flush that {@code mayWait} back: the loop's timer comes for
   * it at the deadline} Else forgets any deadline: the flush happens now.
   */
  boolean holdBack(boolean mayWait) {
    if (delayedFlush && mayWait) {
      long due = out.flushDue(flushDelayNanos, maxFlushDelayNanos);
      if (System.nanoTime() - due < 0) {
        flushDeadline = due;
        transport.loop.addTimer(transport);
        return true;
      }
    }
    flushDeadline = 0;
    return false;
  }

  /** {@return the deadline of the flush held back, or 0} */
  long flushDeadline() {
    return flushDeadline;
  }

  /** {@return true if a flush held back is due at {@code now}} */
  boolean flushDue(long now) {
    return flushDeadline != 0 && now - flushDeadline >= 0;
  }

  /**
   * Writes what the send queue took, then lets the queues this one held go on and sets {@code
   * OP_WRITE} for what is left.
   *
   * @return true if bytes still wait for the socket (TLS records it did not take count)
   * @throws IOException if a write failed; nothing after it was done
   */
  boolean write() throws IOException {
    Wire wire = transport.wire;
    List<Runnable> drained = out.write(wire, transport.config.writeBufferSize());
    boolean wirePending = !wire.flush();
    boolean waiting = out.hasWriting() || wirePending;
    Liveness liveness = transport.liveness;
    if (liveness.watchesWrites()) liveness.noteWrite(out.writtenBytes(), waiting);
    if (drained != null) {
      for (Runnable signal : drained) signal.run();
    }
    writeInterest(waiting);
    return waiting;
  }

  /** Sets OP_WRITE on or off. With {@link ReadInterest}, the only writers of the key's ops. */
  void writeInterest(boolean on) {
    if (key == null || !key.isValid()) return;
    int ops = key.interestOps();
    int wanted = on ? ops | SelectionKey.OP_WRITE : ops & ~SelectionKey.OP_WRITE;
    if (wanted != ops) key.interestOps(wanted);
  }

  /** Sets OP_WRITE on if {@code on}; never off (what is queued may still want it). */
  void writeInterestOn(boolean on) {
    if (on) writeInterest(true);
  }
}
