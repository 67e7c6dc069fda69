package io.github.packetconn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The receive queue's lock-free slots: order, room, and receivers racing each other and publishes. */
class PacketSlotsTest {
  private static Packet numbered(int n) {
    return Packet.allocate(4).writeInt(n);
  }

  private static int number(Packet p) {
    try (p) {
      return p.readInt();
    }
  }

  private static ArrayDeque<Packet> numbered(int from, int count) {
    ArrayDeque<Packet> list = new ArrayDeque<>();
    for (int i = from; i < from + count; i++) list.add(numbered(i));
    return list;
  }

  @Test
  void packetsComeOutInTheOrderTheyWerePublishedAcrossAppendsAndRestarts() {
    PacketSlots slots = new PacketSlots();
    assertTrue(slots.isEmpty());
    assertNull(slots.poll());
    slots.publish(numbered(0, 3));
    assertEquals(0, number(slots.poll()));
    slots.publish(numbered(3, 40)); // Behind the two still there, past the first array.
    for (int i = 1; i < 43; i++) assertEquals(i, number(slots.poll()));
    assertTrue(slots.isEmpty());
    assertNull(slots.poll());
    slots.publish(numbered(43, 2)); // All taken: starts again at the first slot.
    assertEquals(43, number(slots.poll()));
    assertEquals(44, number(slots.poll()));
    assertNull(slots.poll());
  }

  @Test
  void aSwapHandsOverTheArrayAndOnlyWhenAllAreTaken() {
    PacketSlots slots = new PacketSlots();
    Packet[] mine = {numbered(0), numbered(1), null};
    Packet[] theirs = slots.swap(mine, 2);
    assertTrue(theirs != mine);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> slots.swap(theirs, 0));
    assertEquals("swap with 2 packets left, 0 new", e.getMessage());
    assertEquals(0, number(slots.poll()));
    assertEquals(1, number(slots.poll()));
    assertSame(mine, slots.swap(theirs, 0));
    assertNull(slots.poll());
  }

  @Test
  void whatDoesNotFitStaysWithTheCallerInOrder() {
    PacketSlots slots = new PacketSlots();
    ArrayDeque<Packet> pulled = numbered(0, PacketSlots.MAX + 5);
    slots.publish(pulled);
    assertEquals(5, pulled.size(), "left to the caller");
    slots.publish(pulled); // Full: nothing more fits yet.
    assertEquals(5, pulled.size());
    for (int i = 0; i < PacketSlots.MAX; i++) assertEquals(i, number(slots.poll()));
    slots.publish(pulled);
    assertTrue(pulled.isEmpty());
    for (int i = PacketSlots.MAX; i < PacketSlots.MAX + 5; i++) assertEquals(i, number(slots.poll()));
    assertNull(slots.poll());
  }

  @Test
  void aBurstsArrayIsNotKeptAndTakenSlotsHoldNoHandles() {
    PacketSlots slots = new PacketSlots();
    slots.publish(numbered(0, 5000));
    for (int i = 0; i < 5000; i++) assertEquals(i, number(slots.poll()));
    slots.publish(numbered(5000, 3)); // Starts again, with no more than it needs.
    assertEquals(3, slots.footprint()[1], "handles held");
    assertTrue(slots.footprint()[0] <= PacketSlots.KEEP, "array of " + slots.footprint()[0]);
    for (int i = 5000; i < 5003; i++) assertEquals(i, number(slots.poll()));

    Packet[] burst = new Packet[4096];
    for (int i = 0; i < 4000; i++) burst[i] = numbered(i);
    slots.swap(burst, 4000);
    for (int i = 0; i < 4000; i++) assertEquals(i, number(slots.poll()));
    Packet[] back = slots.swap(new Packet[] {numbered(7)}, 1);
    assertSame(burst, back);
    assertEquals(0, java.util.Arrays.stream(back).filter(p -> p != null).count(), "stale handles");
    assertEquals(7, number(slots.poll()));
  }

  @Test
  void tidyingAnEmptySlotsLetsGoOfItsArrayAndHandlesButNeverOfAPacketLeft() {
    PacketSlots slots = new PacketSlots();
    slots.publish(numbered(0, 100));
    for (int i = 0; i < 99; i++) assertEquals(i, number(slots.poll()));
    slots.tidy(); // One left: nothing changes.
    assertEquals(100, slots.footprint()[1]);
    assertEquals(99, number(slots.poll()));
    assertTrue(slots.untidy(), "100 stale handles");
    slots.tidy();
    assertEquals(0, slots.footprint()[1], "handles held");
    assertFalse(slots.untidy());
    slots.publish(numbered(0, 5000));
    for (int i = 0; i < 5000; i++) assertEquals(i, number(slots.poll()));
    slots.tidy();
    assertEquals(16, slots.footprint()[0], "array length");
    slots.publish(numbered(1, 2)); // Works as before.
    assertEquals(1, number(slots.poll()));
    assertEquals(2, number(slots.poll()));
    assertNull(slots.poll());
  }

  /**
   * A receive queue that took two bursts of 20,000 packets, one read each, then reads of 100 goes
   * back to small arrays; a receiver that then waits for more leaves no handle to a packet taken.
   */
  @Test
  @Timeout(60)
  void aReceiveQueueLetsGoOfABurstsArrays() throws Exception {
    int[] batches = {20_000, 20_000, 100};
    int[] next = {0};
    ReceiveQueue[] q = {null};
    q[0] = new ReceiveQueue(mayWait -> {
      if (next[0] == batches.length) return; // Nothing more: receivers wait.
      int b = next[0]++;
      for (int i = 0; i < batches[b]; i++) q[0].addPulled(numbered(i));
      q[0].readable();
    }, false);
    for (int batch : batches) {
      for (int i = 0; i < batch; i++) assertEquals(i, number(q[0].take(-1)));
    }
    int[] footprint = q[0].footprint(); // slots' length, held; pull array's length, held
    assertTrue(footprint[0] <= PacketSlots.KEEP && footprint[2] <= PacketSlots.KEEP,
        "arrays of " + footprint[0] + " and " + footprint[2]);
    Thread waiter = Thread.ofPlatform().start(() -> {
      try {
        assertNull(q[0].take(-1));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    io.github.packetconn.testing.Await.awaitTrue(() -> waiter.getState() == Thread.State.WAITING, () -> waiter + " is " + waiter.getState());
    footprint = q[0].footprint();
    assertEquals(0, footprint[1] + footprint[3], "handles held by a queue whose receiver waits");
    q[0].end(null, false);
    waiter.join();
  }

  /**
   * Four receivers take while a publisher publishes batches of 1 to 100 packets, appending behind
   * what is left, starting again once all are taken, or swapping in an array of its own and filling
   * the one it got back (which receivers that lost the race may still read): every packet is
   * taken exactly once, and each receiver sees its packets in publishing order.
   */
  @Test
  @Timeout(60)
  void racingReceiversTakeEveryPacketOnceAndInOrder() throws Exception {
    int total = 200_000;
    PacketSlots slots = new PacketSlots();
    AtomicBoolean published = new AtomicBoolean();
    List<List<Integer>> taken = new ArrayList<>();
    List<Thread> receivers = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int r = 0; r < 4; r++) {
      List<Integer> mine = new ArrayList<>();
      taken.add(mine);
      Runnable receive = () -> {
        try {
          while (true) {
            Packet p = slots.poll();
            if (p != null) {
              mine.add(number(p));
            } else if (published.get() && slots.isEmpty()) {
              return;
            } else {
              Thread.onSpinWait();
            }
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      };
      receivers.add(r % 2 == 0 ? Thread.ofPlatform().start(receive) : Thread.ofVirtual().start(receive));
    }
    Random random = new Random(7);
    ArrayDeque<Packet> pending = new ArrayDeque<>();
    // Refilled after each swap: the array receivers may still read. Of varied lengths, so that a
    // receiver may find a shorter array than the word it read describes.
    Packet[] stage = new Packet[100];
    for (int next = 0; next < total || !pending.isEmpty(); ) {
      int n = Math.min(1 + random.nextInt(100), total - next);
      if (pending.isEmpty() && slots.isEmpty() && random.nextBoolean()) {
        if (stage.length < n) stage = new Packet[n + random.nextInt(8)];
        for (int i = 0; i < n; i++) stage[i] = numbered(next + i);
        stage = slots.swap(stage, n);
      } else {
        pending.addAll(numbered(next, n));
        slots.publish(pending);
      }
      next += n;
      if (random.nextInt(4) == 0) Thread.yield(); // Sometimes let them drain it: restarts too.
    }
    published.set(true);
    for (Thread t : receivers) t.join();
    assertEquals(List.of(), failures);
    boolean[] seen = new boolean[total];
    int count = 0;
    for (List<Integer> mine : taken) {
      for (int i = 0; i < mine.size(); i++) {
        int n = mine.get(i);
        assertTrue(!seen[n], "packet " + n + " taken twice");
        seen[n] = true;
        count++;
        if (i > 0) assertTrue(mine.get(i - 1) < n, "a receiver took " + n + " after " + mine.get(i - 1));
      }
    }
    assertEquals(total, count);
  }
}
