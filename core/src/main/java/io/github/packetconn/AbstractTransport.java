package io.github.packetconn;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * What both transports keep the same way: the connection they serve, its lifecycle record (state,
 * cause, close kind, the close futures), the send queue's side of the face (sending, writability),
 * the wait of a graceful close and the bookkeeping of a connection's end. How bytes move, and so
 * when the state changes, is the subclass's.
 *
 * <p>Thread rule: every method here may run on any thread; the subclass changes {@link #state}
 * (compare-and-set through {@link #STATE} where threads race) and the close record under its own
 * rule, and {@link #ended} runs once, from its {@code finish}.
 */
abstract class AbstractTransport implements Transport {
  static final VarHandle STATE;

  static {
    STATE = VarHandles.field(MethodHandles.lookup(), "state", State.class);
  }

  // Shared: a done future never changes (nothing here obtrudes), and nobody waits on a plain one.
  private static final CompletableFuture<Void> NO_HANDSHAKE = CompletableFuture.completedFuture(null);

  final PacketConn conn; // The application's face, handed to handlers.
  final SocketChannel channel;
  final PacketConfig config;
  final ReceiveQueue inbox; // Null: packets go to a handler.
  final Consumer<PacketConn> onClosed; // The server's bookkeeping; runs before the futures.
  final ConnectionEvents events; // Flight Recorder.
  final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
  final CompletableFuture<Void> outputClosed = new CompletableFuture<>();
  final CompletableFuture<Void> established; // TLS: completes when the first handshake has.
  SendQueue out; // Set once by the subclass's constructor: its callbacks are the subclass's.

  volatile State state = State.OPEN;
  volatile Throwable cause;
  volatile CloseKind closeKind; // Set when closed.
  volatile boolean aborted; // The application aborted, before the close began: it is counted so.
  volatile boolean handlerFailed; // The application's handler threw: not the peer's fault.
  javax.management.ObjectName mbean; // Registered only with -Dpacketconn.jmx.connections.

  AbstractTransport(
      PacketConn conn,
      SocketChannel channel,
      PacketConfig config,
      ReceiveQueue inbox,
      Consumer<PacketConn> onClosed,
      boolean handshakes) {
    this.conn = conn;
    this.channel = channel;
    this.config = config;
    this.inbox = inbox;
    this.onClosed = onClosed;
    this.events = new ConnectionEvents(conn);
    this.established = handshakes ? new CompletableFuture<>() : NO_HANDSHAKE;
  }

  /**
   * Queues {@code packet}, waiting up to {@code timeoutNanos} (forever when negative; not at all on
   * an I/O thread, where a full queue pauses the connection whose packet is being handled instead).
   *
   * @return false if nothing was queued
   */
  @Override
  public boolean send(Packet packet, SharedFrame shared, long timeoutNanos, boolean quietIfClosed) {
    EventLoop current = EventLoop.current();
    if (current == null) return out.offer(packet, shared, timeoutNanos, quietIfClosed);
    LoopInput source = current.dispatching; // Whose packet the handler is handling, if any.
    SendQueue.Overflow overflow =
        out.offerOnLoop(
            packet, shared, timeoutNanos < 0, quietIfClosed, source == null ? null : source.resumeAfterQueueFull);
    if (overflow == SendQueue.Overflow.REFUSED) return false;
    if (source != null) source.pushedBack(overflow, out.budget(), conn);
    return true;
  }

  @Override
  public void closeAndWait() throws IOException {
    if (inbox != null) inbox.end(null, true); // Also after a failure: nobody will receive them.
    boolean first = beginClose();
    if (EventLoop.current() != null) return; // Never block an I/O thread.
    long timeout = config.closeTimeout().toNanos();
    try {
      outputClosed.get(timeout, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      long unwritten = queuedBytes();
      if (cause instanceof SocketTimeoutException loopTimedOut) {
        throw loopTimedOut; // The I/O thread's own deadline came first, and counted the bytes.
      }
      SocketTimeoutException timedOut =
          new SocketTimeoutException(
              "close timed out after " + config.closeTimeout().toMillis() + " ms with " + unwritten
                  + " bytes unwritten; aborted");
      abort(timedOut, false);
      throw timedOut;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abort(null, true);
      throw new InterruptedIOException("interrupted while closing; aborted");
    } catch (ExecutionException e) {
      if (first) throw Transport.asIOException(e.getCause());
    }
  }

  /** Aborts because the application's connection handler threw {@code why}. */
  @Override
  public void abortByHandler(Throwable why) {
    if (state == State.CLOSED) { // Too late to blame the close on it; still, say it.
      EventLoop.logSafely(System.Logger.Level.WARNING, "connection handler failed after " + conn, why);
    } else {
      handlerFailed = true;
    }
    abort(why, false); // Also releases the packets still queued for it.
  }

  /**
   * {@return why a graceful close that ran out of {@code closeTimeout} ends: null once lingering
   * (everything was written; the peer only never closed its side), else the unwritten bytes}
   */
  final SocketTimeoutException closeTimedOut() {
    if (state == State.LINGERING) return null;
    return new SocketTimeoutException(
        "close timed out after " + config.closeTimeout().toMillis() + " ms with " + out.queuedBytes()
            + " bytes unwritten; aborted");
  }

  /**
   * Records the end of the connection, whose socket is closed and whose queues are emptied: its
   * kind and log line, the Flight Recorder event, the MBean, the server's bookkeeping; then fails a
   * handshake still under way and completes the close futures, last, so that whoever waits on them
   * sees all the rest.
   */
  final void ended(Throwable why) {
    CloseKind kind = CloseKind.of(why, aborted, handlerFailed);
    closeKind = kind;
    kind.log(conn, why);
    events.closed(kind, why);
    StatsMBean.unregister(mbean);
    if (onClosed != null) onClosed.accept(conn);
    if (!established.isDone()) {
      established.completeExceptionally(why != null ? why : new IOException("closed during the TLS handshake"));
    }
    Transport.complete(why, outputClosed, closeFuture);
  }

  @Override
  public State state() {
    return state;
  }

  @Override
  public Throwable cause() {
    return cause;
  }

  @Override
  public CompletableFuture<Void> closeFuture() {
    return closeFuture;
  }

  @Override
  public CompletableFuture<Void> outputClosed() {
    return outputClosed;
  }

  @Override
  public CompletableFuture<Void> established() {
    return established;
  }

  @Override
  public SocketChannel channel() {
    return channel;
  }

  @Override
  public CloseKind closeKind() {
    return closeKind;
  }

  @Override
  public long queuedBytes() {
    return out.queuedBytes();
  }

  @Override
  public boolean writable() {
    return out.writable();
  }

  @Override
  public long unwritableSince() {
    return out.unwritableSince();
  }

  @Override
  public CompletableFuture<Void> whenWritable() {
    return out.whenWritable();
  }
}
