package io.github.packetconn;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Received packets waiting for {@link PacketConn#receive()}, then the end of the stream.
 *
 * <p>Receivers <b>pull</b>: a receiver that finds the queue empty while the socket may have bytes
 * ({@link #readable()}) reads and decodes them itself, on its own thread, through the {@link
 * Source}, one receiver at a time. The I/O thread only tells when the socket becomes readable. So
 * a blocking receiver costs the I/O thread no decoding, packets never pile up ahead of a slow
 * receiver (at most one read buffer's worth is decoded ahead), and a receiver that stops receiving
 * stops reading, so TCP pushes back on the peer.
 *
 * <p>Packets wait in {@link PacketSlots}, where a receiver takes one without the lock when there
 * is one; the lock is for the rest: pulling, waiting, the end.
 *
 * <p>Thread rule: every method takes {@code lock} and may run on any thread (the {@link Alarm}'s
 * ring on the transport's timer loop), except {@link #addPulled}, which only the pulling receiver
 * calls, without it, and {@link #take}'s first look at the slots, which needs none.
 */
final class ReceiveQueue {
  /** Reads what the socket has into this queue; called on a receiver's thread, no lock held. */
  interface Source {
    /**
     * Reads and decodes what comes; without {@code mayWait}, only what is there already, and never
     * in a read that an interrupt would end by closing the channel. Says {@link #readable()} again
     * if there may be more.
     */
    void pull(boolean mayWait);
  }

  /**
   * Wakes waiting receivers at a deadline, through {@link #alarmRang()}, at about millisecond
   * precision, instead of each timed wait parking with a timeout of its own: a virtual thread's
   * timed park goes through the JDK's delay scheduler, a platform thread woken on every wait (a
   * timed receive cost twice a receive() for that alone). The timer loop of a transport that has
   * one (see {@link SocketTransport}); without one, waits are timed by the JDK.
   */
  interface Alarm {
    /** Has {@link #alarmRang()} called at {@code deadlineNanos} or before. Any thread; never blocks. */
    void wakeAt(long deadlineNanos);
  }

  /** Waits shorter than this are timed by the JDK: the alarm's millisecond would be too coarse. */
  private static final long ALARM_MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /** The furthest ahead an alarm is set: a longer wait sets it again when it rings. */
  private static final long ALARM_MAX_NANOS = TimeUnit.DAYS.toNanos(1);

  private final Source source;
  // The source blocks in the socket until bytes come: a receiver with a timeout cannot wait there
  // (an interrupt, which must only end its wait, would close the channel), so it takes what the
  // socket has without waiting, and if that is nothing, a virtual thread waits in the socket for it
  // while it waits no longer than it may.
  private final boolean blockingSource;
  private volatile Alarm alarm; // Set once by the transport, before anyone receives; null: none.
  private final Runnable pullInBackground = this::pullInBackground;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final PacketSlots queued = new PacketSlots(); // Published packets; taken without the lock.
  private ArrayDeque<Packet> overflow = new ArrayDeque<>(); // What the slots could not hold yet.
  private boolean overflowGrew; // It held more than PacketSlots.KEEP: replaced once empty.
  private Packet[] pulled = new Packet[16]; // What the pull in progress decoded; the puller's, no lock.
  private int pulledCount;
  private boolean readable = true; // The socket may have bytes: the next receiver pulls.
  private boolean pulling; // A receiver is in source.pull().
  private boolean ended;
  private boolean discarded; // The owner closed: packets are released, not kept for receivers.
  private Throwable cause; // Why the stream ended abnormally; null for a clean end.
  private int waiting;
  private long backgroundPulls; // Pulls by a virtual thread for a timed receiver; for tests.

  ReceiveQueue(Source source, boolean blockingSource) {
    this.source = source;
    this.blockingSource = blockingSource;
  }

  /**
   * Adds a packet decoded by {@link Source#pull(boolean)}, on the pulling thread. The packets of one pull
   * are published together when it returns: one lock for a read buffer full of packets.
   */
  void addPulled(Packet packet) {
    if (pulledCount == pulled.length) pulled = Arrays.copyOf(pulled, 2 * pulledCount);
    pulled[pulledCount++] = packet;
  }

  /** Says the socket may have bytes, waking a receiver to pull them. */
  void readable() {
    lock.lock();
    try {
      readable = true;
      if (waiting > 0 && !pulling) notEmpty.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends the stream: receivers get the queued packets, then null (clean end) or {@code cause}.
   * With {@code discard}, queued packets are released instead.
   */
  void end(Throwable cause, boolean discard) {
    lock.lock();
    try {
      if (!ended) {
        ended = true;
        this.cause = cause;
      }
      if (discard) {
        discarded = true;
        for (Packet p; (p = queued.poll()) != null; ) p.release(); // Each taken once: by us or a receiver.
        for (Packet p; (p = overflow.pollFirst()) != null; ) p.release();
      }
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Has the transport's timer wake timed receivers through {@link #alarmRang()}. */
  void alarm(Alarm alarm) {
    this.alarm = alarm;
  }

  /** Wakes every waiting receiver to look at its deadline: the {@link Alarm} rang. */
  void alarmRang() {
    lock.lock();
    try {
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Pulls for receivers that wait with a timeout, and hands them what came. */
  private void pullInBackground() {
    try {
      source.pull(true);
    } finally {
      lock.lock();
      try {
        pulling = false;
        publishPulled();
        notEmpty.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Hands what a pull decoded to receivers: into the slots, or behind what waits for room there.
   * Lock held.
   */
  private void publishPulled() {
    int n = pulledCount;
    if (n == 0) return;
    pulledCount = 0;
    if (!discarded && overflow.isEmpty() && queued.isEmpty() && n <= PacketSlots.MAX) {
      // The usual case (pulls start on an empty queue): no copy. Once reads are small again, a
      // burst's arrays are not kept (PacketSlots, "Memory"): neither the one handed back nor ours.
      boolean small = n <= PacketSlots.KEEP;
      Packet[] batch = small && pulled.length > PacketSlots.KEEP ? Arrays.copyOf(pulled, Math.max(n, 16)) : pulled;
      Packet[] old = queued.swap(batch, n);
      pulled = small && old.length > PacketSlots.KEEP ? new Packet[16] : old;
      return;
    }
    for (int i = 0; i < n; i++) {
      if (discarded) { // The owner closed meanwhile: nobody will take them.
        pulled[i].release();
      } else {
        overflow.addLast(pulled[i]); // Behind what waits already; the slots take what fits.
      }
      pulled[i] = null;
    }
    if (pulled.length > PacketSlots.KEEP && n <= PacketSlots.KEEP) pulled = new Packet[16];
    if (overflow.size() > PacketSlots.KEEP) overflowGrew = true;
    publishOverflow();
  }

  /**
   * Says the source found nothing to read and is about to wait for bytes: a burst's arrays, and
   * the handles of the packets taken since, are let go (PacketSlots, "Memory"). On the pulling
   * thread, in {@link Source#pull(boolean)}, before it has decoded anything; takes the lock only if
   * there is something to free.
   */
  void idle() {
    if (pulledCount == 0 && pulled.length > PacketSlots.KEEP) pulled = new Packet[16]; // The puller's: no lock.
    if (queued.untidy()) {
      lock.lock();
      try {
        queued.tidy();
      } finally {
        lock.unlock();
      }
    }
  }

  /** {@link #idle()}, for a receiver about to wait in the queue. Lock held. */
  private void idleLocked() {
    if (pulling) return; // The pull in progress owns its array, and will publish into the slots.
    if (pulledCount == 0 && pulled.length > PacketSlots.KEEP) pulled = new Packet[16];
    if (queued.untidy()) queued.tidy();
  }

  /** Moves what fits from the overflow list into the slots. Lock held. */
  private void publishOverflow() {
    queued.publish(overflow);
    if (overflowGrew && overflow.isEmpty()) { // An ArrayDeque never shrinks: start a new one.
      overflow = new ArrayDeque<>();
      overflowGrew = false;
    }
  }

  /** {@return true if no packet waits, in the slots or behind them} Lock held. */
  private boolean empty() {
    return queued.isEmpty() && overflow.isEmpty();
  }

  /**
   * Takes the next packet, pulling from the socket or waiting up to {@code timeoutNanos} (forever
   * when negative).
   *
   * @return the packet, or null at a clean end of the stream
   * @throws IOException the cause of an abnormal end, or a timeout
   */
  Packet take(long timeoutNanos) throws IOException {
    Packet packet = queued.poll(); // Most takes: a packet is there, and no lock is needed.
    return packet != null ? packet : takeLocked(timeoutNanos); // Small enough to inline.
  }

  /** {@link #take}, when no packet was there: pulls, waits, or meets the end, under the lock. */
  private Packet takeLocked(long timeoutNanos) throws IOException {
    Packet packet;
    lock.lock();
    try {
      long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
      waiting++;
      boolean polled = false; // A timed receiver of a blocking source took what the socket had.
      try {
        while (true) {
          packet = queued.poll(); // Receivers without the lock may take the one we saw.
          if (packet != null) {
            if (waiting > 1 && (!empty() || readable)) notEmpty.signal(); // The next receiver.
            return packet;
          }
          if (!overflow.isEmpty()) {
            publishOverflow();
            continue;
          }
          // An end that keeps the packets (a failure, the peer's end) may come from inside a pull
          // whose packets are not published yet: wait for them, or they would come after the end.
          if (ended && !(pulling && !discarded)) break;
          boolean mayWait = !blockingSource || timeoutNanos < 0;
          if (readable && !pulling && !mayWait && polled) {
            readable = false;
            pulling = true;
            backgroundPulls++;
            Thread.ofVirtual().name("packetconn-receive").start(pullInBackground);
          } else if (readable && !pulling) {
            readable = false;
            pulling = true;
            polled = !mayWait;
            lock.unlock();
            try {
              source.pull(mayWait); // Adds what it decodes, and says readable() again if there is more.
            } finally {
              lock.lock();
              pulling = false;
              publishPulled();
            }
            // Someone else's turn; not after a look that found nothing: this receiver hands the
            // wait to a thread right away.
            if (empty() && (ended || (readable && !polled))) notEmpty.signal();
            continue;
          }
          if (overflow.isEmpty()) idleLocked(); // About to wait: nothing comes for the moment.
          if (timeoutNanos < 0) {
            notEmpty.await();
          } else {
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) throw timedOut(timeoutNanos);
            Alarm a = alarm;
            // Not on an I/O thread, which may be the one whose timer would ring: it would never ring.
            if (a != null && timeoutNanos >= ALARM_MIN_NANOS && EventLoop.current() == null) {
              // Under the lock: alarmRang() cannot signal before the await. At most a day ahead, so
              // that a huge timeout does not wrap round; the receiver sets it again when woken.
              long alarmAt = System.nanoTime() + Math.min(remaining, ALARM_MAX_NANOS);
              a.wakeAt(alarmAt == 0 ? 1 : alarmAt); // 0 means no alarm.
              notEmpty.await();
            } else {
              notEmpty.awaitNanos(remaining);
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting to receive");
      } finally {
        waiting--;
      }
      if (cause == null) return null; // The end, every packet taken.
      if (cause instanceof IOException io) throw io;
      throw new IOException("connection closed by " + cause, cause);
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@return the slots' array length and handles held, then the pull array's length and handles
   * held; for tests}
   */
  int[] footprint() {
    lock.lock();
    try {
      int held = 0;
      for (Packet p : pulled) if (p != null) held++;
      int[] slots = queued.footprint();
      return new int[] {slots[0], slots[1], pulled.length, held};
    } finally {
      lock.unlock();
    }
  }

  /** {@return how many pulls a virtual thread made for timed receivers; for tests} */
  long backgroundPulls() {
    lock.lock();
    try {
      return backgroundPulls;
    } finally {
      lock.unlock();
    }
  }

  private static SocketTimeoutException timedOut(long timeoutNanos) {
    return new SocketTimeoutException(
        "receive timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
  }
}
