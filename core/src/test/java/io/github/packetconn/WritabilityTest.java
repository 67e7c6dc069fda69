package io.github.packetconn;

import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.CapturedLog;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Write water marks: {@code isWritable()} turns false when the send queue reaches the high mark and
 * true again when it drains to the low one; handlers hear of it through {@code
 * onWritabilityChanged}, other threads through {@code whenWritable()}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WritabilityTest {
  /** Small marks, so a peer that does not read makes a connection unwritable soon. */
  private static final PacketConfig SMALL =
      PacketConfig.builder().sendQueueBytes(256 << 10).writeWaterMarks(32 << 10, 128 << 10).build();

  // ---- configuration

  @Test
  void defaultMarksAreAQuarterAndAnEighthOfTheDefaultQueue() {
    assertEquals(512 << 10, PacketConfig.DEFAULT.writeLowWaterMark());
    assertEquals(1 << 20, PacketConfig.DEFAULT.writeHighWaterMark());
  }

  @Test
  void defaultMarksFollowTheQueueSize() {
    PacketConfig small = PacketConfig.builder().sendQueueBytes(64 << 10).build();
    assertEquals(16 << 10, small.writeLowWaterMark());
    assertEquals(32 << 10, small.writeHighWaterMark());
    PacketConfig large = PacketConfig.builder().sendQueueBytes(64 << 20).build();
    assertEquals(512 << 10, large.writeLowWaterMark(), "1 MiB at most, however large the queue");
    assertEquals(1 << 20, large.writeHighWaterMark());
    PacketConfig tiny = PacketConfig.builder().sendQueueBytes(1).build();
    assertEquals(0, tiny.writeLowWaterMark());
    assertEquals(1, tiny.writeHighWaterMark());
    PacketConfig derived = PacketConfig.DEFAULT.toBuilder().sendQueueBytes(64 << 10).build();
    assertEquals(32 << 10, derived.writeHighWaterMark(), "toBuilder keeps default marks following the queue");
  }

  @Test
  void marksSetByHandAreKept() {
    PacketConfig c = PacketConfig.builder().writeWaterMarks(0, 4 << 20).build();
    assertEquals(0, c.writeLowWaterMark());
    assertEquals(4 << 20, c.writeHighWaterMark());
    assertEquals(c, c.toBuilder().build());
  }

  @Test
  void invalidMarksAreRejectedWithTheirValues() {
    expect("writeLowWaterMark < 0: -1", b -> b.writeWaterMarks(-1, 10));
    expect("writeLowWaterMark(10) >= writeHighWaterMark(10)", b -> b.writeWaterMarks(10, 10));
    expect("writeLowWaterMark(600) >= writeHighWaterMark(500)", b -> b.writeWaterMarks(600, 500));
    expect("writeHighWaterMark(8388608) > sendQueueBytes(4194304)", b -> b.writeWaterMarks(0, 8 << 20));
    expect(
        "writeHighWaterMark(1048576) > sendQueueBytes(65536)",
        b -> b.writeWaterMarks(1 << 10, 1 << 20).sendQueueBytes(64 << 10));
  }

  private static void expect(String message, UnaryOperator<PacketConfig.Builder> change) {
    PacketConfig.Builder builder = change.apply(PacketConfig.builder());
    assertEquals(message, assertThrows(IllegalArgumentException.class, builder::build).getMessage());
  }

  // ---- the send queue

  /** Frames of 100 bytes (96 of payload) into a queue with marks at 200 and 500. */
  @Test
  void queueTurnsUnwritableAtTheHighMarkAndWritableAtTheLowMark() throws IOException {
    AtomicInteger changes = new AtomicInteger();
    SendQueue queue =
        new SendQueue(1000, false, MemoryBudget.unlimited(), false, () -> {}, 200, 500, changes::incrementAndGet, null);
    SendQueueTest.Sink sink = new SendQueueTest.Sink();
    try (Packet p = Packet.of(new byte[96])) {
      for (int i = 0; i < 4; i++) queue.offer(p, 0);
      assertTrue(queue.writable(), "400 bytes: below the high mark");
      queue.offer(p, 0);
      assertFalse(queue.writable(), "500 bytes: at the high mark");
      assertEquals(1, changes.get());
      queue.offer(p, 0);
      assertEquals(1, changes.get(), "told once per change, not per frame");

      queue.takeFilled();
      sink.limit = 300; // 600 - 300: above the low mark.
      queue.write(sink, 1 << 20);
      assertFalse(queue.writable(), "300 bytes: still above the low mark (hysteresis)");
      CompletableFuture<Void> waiter = queue.whenWritable();
      assertFalse(waiter.isDone());
      assertTrue(queue.hasWritableWaiter());
      sink.limit = 100;
      queue.write(sink, 1 << 20);
      assertTrue(queue.writable(), "200 bytes: at the low mark");
      assertEquals(2, changes.get());
      assertFalse(waiter.isDone(), "the owner completes it where its dependents may run");
      queue.completeWritableWaiter();
      assertTrue(waiter.isDone());
      assertFalse(queue.hasWritableWaiter());
      assertTrue(queue.whenWritable().isDone(), "writable now: done at once");
    }
  }

  @Test
  void aClosedQueueIsNeverWritableAndFailsItsWaiters() {
    SendQueue queue = new SendQueue(1000, false, MemoryBudget.unlimited(), false, () -> {}, 0, 100, () -> {}, null);
    try (Packet p = Packet.of(new byte[196])) {
      queue.offer(p, 0);
    }
    CompletableFuture<Void> waiter = queue.whenWritable();
    queue.refuse("closed");
    assertFalse(queue.writable());
    ExecutionException e = assertThrows(ExecutionException.class, waiter::get);
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertEquals("closed", e.getCause().getMessage());
    assertTrue(queue.whenWritable().isCompletedExceptionally());
    queue.discard("closed");
  }

  /** A channel that takes everything and keeps nothing, allocating nothing. */
  private static final class Discard implements GatheringByteChannel {
    @Override
    public long write(ByteBuffer[] sources, int offset, int length) {
      long n = 0;
      for (int i = offset; i < offset + length; i++) {
        n += sources[i].remaining();
        sources[i].position(sources[i].limit());
      }
      return n;
    }

    @Override
    public long write(ByteBuffer[] sources) {
      return write(sources, 0, sources.length);
    }

    @Override
    public int write(ByteBuffer source) {
      int n = source.remaining();
      source.position(source.limit());
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  @Test
  void crossingTheMarksAllocatesNothing() throws Exception {
    SendQueue queue = new SendQueue(1 << 20, false, MemoryBudget.unlimited(), false, () -> {}, 256, 1024, () -> {}, null);
    Discard discard = new Discard();
    long[] self = {Thread.currentThread().threadId()};
    try (Packet p = Packet.of(new byte[124])) {
      Runnable round = () -> {
        for (int i = 0; i < 10; i++) queue.offer(p, 0); // 1,280 bytes: past the high mark.
        queue.takeFilled();
        try {
          queue.write(discard, 1 << 20); // Empty: back below the low one.
        } catch (IOException e) {
          throw new AssertionError(e);
        }
      };
      for (int i = 0; i < 20_000; i++) round.run(); // Warm up: the JIT, the chunk pool.
      io.github.packetconn.testing.Memory.allocatedBytes(self);
      long before = io.github.packetconn.testing.Memory.allocatedBytes(self);
      for (int i = 0; i < 100_000; i++) round.run();
      long allocated = io.github.packetconn.testing.Memory.allocatedBytes(self) - before;
      assertTrue(queue.writable());
      assertTrue(allocated < 64 << 10, allocated + " bytes allocated by 1,000,000 frames and 200,000 changes");
    }
  }

  // ---- connections

  /**
   * Sends 16 KiB packets on {@code conn}, whose peer does not read, until its queue stays full (see
   * {@link PacketConnTest#sendUntilFull}): the socket's buffers are full then, and the queue is over
   * its high mark for good. {@return the bytes sent, frames included}
   */
  private static long fill(PacketConn conn) {
    try (Packet p = Packet.of(new byte[16 << 10])) {
      return io.github.packetconn.testing.Traffic.sendUntilFull(conn, i -> p) * (4L + p.size());
    }
  }

  @Test
  void aConnectionTurnsUnwritableAndWritableAgainForEitherStyle() throws Exception {
    for (PacketHandler handler : new PacketHandler[] {null, (c, p) -> p.release()}) {
      try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
          PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), SMALL, handler);
          Socket peer = raw.accept()) {
        assertTrue(conn.isWritable());
        assertTrue(conn.whenWritable().isDone(), "writable: done at once");
        long sent = fill(conn);
        assertFalse(conn.isWritable());
        assertTrue(conn.queuedBytes() >= 128 << 10, conn.queuedBytes() + " bytes queued");
        CompletableFuture<Void> writable = conn.whenWritable();
        CompletableFuture<Void> another = conn.whenWritable();
        assertNotSame(writable, another, "each caller gets a future of its own");
        another.cancel(false); // Affects no other.
        assertFalse(writable.isDone());

        CompletableFuture<String> thread = writable.thenApply(v -> Thread.currentThread().getName());
        InputStream in = peer.getInputStream();
        assertEquals(sent, in.readNBytes((int) sent).length, "the peer reads everything");
        assertTrue(thread.get(WAIT.toSeconds(), TimeUnit.SECONDS).startsWith("packetconn-io-"), thread.get());
        assertTrue(conn.isWritable());
        assertTrue(conn.queuedBytes() <= 32 << 10);
      }
    }
  }

  @Test
  void whenWritableFailsWhenTheConnectionClosesFirst() throws Exception {
    for (PacketHandler handler : new PacketHandler[] {null, (c, p) -> p.release()}) {
      try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
          PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), SMALL, handler);
          Socket peer = raw.accept()) {
        assertTrue(peer.isConnected());
        fill(conn);
        CompletableFuture<Void> writable = conn.whenWritable();
        assertFalse(writable.isDone());
        conn.abort();
        Throwable cause = io.github.packetconn.testing.Await.failureOf(writable);
        assertInstanceOf(IllegalStateException.class, cause);
        assertEquals("closed", cause.getMessage());
        assertFalse(conn.isWritable(), "closed: never writable again");
        assertEquals("closed", io.github.packetconn.testing.Await.failureOf(conn.whenWritable()).getMessage(), "failed at once");
      }
    }
  }

  @Test
  void aClosingConnectionIsNotWritable() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, io.github.packetconn.testing.Handlers.ECHO)) {
      PacketConn conn = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT);
      assertTrue(conn.isWritable());
      conn.close();
      assertFalse(conn.isWritable());
    }
  }

  /**
   * A client's handler hears its connection turn unwritable while the client sends to a peer that
   * reads nothing, and writable again once the peer reads it all; on the connection's I/O thread.
   */
  @Test
  void theHandlerHearsTheChangesOnItsIOThread() throws Exception {
    List<String> heard = new CopyOnWriteArrayList<>();
    PacketHandler listening =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            packet.release();
          }

          @Override
          public void onWritabilityChanged(PacketConn conn) {
            heard.add(conn.isWritable() + " on " + Thread.currentThread().getName().replaceAll("[0-9]+$", "N"));
          }
        };
    try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
        PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), SMALL, listening);
        Socket peer = raw.accept()) {
      long sent = fill(conn);
      // Quick changes may come as one call, so the writer's first drains may have hidden some.
      io.github.packetconn.testing.Await.awaitTrue(() -> heard.contains("false on packetconn-io-N"), heard::toString);
      assertEquals(sent, peer.getInputStream().readNBytes((int) sent).length);
      io.github.packetconn.testing.Await.awaitTrue(() -> heard.get(heard.size() - 1).startsWith("true"), heard::toString);
      assertEquals(
          List.of("true on packetconn-io-N", "false on packetconn-io-N"),
          heard.stream().distinct().sorted(java.util.Comparator.reverseOrder()).toList(),
          "every call on the I/O thread: " + heard);
      assertTrue(conn.isWritable());
    }
  }

  @Test
  void aHandlerThatThrowsOnAChangeFailsItsConnection() throws Exception {
    PacketHandler throwing =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            packet.release();
          }

          @Override
          public void onWritabilityChanged(PacketConn conn) {
            throw new IllegalStateException("boom");
          }
        };
    try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
        PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), SMALL, throwing);
        Socket peer = raw.accept();
        Packet p = Packet.of(new byte[16 << 10])) {
      assertTrue(peer.isConnected());
      while (conn.isOpen()) conn.trySend(p); // Until the first change, which the handler hears.
      Throwable cause = io.github.packetconn.testing.Await.failureOf(conn.closeFuture());
      assertEquals("boom", cause.getMessage());
      assertEquals(CloseKind.HANDLER_FAILURE, conn.closeKind());
      CapturedLog.await(Level.WARNING, "closed: handler failed: " + cause, WAIT); // Once, as for onPacket.
    }
  }
}
