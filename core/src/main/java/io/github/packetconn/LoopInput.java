package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The input side of a loop connection: reads the wire, decodes the frames and hands each packet to
 * the handler, or, for TLS received in the blocking style, decodes into the inbox on a receiver's
 * thread that pulls; pauses reading for full queues and the memory budget, and resumes it; counts
 * what came in. What a read finds besides packets (a failure, the peer's end) goes to the {@link
 * LoopTransport}, which owns the state.
 *
 * <p>Thread rule: everything here runs on the connection's event loop, except {@link #pull()}, which
 * a blocking receiver runs on its own thread holding {@code decoderLock}, and the drain signals,
 * which any thread may run. The loop decodes only for a handler (a closing connection's input it
 * discards), so the decoder is never used by two threads at once; the loop takes the lock to end
 * or release the decoder.
 */
final class LoopInput {
  private static final VarHandle PACKETS_IN;
  private static final VarHandle BYTES_READ;
  private static final VarHandle BYTES_PULLED;
  private static final VarHandle QUEUES_HOLDING;

  static {
    MethodHandles.Lookup lookup = MethodHandles.lookup();
    PACKETS_IN = VarHandles.field(lookup, "packetsIn", long.class);
    BYTES_READ = VarHandles.field(lookup, "bytesRead", long.class);
    BYTES_PULLED = VarHandles.field(lookup, "bytesPulled", long.class);
    QUEUES_HOLDING = VarHandles.field(lookup, "queuesHolding", int.class);
  }

  private final LoopTransport transport; // Its fields are read through it: no copies per connection.
  private final FrameDecoder decoder;
  private final FrameDecoder.Sink sink = this::deliver;
  // Held by whoever uses the decoder of a connection whose receivers pull: the receiver's thread
  // while it reads and decodes, the I/O thread when it ends or releases the decoder.
  private final ReentrantLock decoderLock = new ReentrantLock();
  // Signals this connection gives other queues and the budget, to resume reading: stable identities.
  final Runnable resumeAfterQueueFull = new QueueFullSignal();
  private final Runnable resumeAfterQueuedBudget;
  private final Runnable resumeAfterPartialBudget;

  @SuppressWarnings("unused") // Through QUEUES_HOLDING.
  private volatile int queuesHolding; // Queues our handler overfilled that have not drained yet.

  // Counters for stats(), written with setOpaque by their one writer at a time and read with
  // getOpaque: no lock, no fence and no allocation per packet, yet never a torn long.
  private long packetsIn; // By whoever decodes: the I/O thread, or a receiver under decoderLock.
  private long bytesRead; // By the I/O thread.
  private long bytesPulled; // By receivers, under decoderLock.

  LoopInput(LoopTransport transport) {
    this.transport = transport;
    PacketConfig config = transport.config;
    this.decoder = new FrameDecoder(config.maxPacketSize(), config.crc(), config.memoryBudget());
    this.resumeAfterQueuedBudget = () -> transport.request(LoopTransport.RESUME_QUEUED_BUDGET);
    this.resumeAfterPartialBudget = () -> transport.request(LoopTransport.RESUME_PARTIAL_BUDGET);
  }

  /** {@return the packets received so far} Any thread. */
  long packetsIn() {
    return (long) PACKETS_IN.getOpaque(this);
  }

  /** {@return the bytes read so far, by the I/O thread and by receivers} Any thread. */
  long bytesIn() {
    return (long) BYTES_READ.getOpaque(this) + (long) BYTES_PULLED.getOpaque(this);
  }

  // ---- reading on the loop

  /** Reads what the socket has, a few times while it fills the buffer, and hands out the packets. */
  void read() {
    if (transport.state == State.CLOSED) return;
    if (overBudget()) {
      pauseForBudget();
      return;
    }
    EventLoop loop = transport.loop;
    Wire wire = transport.wire;
    int size = transport.config.readBufferSize();
    ByteBuffer buffer = loop.readBuffer(size);
    for (int reads = 0; reads < 4; reads++) { // A few reads per wake-up, then let others in.
      int n;
      try {
        n = wire.read(buffer);
      } catch (IOException e) {
        transport.finish(e, false);
        return;
      }
      if (n < 0) {
        transport.endOfStream();
        break;
      }
      if (n == 0) break;
      BYTES_READ.setOpaque(this, bytesRead + n);
      buffer.flip();
      if (transport.state != State.OPEN) {
        buffer.clear().limit(size); // Closing: the peer's packets are no longer wanted.
      } else {
        loop.dispatching = this;
        try {
          decoder.decode(buffer, sink);
        } catch (Throwable t) {
          transport.finish(t, false);
          return;
        } finally {
          loop.dispatching = null;
        }
      }
      if (transport.state == State.CLOSED || !transport.interest.reading() || n < size) break;
      if (overBudget()) {
        pauseForBudget();
        break;
      }
      buffer.clear().limit(size);
    }
    TlsChannel tls = transport.tls;
    if (tls != null && transport.state != State.CLOSED && transport.key.isValid()) { // Answer what TLS must; come back.
      transport.output.writeInterestOn(tls.wantsWrite());
      readBufferedTls();
    }
  }

  private boolean deliver(Packet packet) throws Exception {
    if (transport.state != State.OPEN) {
      packet.release(); // Closing or closed: nobody will take it.
      return false;
    }
    PACKETS_IN.setOpaque(this, packetsIn + 1);
    PacketHandler handler = transport.handler;
    if (handler != null) {
      try {
        handler.onPacket(transport.conn, packet);
      } catch (Throwable t) {
        transport.handlerFailed = true; // Not the peer's fault, unlike what the decoder throws.
        throw t;
      }
    } else {
      transport.inbox.addPulled(packet); // Only receivers decode for the inbox: see pull().
    }
    return transport.state == State.OPEN;
  }

  /** Reads what TLS holds already decrypted or whole: the selector will not say it is there. */
  void readBufferedTls() {
    if (transport.state == State.CLOSED
        || transport.interest.backpressured()
        || transport.inputEnded
        || !transport.tls.hasBufferedInput()) {
      return;
    }
    if (transport.inbox != null && transport.state == State.OPEN) {
      transport.inbox.readable();
    } else {
      transport.request(LoopTransport.READ); // From a task, not now: let other connections in.
    }
  }

  // ---- reading on a receiver's thread

  /**
   * Reads and decodes for a receiver, on its thread, while its queue is empty (see {@link
   * ReceiveQueue}). End of stream and failures are handed to the I/O thread, which owns closing;
   * receivers see them when it ends the queue.
   */
  void pull() {
    if (transport.state != State.OPEN) return; // Closing: the I/O thread discards input from now on.
    TlsChannel tls = transport.tls;
    ByteBuffer buffer = ReadBuffers.take(transport.config.readBufferSize());
    decoderLock.lock();
    try {
      if (overBudget()) {
        transport.request(LoopTransport.PAUSE_FOR_BUDGET); // Resuming says readable() again.
        return;
      }
      if (transport.handshaking()) return; // The I/O thread shakes hands; it says readable() when done.
      int n = transport.state != State.OPEN ? 0 : transport.wire.read(buffer);
      if (n < 0) {
        transport.request(LoopTransport.END_OF_STREAM);
        return;
      }
      if (n > 0) {
        BYTES_PULLED.setOpaque(this, bytesPulled + n);
        if (transport.liveness.watchesReads()) transport.liveness.readNow();
        buffer.flip();
        decoder.decode(buffer, sink);
      }
      if (tls != null && tls.wantsWrite()) transport.request(LoopTransport.WRITE); // A reply TLS must send.
      if (overBudget()) {
        transport.request(LoopTransport.PAUSE_FOR_BUDGET);
      } else if (n == buffer.capacity() || (tls != null && tls.hasBufferedInput())) {
        transport.inbox.readable(); // Probably more: the next take reads again at once.
      } else {
        transport.request(LoopTransport.ARM_READ); // Drained: the I/O thread says when there is more.
      }
    } catch (Throwable t) {
      transport.loop.execute(() -> transport.finish(t, false));
    } finally {
      decoderLock.unlock();
      ReadBuffers.give(buffer);
    }
  }

  // ---- the decoder's end

  /** Ends the decoder at the peer's end of stream; a frame cut short throws. */
  void endOfStream() throws EOFException {
    decoderLock.lock();
    try {
      decoder.endOfStream();
    } finally {
      decoderLock.unlock();
    }
  }

  /** Frees what the decoder holds: the connection reads nothing more it would keep. */
  void releaseDecoder() {
    decoderLock.lock();
    try {
      decoder.release();
    } finally {
      decoderLock.unlock();
    }
  }

  // ---- pauses: full queues and the memory budget

  /**
   * The signal this connection leaves with each queue its handler overfills: it reads again once
   * every one of them has drained, not when the first does (a healthy reader's queue draining must
   * not let a talker go on filling a dead reader's). Counted up under the queue's lock, on this
   * connection's loop; counted down by whichever thread drains or discards the queue.
   */
  private final class QueueFullSignal implements Runnable, SendQueue.Holding {
    @Override
    public void held() {
      QUEUES_HOLDING.getAndAdd(LoopInput.this, 1);
    }

    @Override
    public void run() {
      if ((int) QUEUES_HOLDING.getAndAdd(LoopInput.this, -1) == 1) {
        transport.request(LoopTransport.RESUME_QUEUE_FULL);
      }
    }
  }

  /**
   * Stops reading this connection, whose handler's send went past another queue's bound or the
   * {@code budget} as {@code overflow} says, until that queue drains or the budget has room.
   */
  void pushedBack(SendQueue.Overflow overflow, MemoryBudget budget, PacketConn sendingTo) {
    if (overflow.pastBound()) {
      transport.events.paused(BackpressureEvent.SEND_QUEUE_FULL, sendingTo);
      transport.interest.pause(ReadInterest.Pause.QUEUE_FULL); // The peer fills it up.
    }
    if (overflow.pastBudget()) {
      transport.events.paused(BackpressureEvent.QUEUED_BUDGET, null);
      transport.interest.pause(ReadInterest.Pause.QUEUED_BUDGET);
      if (!budget.pauseSourceUntilRoom(resumeAfterQueuedBudget)) resume(ReadInterest.Pause.QUEUED_BUDGET);
    }
  }

  /** Resumes reading after the last queue holding it drained, unless one overfilled since holds it again. */
  void queuesDrained() {
    if ((int) QUEUES_HOLDING.getVolatile(this) == 0) resume(ReadInterest.Pause.QUEUE_FULL);
  }

  /**
   * {@return true if the budget's account of partly received frames is spent and this connection
   * must not read (see {@link MemoryBudget}): what it reads might be kept}
   */
  private boolean overBudget() {
    return transport.state == State.OPEN && !transport.config.memoryBudget().mayRead(decoder); // Closing: nothing is kept.
  }

  /** Stops reading until the budget has room, unless it lets this connection finish its frame. */
  void pauseForBudget() {
    if (transport.state == State.CLOSED) return;
    transport.events.paused(BackpressureEvent.PARTIAL_BUDGET, null);
    transport.interest.pause(ReadInterest.Pause.PARTIAL_BUDGET);
    transport.interest.resume(ReadInterest.Pause.RECEIVER); // Resuming reads again, and tells the receivers.
    boolean holding;
    decoderLock.lock(); // A receiver may be decoding.
    try {
      holding = decoder.held() > 0; // Only a frame that holds budget can finish and free it.
    } finally {
      decoderLock.unlock();
    }
    if (!transport.config.memoryBudget().pauseReaderUntilRoom(resumeAfterPartialBudget, holding ? decoder : null)) {
      resume(ReadInterest.Pause.PARTIAL_BUDGET);
    }
  }

  void resume(ReadInterest.Pause reason) {
    if (transport.state == State.CLOSED) return;
    boolean reading = transport.interest.resume(reason);
    if (!transport.interest.backpressured()) transport.events.resumed();
    if (reading && transport.tls != null && !transport.handshaking()) readBufferedTls();
  }
}
