package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Golden.EMPTY_CRC;
import static io.github.packetconn.testing.Golden.HI_CRC;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Golden.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.Frames;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SendQueueTest {
  /** A queue that counts the flushes it asks for, as a connection's loop would get them. */
  private static SendQueue queue(int bound, boolean crc, int[] flushRequests) {
    return new SendQueue(bound, crc, MemoryBudget.unlimited(), false, () -> flushRequests[0]++);
  }

  private static SendQueue queue(int bound, boolean crc) {
    return queue(bound, crc, new int[1]);
  }

  /** A channel that accepts at most {@code limit} bytes per write, like a socket with a small buffer. */
  static class Sink implements GatheringByteChannel {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int limit = Integer.MAX_VALUE;
    int writes;

    @Override
    public long write(ByteBuffer[] sources, int offset, int length) {
      writes++;
      long total = 0;
      for (int i = offset; i < offset + length && total < limit; i++) {
        ByteBuffer b = sources[i];
        int n = (int) Math.min(b.remaining(), limit - total);
        byte[] chunk = new byte[n];
        b.get(chunk);
        bytes.writeBytes(chunk);
        total += n;
      }
      return total;
    }

    @Override
    public long write(ByteBuffer[] sources) {
      return write(sources, 0, sources.length);
    }

    @Override
    public int write(ByteBuffer source) {
      return (int) write(new ByteBuffer[] {source});
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  @Test
  void framesStraddlingChunksEncodeExactly() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    for (boolean crc : new boolean[] {false, true}) {
      SendQueue queue = queue(Integer.MAX_VALUE, crc);
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      // Sizes around the chunk size put headers, payloads and CRCs across every kind of boundary.
      for (int i = 0; i < 300; i++) {
        int size = random.nextInt(4) == 0 ? ChunkPool.CHUNK_SIZE - 8 + random.nextInt(16) : random.nextInt(40);
        byte[] payload = new byte[size];
        random.nextBytes(payload);
        try (Packet p = Packet.of(payload)) {
          assertTrue(queue.offer(p, -1));
        }
        expected.writeBytes(Frames.encode(payload, crc));
      }
      assertEquals(expected.size(), queue.queuedBytes());
      Sink sink = new Sink();
      sink.limit = 10_000; // Partial writes, as on a busy socket.
      queue.takeFilled();
      while (queue.hasWriting()) queue.write(sink, 1 << 20);
      assertEquals(0, queue.queuedBytes());
      assertEquals(
          hex(expected.toByteArray()),
          hex(sink.bytes.toByteArray()),
          "seed " + seed + " crc " + crc);
    }
  }

  @Test
  void goldenFramesFromTheQueue() throws Exception {
    SendQueue queue = queue(1 << 20, true);
    try (Packet hi = goldenHi();
        Packet empty = Packet.allocate()) {
      queue.offer(hi, -1);
      queue.offer(empty, -1);
    }
    Sink sink = new Sink();
    queue.takeFilled();
    queue.write(sink, 1 << 20);
    assertEquals(
        HI_CRC + EMPTY_CRC, hex(sink.bytes.toByteArray()));
  }

  @Test
  void boundRefusesThenOverflowsOnlyWhenAsked() {
    int[] flushes = new int[1];
    SendQueue queue = queue(100, false, flushes);
    Runnable drained = () -> {};
    try (Packet p = Packet.of(new byte[60])) {
      assertTrue(queue.offer(p, 0));
      assertEquals(1, flushes[0], "the first frame asks for a flush");
      assertFalse(queue.offer(p, 0), "64 + 64 > 100");
      assertFalse(queue.offer(p, 1_000_000), "timed out");
      assertEquals(SendQueue.Overflow.REFUSED, queue.offerOnLoop(p, false, drained), "trySend on an I/O thread");
      assertEquals(SendQueue.Overflow.BOUND, queue.offerOnLoop(p, true, drained), "an I/O thread never waits");
      assertEquals(1, flushes[0], "one flush asked for, however many frames");
      assertEquals(128, queue.queuedBytes());
      queue.takeFilled();
      java.util.List<Runnable> signals = null;
      try {
        signals = queue.write(new Sink(), 1 << 20);
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
      assertEquals(java.util.List.of(drained), signals, "the drained queue gives back the signal");
    }
    try (Packet big = Packet.of(new byte[1000])) {
      SendQueue empty = queue(100, false);
      assertTrue(empty.offer(big, 0), "one large packet fits an empty queue");
    }
  }

  @Test
  void budgetOverflowIsToldApart() {
    MemoryBudget budget = MemoryBudget.of(1 << 20);
    SendQueue queue = new SendQueue(8 << 20, false, budget, false, () -> {});
    try (Packet p = Packet.of(new byte[(1 << 20) + 100])) {
      assertTrue(queue.offer(p, 0), "nothing queued: one large frame fits the budget");
      assertEquals(SendQueue.Overflow.REFUSED, queue.offerOnLoop(p, false, null));
      assertEquals(SendQueue.Overflow.BUDGET, queue.offerOnLoop(p, true, null));
    }
    queue.discard("closed");
    assertEquals(0, budget.used());
  }

  @Test
  void refusedQueueThrowsAndDiscardFreesEverything() {
    SendQueue queue = queue(1 << 20, false);
    try (Packet p = Packet.of(new byte[100])) {
      queue.offer(p, -1);
      queue.refuse("closed");
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> queue.offer(p, -1));
      assertEquals("closed", e.getMessage());
      assertFalse(queue.isEmpty(), "refuse keeps what was queued");
      queue.discard("closed");
      assertTrue(queue.isEmpty());
    }
  }

  @Test
  void waitingSendersAreServedInOrder() throws Exception {
    SendQueue queue = queue(100, false);
    try (Packet small = Packet.of(new byte[10]);
        Packet big = Packet.of(new byte[1000])) {
      queue.offer(small, -1);
      java.util.concurrent.CompletableFuture<Boolean> bigSend =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> queue.offer(big, -1));
      awaitTrue(() -> queue.waiting() > 0, () -> "the big frame waits for an empty queue");
      assertFalse(queue.offer(small, 0), "no overtaking");
      queue.takeFilled();
      queue.write(new Sink(), 1 << 20);
      assertTrue(bigSend.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(1004, queue.queuedBytes());
    }
  }

  @Test
  void sharedFramesBetweenCopiesAreWrittenExactlyByEveryQueue() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    for (boolean crc : new boolean[] {false, true}) {
      MemoryBudget budget = MemoryBudget.unlimited();
      SendQueue[] queues = new SendQueue[3];
      Sink[] sinks = new Sink[queues.length];
      ByteArrayOutputStream[] expected = new ByteArrayOutputStream[queues.length];
      for (int q = 0; q < queues.length; q++) {
        queues[q] = new SendQueue(Integer.MAX_VALUE, crc, budget, false, () -> {}, 1 << 20, 2 << 20, () -> {},
            EventLoop.next());
        sinks[q] = new Sink();
        sinks[q].limit = 3_000 + 7_000 * q; // Partial writes that stop inside ranges and chunks.
        expected[q] = new ByteArrayOutputStream();
      }
      for (int i = 0; i < 400; i++) {
        // Small frames are copied, large ones shared; a queue that misses a shared frame holds two
        // ranges of one slab that are not contiguous.
        int size = random.nextInt(3) == 0 ? random.nextInt(40) : 1_000 + random.nextInt(60_000);
        byte[] payload = new byte[size];
        random.nextBytes(payload);
        try (Packet p = Packet.of(payload)) {
          SharedFrame shared = FrameSharer.encode(p, budget, crc);
          assertEquals(size + 4 + (crc ? 4 : 0) >= FrameSharer.MIN_FRAME, shared != null, "size " + size);
          try {
            for (int q = 0; q < queues.length; q++) {
              if (random.nextInt(5) == 0) continue;
              assertTrue(queues[q].offer(p, shared, -1, false));
              expected[q].writeBytes(Frames.encode(payload, crc));
            }
          } finally {
            if (shared != null) shared.slab().release(1);
          }
        }
        if (random.nextInt(4) == 0) {
          int q = random.nextInt(queues.length);
          queues[q].takeFilled();
          queues[q].write(sinks[q], 1 << 20);
        }
      }
      for (int q = 0; q < queues.length; q++) {
        queues[q].takeFilled();
        while (queues[q].hasWriting()) queues[q].write(sinks[q], 64 << 10);
        assertEquals(0, queues[q].queuedBytes());
        assertEquals(
            hex(expected[q].toByteArray()), hex(sinks[q].bytes.toByteArray()), "seed " + seed + " crc " + crc);
      }
    }
    FrameSharer.retireAll();
    assertEquals(slabsBefore, FrameSlab.taken(), "every slab back in the pool once written");
  }

  /**
   * Two groups' frames alternate in one slab, so each member's queue holds ranges of the slab with
   * gaps between them: a gathering write takes up to {@link FrameSlab#VIEWS_PER_WRITE} of them (a
   * view each), and every byte goes out in order.
   */
  @Test
  void rangesOfOneSlabWithGapsGoOutInFewWrites() throws Exception {
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    MemoryBudget budget = MemoryBudget.unlimited();
    EventLoop loop = EventLoop.next();
    SendQueue[] members = new SendQueue[2]; // Of group 0 and of group 1.
    ByteArrayOutputStream[] expected = new ByteArrayOutputStream[2];
    for (int g = 0; g < 2; g++) {
      members[g] = new SendQueue(Integer.MAX_VALUE, false, budget, false, () -> {}, 1 << 20, 2 << 20, () -> {}, loop);
      expected[g] = new ByteArrayOutputStream();
    }
    int frames = 100;
    for (int i = 0; i < frames; i++) {
      int g = i % 2;
      byte[] payload = new byte[1_100];
      java.util.Arrays.fill(payload, (byte) i);
      offerShared(members[g], payload, budget); // Both groups' frames: one stripe.
      expected[g].writeBytes(Frames.encode(payload, false));
    }
    for (int g = 0; g < 2; g++) {
      Sink sink = new Sink();
      members[g].takeFilled();
      while (members[g].hasWriting()) members[g].write(sink, 1 << 20);
      assertEquals(hex(expected[g].toByteArray()), hex(sink.bytes.toByteArray()), "group " + g);
      int ranges = frames / 2; // Each member's frames are apart in the slab: a range each.
      int batches = (ranges + FrameSlab.VIEWS_PER_WRITE - 1) / FrameSlab.VIEWS_PER_WRITE;
      assertEquals(batches, sink.writes, ranges + " ranges of one slab, " + FrameSlab.VIEWS_PER_WRITE + " per write");
    }
    FrameSharer.retireAll();
    assertEquals(slabsBefore, FrameSlab.taken());
  }

  /**
   * A member that does not read, in a quiet group, while a busy group's frames fill the slabs
   * between its own: each of its frames lands in a slab of its own, and a range pins its whole slab.
   * Past as many slabs as its bound holds, its frames are copied, so its 200 small frames pin 4 slabs
   * (1 MiB), not 200 (50 MiB of the budget); its bytes still go out exactly.
   */
  @Test
  void aQueueThatFallsBehindPinsNoMoreSlabsThanItsBound() throws Exception {
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    MemoryBudget budget = MemoryBudget.unlimited();
    EventLoop loop = EventLoop.next();
    int bound = 1 << 20;
    SendQueue quiet = new SendQueue(bound, false, budget, false, () -> {}, bound / 2, bound, () -> {}, loop);
    SendQueue busy = new SendQueue(Integer.MAX_VALUE, false, budget, false, () -> {}, 1 << 20, 2 << 20, () -> {}, loop);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    Sink busySink = new Sink();
    for (int round = 0; round < 200; round++) {
      for (int i = 0; i < 5; i++) offerShared(busy, new byte[60_000], budget); // About a slab a round.
      busy.takeFilled();
      while (busy.hasWriting()) busy.write(busySink, 1 << 20);
      byte[] payload = new byte[2_000];
      java.util.Arrays.fill(payload, (byte) round);
      offerShared(quiet, payload, budget);
      expected.writeBytes(Frames.encode(payload, false));
    }
    long queued = quiet.queuedBytes();
    assertEquals(200 * 2_004, queued);
    long pinnedLimit = bound + queued + ChunkPool.CHUNK_SIZE + 2L * FrameSlab.SIZE; // Its slabs, copies, a current slab.
    assertTrue(budget.used() <= pinnedLimit, budget.used() + " bytes of the budget used, at most " + pinnedLimit);

    Sink sink = new Sink();
    quiet.takeFilled();
    while (quiet.hasWriting()) quiet.write(sink, 64 << 10);
    assertEquals(hex(expected.toByteArray()), hex(sink.bytes.toByteArray()));
    FrameSharer.retireAll();
    assertEquals(slabsBefore, FrameSlab.taken(), "every slab back in the pool once written");
    assertEquals(0, budget.used());
  }

  private static void offerShared(SendQueue queue, byte[] payload, MemoryBudget budget) {
    try (Packet p = Packet.of(payload)) {
      SharedFrame shared = FrameSharer.encode(p, budget, false);
      try {
        assertTrue(queue.offer(p, shared, -1, false));
      } finally {
        shared.slab().release(1);
      }
    }
  }

  /**
   * A queue written by a thread of its own (a blocking connection's writer), which has no event
   * loop's views, takes spare views of the slab for each write and gives them back: every byte goes
   * out, and once warm the writes allocate nothing.
   */
  @Test
  void aWriterThreadWritesSharedFramesFromSpareViews() throws Exception {
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    MemoryBudget budget = MemoryBudget.unlimited();
    SendQueue[] queues = new SendQueue[2]; // Two, so that each holds ranges with gaps between them.
    java.util.zip.CRC32[] expected = new java.util.zip.CRC32[2];
    CountingSink[] sinks = new CountingSink[2];
    for (int q = 0; q < 2; q++) {
      queues[q] = new SendQueue(Integer.MAX_VALUE, false, budget, false, () -> {}, 1 << 20, 2 << 20, () -> {}, null);
      expected[q] = new java.util.zip.CRC32();
      sinks[q] = new CountingSink();
    }
    int sends = 4_000;
    byte[][] payloads = new byte[sends][];
    for (int i = 0; i < sends; i++) {
      payloads[i] = new byte[1_100 + i % 3_000];
      java.util.Arrays.fill(payloads[i], (byte) i);
      expected[i % 5 == 0 ? 1 : 0].update(Frames.encode(payloads[i], false));
    }
    long[] self = {Thread.currentThread().threadId()};
    long allocatedByWrites = 0;
    for (int i = 0; i < sends; i++) {
      offerShared(queues[i % 5 == 0 ? 1 : 0], payloads[i], budget);
      if (i % 7 == 6) {
        long probing = io.github.packetconn.testing.Memory.allocatedBytes(self);
        long before = io.github.packetconn.testing.Memory.allocatedBytes(self); // A probe costs before - probing.
        for (int q = 0; q < 2; q++) {
          queues[q].takeFilled();
          while (queues[q].hasWriting()) queues[q].write(sinks[q], 64 << 10);
        }
        long writes = io.github.packetconn.testing.Memory.allocatedBytes(self) - before - (before - probing);
        if (i > sends / 2) allocatedByWrites += writes; // Warm by then.
      }
    }
    for (int q = 0; q < 2; q++) {
      queues[q].takeFilled();
      while (queues[q].hasWriting()) queues[q].write(sinks[q], 64 << 10);
      assertEquals(expected[q].getValue(), sinks[q].crc.getValue(), "queue " + q + "'s bytes");
    }
    assertTrue(allocatedByWrites < 1_000, allocatedByWrites + " bytes allocated by the writes of 2,000 sends");
    FrameSharer.retireAll();
    assertEquals(slabsBefore, FrameSlab.taken(), "every slab back in the pool once written");
    assertEquals(0, budget.used());
  }

  /** A channel that takes every byte and keeps only their CRC: it allocates nothing. */
  static final class CountingSink extends Sink {
    final java.util.zip.CRC32 crc = new java.util.zip.CRC32();

    @Override
    public long write(ByteBuffer[] sources, int offset, int length) {
      long total = 0;
      for (int i = offset; i < offset + length; i++) {
        total += sources[i].remaining();
        crc.update(sources[i]);
      }
      return total;
    }
  }

  @Test
  void discardingAQueueLetsGoOfItsSharedRanges() {
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    MemoryBudget budget = MemoryBudget.of(64L << 20);
    SendQueue queue = new SendQueue(Integer.MAX_VALUE, false, budget, false, () -> {}, 1 << 20, 2 << 20, () -> {},
        EventLoop.next());
    for (int i = 0; i < 20; i++) {
      try (Packet p = Packet.allocate(50_000).writeBytes(new byte[50_000])) {
        SharedFrame shared = FrameSharer.encode(p, budget, false);
        try {
          assertTrue(queue.offer(p, shared, -1, false));
          try (Packet small = Packet.allocate(8).writeLong(i)) {
            assertTrue(queue.offer(small, -1));
          }
        } finally {
          shared.slab().release(1);
        }
      }
      if (i == 10) queue.takeFilled(); // Half the ranges taken for writing, half still filling.
    }
    assertTrue(budget.used() > 0);
    queue.discard("test");
    FrameSharer.retireAll();
    assertEquals(slabsBefore, FrameSlab.taken());
    assertEquals(0, budget.used(), "the slabs and chunks went back to the budget");
  }
}
