package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.awaitValue;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.sendUntilFull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One memory budget caps what many connections hold for slow or hostile peers. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MemoryBudgetTest {
  private static final int MIB = 1 << 20;

  @Test
  void budgetIsCheckedAndSharedIsAQuarterOfTheHeap() {
    assertEquals(
        "memory budget < 1 MiB: 1000",
        assertThrows(IllegalArgumentException.class, () -> MemoryBudget.of(1000)).getMessage());
    assertEquals(Runtime.getRuntime().maxMemory() / 4, MemoryBudget.shared().limit());
    assertTrue(PacketConfig.DEFAULT.memoryBudget() == MemoryBudget.shared());
    MemoryBudget budget = MemoryBudget.of(MIB);
    assertTrue(budget.tryAcquire(5 * MIB), "nothing used: one frame larger than the budget fits");
    assertFalse(budget.tryAcquire(1), "then nothing more");
    budget.release(5 * MIB);
    assertEquals(0, budget.used());
    assertEquals("MemoryBudget[0 queued, 0 partly received, of 1048576 bytes each]", budget.toString());
  }

  /**
   * Queued frames hold back senders only: were reading held back by them, clients in the same
   * process as their server would stop reading the bytes that drain the server's queues.
   */
  @Test
  void queuedFramesNeverStopReaders() {
    MemoryBudget budget = MemoryBudget.of(MIB);
    FrameDecoder decoder = new FrameDecoder(8 * MIB, false, budget);
    budget.acquire(4 * MIB); // A handler's sends, past the limit.
    assertFalse(budget.tryAcquire(16 << 10), "senders wait");
    assertTrue(budget.mayRead(decoder), "readers read on");
    budget.holdPartial(MIB); // Partly received frames, up to the limit: now readers stop.
    assertFalse(budget.mayRead(decoder));
    budget.release(4 * MIB);
    assertFalse(budget.mayRead(decoder), "room in the queued account does not let readers read");
    budget.releasePartial(MIB);
    assertTrue(budget.mayRead(decoder));
    assertEquals(0, budget.used());
  }

  /**
   * Eight peers that never read, each connection allowed 4 MiB of queue: together they get the 2
   * MiB budget and no more; a sender on a connection with an empty queue waits for the budget, and
   * goes on when another connection's peer reads.
   */
  @Test
  void peersThatNeverReadShareTheBudget() throws Exception {
    MemoryBudget budget = MemoryBudget.of(2 * MIB);
    PacketConfig config = PacketConfig.builder().memoryBudget(budget).build();
    List<PacketConn> conns = new ArrayList<>();
    List<SocketChannel> peers = new ArrayList<>();
    try (ServerSocketChannel raw = ServerSocketChannel.open()) {
      raw.setOption(StandardSocketOptions.SO_RCVBUF, 64 << 10); // Less for the kernel to absorb.
      raw.bind(LOOPBACK);
      for (int i = 0; i < 8; i++) {
        conns.add(PacketConn.connect(raw.getLocalAddress(), config, null));
        peers.add(raw.accept());
      }
      try (Packet p = Packet.of(new byte[32 << 10])) {
        for (PacketConn conn : conns) sendUntilFull(conn, i -> p);
        long queued = conns.stream().mapToLong(PacketConn::queuedBytes).sum();
        assertTrue(queued <= budget.limit(), "queued " + queued + " > " + budget);
        assertTrue(budget.used() <= budget.limit(), budget.toString());
        PacketConn last = conns.get(conns.size() - 1);
        assertTrue(
            last.queuedBytes() < config.sendQueueBytes() / 2,
            "the budget, not the connection's own bound, stopped it: " + last.queuedBytes());
        assertFalse(last.trySend(p), "trySend fails at once");
        assertFalse(last.send(p, Duration.ofMillis(50)), "a timed send times out");

        CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> last.send(p));
        PacketConn first = conns.get(0);
        ByteBuffer sink = ByteBuffer.allocate(1 << 20);
        SocketChannel reader = peers.get(0);
        reader.configureBlocking(false); // Never stuck in a read once everything is read.
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!waiting.isDone() && System.nanoTime() < deadline) { // The first peer reads: its
          if (reader.read(sink.clear()) == 0) Thread.onSpinWait(); // queue drains, budget frees.
        }
        waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      }
    } finally {
      for (PacketConn conn : conns) conn.abort();
      for (PacketConn conn : conns) conn.closeFuture().handle((v, t) -> null).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      for (SocketChannel peer : peers) peer.close();
    }
    assertEquals(0, budget.used(), "closing gives back everything");
  }

  /**
   * A callback echo server whose client floods and never reads: the echoes fill the budget, the
   * server stops reading that client, and memory stays near the budget; once the client reads,
   * every echo arrives.
   */
  @Test
  void echoesPastTheBudgetStopReadingTheirSource() throws Exception {
    MemoryBudget budget = MemoryBudget.of(MIB);
    PacketConfig serverConfig = PacketConfig.builder().memoryBudget(budget).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, serverConfig, ECHO);
        PacketConn client = connect(server, PacketConfig.DEFAULT)) {
      int sent;
      try (Packet p = Packet.of(new byte[16 << 10])) {
        sent = sendUntilFull(client, i -> p);
      }
      PacketConn serverSide = server.connections().iterator().next();
      assertTrue(serverSide.readingPaused(), "the server stopped reading the flooding client");
      // Past the limit by at most what one read of the I/O thread echoed (256 KiB, 4 reads).
      assertTrue(budget.used() <= budget.limit() + 4 * 256 * 1024 + 16 * 1024, budget.toString());
      assertTrue(serverSide.queuedBytes() <= budget.used(), serverSide.queuedBytes() + " " + budget);
      for (int i = 0; i < sent; i++) {
        try (Packet echo = client.receive(WAIT)) {
          assertNotNull(echo, "echo " + i + " of " + sent);
          assertEquals(16 << 10, echo.size());
        }
      }
    }
    assertEquals(0, budget.used());
  }

  /**
   * Three peers announce 4 MiB frames against a 1 MiB budget. The first frame takes the budget;
   * the others' connections stop reading (nothing of theirs is held); the first, the one allowed
   * to finish, completes, and then everybody's packets arrive.
   */
  @Test
  void partlyReceivedFramesStopOtherReadersUntilOneFinishes() throws Exception {
    MemoryBudget budget = MemoryBudget.of(MIB);
    PacketConfig config = PacketConfig.builder().memoryBudget(budget).maxPacketSize(8 * MIB).build();
    BlockingQueue<Integer> received = new LinkedBlockingQueue<>();
    PacketHandler record =
        (conn, packet) -> {
          try (packet) {
            received.add(packet.size());
          }
        };
    int frame = 4 * MIB;
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, record);
        SocketChannel a = SocketChannel.open(server.localAddress());
        SocketChannel b = SocketChannel.open(server.localAddress());
        SocketChannel c = SocketChannel.open(server.localAddress())) {
      int firstPart = 3 * MIB / 2;
      writeFully(a, header(frame), ByteBuffer.allocate(firstPart));
      awaitTrue(() -> budget.used() >= firstPart, () -> "A's frame is held: " + budget);
      long heldByA = budget.used();

      CompletableFuture<Void> bSends =
          CompletableFuture.runAsync(() -> writeFully(b, header(frame), ByteBuffer.allocate(frame)));
      writeFully(c, header(10), ByteBuffer.allocate(10));
      PacketConn bSide = serverSide(server, b);
      PacketConn cSide = serverSide(server, c);
      awaitTrue(() -> bSide.readingPaused() && cSide.readingPaused(), () -> "B and C stop reading");
      assertTrue(received.isEmpty(), "nothing completed yet: " + received);
      assertEquals(heldByA, budget.used(), "only A's frame is held");

      writeFully(a, ByteBuffer.allocate(frame - firstPart)); // A, exempt, finishes its frame.
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 3; i++) sizes.add(received.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertEquals(frame, sizes.get(0), "A's frame first: " + sizes);
      assertEquals(List.of(10, frame, frame), sizes.stream().sorted().toList());
      bSends.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
    assertEquals(0, budget.used());
  }

  private static PacketConn serverSide(PacketServer server, SocketChannel client) throws IOException {
    int port = port(client.getLocalAddress());
    return awaitValue(
        () -> server.connections().stream().filter(c -> port(c.remoteAddress()) == port).findFirst(),
        Optional::isPresent,
        "a server connection from port " + port)
        .get();
  }

  private static ByteBuffer header(int length) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, length);
  }

  private static void writeFully(SocketChannel channel, ByteBuffer... buffers) {
    try {
      for (ByteBuffer buffer : buffers) {
        while (buffer.hasRemaining()) channel.write(buffer);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
