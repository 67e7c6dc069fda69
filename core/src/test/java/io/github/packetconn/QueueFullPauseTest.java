package io.github.packetconn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A handler's sends that overfill several queues pause the connection being handled until the last
 * of them drains: each queue counts the signal it holds, and the first queue to drain (a healthy
 * reader's) does not let the talker go on filling the others (a dead reader's).
 */
class QueueFullPauseTest {
  /** A drain signal that counts what the queues tell it. */
  private static final class Counting implements Runnable, SendQueue.Holding {
    final AtomicInteger held = new AtomicInteger();
    final AtomicInteger ran = new AtomicInteger();

    @Override
    public void held() {
      held.incrementAndGet();
    }

    @Override
    public void run() {
      ran.incrementAndGet();
    }
  }

  private static SendQueue queue() {
    return new SendQueue(100, false, MemoryBudget.unlimited(), false, () -> {});
  }

  private static void drain(SendQueue queue) throws IOException {
    queue.takeFilled();
    List<Runnable> signals = queue.write(new SendQueueTest.Sink(), 1 << 20);
    if (signals != null) signals.forEach(Runnable::run);
  }

  @Test
  void aSignalIsHeldOncePerOverfilledQueueAndRunsWhenEachDrains() throws IOException {
    Counting signal = new Counting();
    SendQueue healthy = queue();
    SendQueue dead = queue();
    try (Packet p = Packet.of(new byte[60])) {
      for (SendQueue q : List.of(healthy, dead)) {
        assertEquals(SendQueue.Overflow.NONE, q.offerOnLoop(p, true, signal));
        assertEquals(SendQueue.Overflow.BOUND, q.offerOnLoop(p, true, signal));
        assertEquals(SendQueue.Overflow.BOUND, q.offerOnLoop(p, true, signal), "again: still held once");
      }
    }
    assertEquals(2, signal.held.get(), "held by two queues");
    drain(healthy);
    assertEquals(1, signal.ran.get(), "one of two drained: the talker must wait for the other");
    dead.discard("closed").forEach(Runnable::run); // Aborted: its signals are run too.
    assertEquals(2, signal.ran.get());
    assertTrue(healthy.isEmpty());
  }

  @Test
  void aSignalHeldAgainAfterADrainIsCountedAgain() throws IOException {
    Counting signal = new Counting();
    SendQueue q = queue();
    try (Packet p = Packet.of(new byte[60])) {
      q.offerOnLoop(p, true, signal);
      q.offerOnLoop(p, true, signal);
      drain(q);
      q.offerOnLoop(p, true, signal);
      q.offerOnLoop(p, true, signal);
    }
    assertEquals(2, signal.held.get());
    assertEquals(1, signal.ran.get());
    q.discard("closed").forEach(Runnable::run);
    assertEquals(2, signal.ran.get());
  }
}
