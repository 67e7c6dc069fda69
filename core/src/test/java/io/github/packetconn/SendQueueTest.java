package io.github.packetconn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SendQueueTest {
  /** A channel that accepts at most {@code limit} bytes per write, like a socket with a small buffer. */
  static final class Sink implements GatheringByteChannel {
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
      SendQueue queue = new SendQueue(Integer.MAX_VALUE, crc);
      ByteArrayOutputStream expected = new ByteArrayOutputStream();
      // Sizes around the chunk size put headers, payloads and CRCs across every kind of boundary.
      for (int i = 0; i < 300; i++) {
        int size = random.nextInt(4) == 0 ? ChunkPool.CHUNK_SIZE - 8 + random.nextInt(16) : random.nextInt(40);
        byte[] payload = new byte[size];
        random.nextBytes(payload);
        try (Packet p = Packet.of(payload)) {
          assertTrue(queue.append(p, -1, false, null, false) >= 0);
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
          HexFormat.of().formatHex(expected.toByteArray()),
          HexFormat.of().formatHex(sink.bytes.toByteArray()),
          "seed " + seed + " crc " + crc);
    }
  }

  @Test
  void goldenFramesFromTheQueue() throws Exception {
    SendQueue queue = new SendQueue(1 << 20, true);
    try (Packet hi = PacketConnTest.goldenHi();
        Packet empty = Packet.allocate()) {
      queue.append(hi, -1, false, null, false);
      queue.append(empty, -1, false, null, false);
    }
    Sink sink = new Sink();
    queue.takeFilled();
    queue.write(sink, 1 << 20);
    assertEquals(
        FrameDecoderTest.HI_CRC + FrameDecoderTest.EMPTY_CRC, HexFormat.of().formatHex(sink.bytes.toByteArray()));
  }

  @Test
  void boundRefusesThenOverflowsOnlyWhenAsked() {
    SendQueue queue = new SendQueue(100, false);
    try (Packet p = Packet.of(new byte[60])) {
      assertEquals(SendQueue.FLUSH_NEEDED, queue.append(p, 0, false, null, false));
      assertEquals(SendQueue.NOT_QUEUED, queue.append(p, 0, false, null, false), "64 + 64 > 100");
      assertEquals(SendQueue.NOT_QUEUED, queue.append(p, 1_000_000, false, null, false), "timed out");
      assertEquals(SendQueue.NOT_QUEUED, queue.append(p, 0, true, null, false), "trySend on an I/O thread");
      assertEquals(SendQueue.OVER_BOUND, queue.append(p, -1, true, null, false), "an I/O thread never waits");
      assertEquals(128, queue.queuedBytes());
    }
    try (Packet big = Packet.of(new byte[1000])) {
      SendQueue empty = new SendQueue(100, false);
      assertEquals(SendQueue.FLUSH_NEEDED, empty.append(big, 0, false, null, false), "one large packet fits an empty queue");
    }
  }

  @Test
  void refusedQueueThrowsAndDiscardFreesEverything() {
    SendQueue queue = new SendQueue(1 << 20, false);
    try (Packet p = Packet.of(new byte[100])) {
      queue.append(p, -1, false, null, false);
      queue.refuse("closed");
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> queue.append(p, -1, false, null, false));
      assertEquals("closed", e.getMessage());
      assertFalse(queue.isEmpty(), "refuse keeps what was queued");
      queue.discard("closed");
      assertTrue(queue.isEmpty());
    }
  }

  @Test
  void waitingSendersAreServedInOrder() throws Exception {
    SendQueue queue = new SendQueue(100, false);
    try (Packet small = Packet.of(new byte[10]);
        Packet big = Packet.of(new byte[1000])) {
      queue.append(small, -1, false, null, false);
      java.util.concurrent.CompletableFuture<Integer> bigSend =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> queue.append(big, -1, false, null, false));
      while (queue.waiting() == 0) Thread.onSpinWait(); // The big frame waits for an empty queue.
      assertEquals(SendQueue.NOT_QUEUED, queue.append(small, 0, false, null, false), "no overtaking");
      queue.takeFilled();
      queue.write(new Sink(), 1 << 20);
      assertTrue(bigSend.get(20, java.util.concurrent.TimeUnit.SECONDS) >= 0);
      assertEquals(1004, queue.queuedBytes());
    }
  }
}
