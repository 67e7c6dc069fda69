package io.github.packetconn;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Received packets waiting for {@link PacketConn#receive()}, then the end of the stream. The event
 * loop adds; any number of threads (typically one virtual thread) take. The queue never refuses a
 * packet: when it reaches its capacity it tells the loop to stop reading, and once a taker has
 * drained it to half it calls back to resume. Both decisions are made under the queue's lock, so a
 * take cannot slip between a full add and the pause.
 */
final class ReceiveQueue {
  private final int capacity;
  private final Runnable resume; // Called, outside the lock, when a take ends a pause.
  private boolean paused;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final ArrayDeque<Packet> packets = new ArrayDeque<>();
  private boolean ended;
  private Throwable cause; // Why the stream ended abnormally; null for a clean end.
  private int waiting;

  ReceiveQueue(int capacity, Runnable resume) {
    this.capacity = capacity;
    this.resume = resume;
  }

  /**
   * Adds a packet; after the end it is released instead.
   *
   * @return true if the queue is full and the connection should stop reading
   */
  boolean add(Packet packet) {
    lock.lock();
    try {
      if (ended) {
        packet.release();
        return false;
      }
      packets.addLast(packet);
      // Only the first packet wakes a receiver (receivers wait only on an empty queue); a receiver
      // that takes one and sees more wakes the next, so concurrent receivers are not stranded.
      if (waiting > 0 && packets.size() == 1) notEmpty.signal();
      if (packets.size() >= capacity) paused = true;
      return paused;
    } finally {
      lock.unlock();
    }
  }

  /** {@return true while reading is paused for this queue} */
  boolean isPaused() {
    lock.lock();
    try {
      return paused;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends the stream: takers get the queued packets, then null or {@code cause}. With {@code discard}
   * the queued packets are released instead (a local close or abort).
   */
  void end(Throwable cause, boolean discard) {
    lock.lock();
    try {
      if (!ended) {
        ended = true;
        this.cause = cause;
      }
      if (discard) {
        for (Packet p; (p = packets.pollFirst()) != null; ) p.release();
      }
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the next packet, waiting up to {@code timeoutNanos} (forever when negative).
   *
   * @return the packet, or null at a clean end of the stream
   * @throws SocketTimeoutException if nothing arrived in time
   * @throws IOException the cause of an abnormal end, once the packets before it were taken
   */
  Packet take(long timeoutNanos) throws IOException {
    Packet packet;
    boolean resumed = false;
    lock.lock();
    try {
      long remaining = timeoutNanos;
      waiting++;
      try {
        while (packets.isEmpty() && !ended) {
          if (timeoutNanos < 0) {
            notEmpty.await();
          } else {
            if (remaining <= 0) {
              throw new SocketTimeoutException(
                  "receive timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
            }
            remaining = notEmpty.awaitNanos(remaining);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting to receive");
      } finally {
        waiting--;
      }
      packet = packets.pollFirst();
      if (waiting > 0 && !packets.isEmpty()) notEmpty.signal();
      if (packet == null) {
        if (cause == null) return null;
        if (cause instanceof IOException io) throw io;
        throw new IOException("connection closed by " + cause, cause);
      }
      if (paused && packets.size() <= capacity / 2) {
        paused = false;
        resumed = true;
      }
    } finally {
      lock.unlock();
    }
    if (resumed) resume.run();
    return packet;
  }
}
