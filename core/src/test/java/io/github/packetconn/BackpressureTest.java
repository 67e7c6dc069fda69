package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.awaitWaiting;
import static io.github.packetconn.testing.Await.failureOf;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Memory.heapUsedAfterGc;
import static io.github.packetconn.testing.Traffic.assertFreshClientEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.sendUntilFull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.Recorder;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Floods and peers that do not read: TCP and the bounded send queue hold the sender back, and the
 * receiving side's heap does not grow with what is offered.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BackpressureTest {
  static final int PAYLOAD = 64 << 10;
  static final int FRAME = 4 + PAYLOAD;

  /**
   * The most the heap may grow while a flood is held back. What the library may hold on the heap for
   * a connection that does not consume: one read buffer decoded ahead (256 KiB) or one partial frame
   * (64 KiB), and pooled packet storage (at most 8 MiB per size class, so 8 MiB of 64 KiB arrays).
   * Send queues are direct 16 KiB chunks, not heap. Everything else is GC noise; 32 MiB is four times
   * the sum, and 1/32 of the gibibyte offered.
   */
  static final long HEAP_GROWTH_BOUND = 32 << 20;

  /** The most bytes a held-back flood may get past the sender's queue: socket buffers, 1/16 GiB. */
  static final long ACCEPTED_BOUND = 64 << 20;

  /** Runs {@code body}, completing {@code future} with its result or its failure. */
  static <T> void complete(CompletableFuture<T> future, Callable<T> body) {
    try {
      future.complete(body.call());
    } catch (Throwable e) {
      future.completeExceptionally(e);
    }
  }

  /**
   * Starts a thread that sends {@code count} packets of 64 KiB numbered from 0, counting in {@code
   * sent} those accepted; {@code done} completes when it stops, exceptionally if a send threw.
   */
  static Thread startFlood(PacketConn conn, int count, AtomicInteger sent, CompletableFuture<Void> done) {
    return Thread.ofPlatform()
        .name("flooder")
        .start(
            () ->
                complete(
                    done,
                    () -> {
                      byte[] rest = new byte[PAYLOAD - 4];
                      try (Packet p = Packet.allocate(PAYLOAD)) {
                        for (int seq = 0; seq < count; seq++) {
                          conn.send(p.clear().writeInt(seq).writeBytes(rest));
                          sent.incrementAndGet();
                        }
                      }
                      return null;
                    }));
  }

  /**
   * Waits until {@code sender} waits for room in {@code conn}'s full queue, then checks that it stays
   * there, sending nothing more, for 200 ms.
   */
  static void awaitHeldBack(Thread sender, PacketConn conn, AtomicInteger sent) {
    int bound = conn.config().sendQueueBytes();
    awaitTrue(
        () -> heldBackFor(Duration.ofMillis(200), sender, conn, sent),
        () -> "never held back: " + sender.getState() + ", " + conn.queuedBytes() + " bytes queued");
    assertTrue(conn.queuedBytes() + FRAME > bound, conn.queuedBytes() + " bytes queued");
  }

  /**
   * {@return true if, for all of {@code window}, {@code sender} waited, no send completed and
   * {@code conn}'s queue did not drain} Observing that nothing happens takes some time.
   */
  static boolean heldBackFor(Duration window, Thread sender, PacketConn conn, AtomicInteger sent) {
    awaitWaiting(sender);
    int before = sent.get();
    long queued = conn.queuedBytes();
    long end = System.nanoTime() + window.toNanos();
    while (System.nanoTime() - end < 0) {
      if (sender.getState() != Thread.State.WAITING || sent.get() != before || conn.queuedBytes() != queued) {
        return false;
      }
      LockSupport.parkNanos(5_000_000);
    }
    return true;
  }

  // ---- 5. a flood while the handler does not consume

  @Test
  void gibibyteFloodAtAHandlerThatDoesNotReceiveIsHeldBackThenDeliveredWhole() throws Exception {
    int count = 16_384; // × 64 KiB = 1 GiB.
    CountDownLatch startReceiving = new CountDownLatch(1);
    CompletableFuture<Long> received = new CompletableFuture<>();
    ConnectionHandler late =
        conn ->
            complete(
                received,
                () -> {
                  startReceiving.await();
                  long total = 0;
                  int seq = 0;
                  for (Packet p : conn) {
                    try (p) {
                      assertEquals(PAYLOAD, p.size(), "size of packet " + seq);
                      assertEquals(seq, p.readInt(), "in order");
                      total += p.size();
                      seq++;
                    }
                  }
                  return total;
                });
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, late)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      long heapBefore = heapUsedAfterGc();
      AtomicInteger sent = new AtomicInteger();
      CompletableFuture<Void> flooded = new CompletableFuture<>();
      Thread flooder = startFlood(conn, count, sent, flooded);
      awaitHeldBack(flooder, conn, sent);

      long heapGrowth = heapUsedAfterGc() - heapBefore;
      long accepted = (long) sent.get() * FRAME - conn.queuedBytes(); // Written to the socket.
      String figures = "heap growth " + heapGrowth + " B, " + accepted + " B past the send queue";
      assertTrue(heapGrowth < HEAP_GROWTH_BOUND, figures);
      assertTrue(accepted < ACCEPTED_BOUND, figures);

      startReceiving.countDown();
      flooded.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertEquals(count, sent.get());
      conn.close(); // Flushes the rest; the handler's loop ends at the end of the stream.
      assertEquals(1L << 30, received.get(WAIT.toSeconds(), TimeUnit.SECONDS), "every byte of the flood");
    }
  }

  @Test
  void echoServerStopsReadingAClientThatNeverReadsItsEchoes() throws Exception {
    int count = 4_096; // × 64 KiB = 256 MiB offered.
    Recorder echo = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, echo)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT); // Never receives: never reads.
      try {
        floodAClientThatNeverReads(server, echo, conn, count);
      } finally {
        conn.abort(); // Else the server's close would wait closeTimeout for echoes nobody reads.
      }
    }
  }

  private static void floodAClientThatNeverReads(
      PacketServer server, Recorder echo, PacketConn conn, int count) throws Exception {
    int port = port(conn.localAddress());
    PacketConn serverSide = echo.opened(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    long heapBefore = heapUsedAfterGc();
    AtomicInteger sent = new AtomicInteger();
    CompletableFuture<Void> flooded = new CompletableFuture<>();
    Thread flooder = startFlood(conn, count, sent, flooded);
    awaitHeldBack(flooder, conn, sent);

    long heapGrowth = heapUsedAfterGc() - heapBefore;
    long accepted = (long) sent.get() * FRAME - conn.queuedBytes();
    long echoesQueued = serverSide.queuedBytes();
    String figures =
        "heap growth " + heapGrowth + " B, " + accepted + " B past the client's queue, "
            + echoesQueued + " B of echoes queued";
    assertTrue(heapGrowth < HEAP_GROWTH_BOUND, figures);
    assertTrue(accepted < ACCEPTED_BOUND, figures);
    // The server stopped reading because its queue to the client is full: a callback's blocking
    // send goes past the bound by at most the rest of the read buffer it is handling.
    int bound = PacketConfig.DEFAULT.sendQueueBytes();
    assertTrue(echoesQueued >= bound / 2, figures);
    assertTrue(echoesQueued <= bound + PacketConfig.DEFAULT.readBufferSize() + FRAME, figures);

    conn.abort();
    Throwable stopped = failureOf(flooded);
    assertInstanceOf(IllegalStateException.class, stopped);
    assertEquals("closed", stopped.getMessage());
    echo.closed(port).get(WAIT.toSeconds(), TimeUnit.SECONDS); // A reset, or a clean end.
    assertFreshClientEchoes(server, PacketConfig.DEFAULT);
  }

  // ---- 6. a peer that never reads

  static final int SMALL_BOUND = 64 << 10;
  static final PacketConfig SMALL =
      PacketConfig.builder().sendQueueBytes(SMALL_BOUND).closeTimeout(Duration.ofMillis(300)).build();

  /** Fills {@code conn}'s queue to its bound with 1 KiB packets and checks it is full. */
  static void fill(PacketConn conn, Packet p) {
    sendUntilFull(conn, i -> p);
    long queued = conn.queuedBytes();
    int bound = conn.config().sendQueueBytes();
    assertTrue(queued <= bound + 1028, queued + " bytes queued");
    assertTrue(queued > bound - 1028, queued + " bytes queued");
  }

  /** Starts a thread that sends {@code p} once; {@code done} completes when the send returns or throws. */
  static Thread startSend(PacketConn conn, Packet p, CompletableFuture<Void> done) {
    return Thread.ofPlatform()
        .name("blocked-sender")
        .start(
            () ->
                complete(
                    done,
                    () -> {
                      conn.send(p);
                      return null;
                    }));
  }

  @Test
  void sendWaitsForAPeerThatNeverReadsUntilAbortReleasesIt() throws Exception {
    try (ServerSocketChannel listener = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(listener.getLocalAddress(), SMALL, null);
        SocketChannel peer = listener.accept(); // Never reads.
        Packet p = Packet.of(new byte[1024])) {
      fill(conn, p);
      long queued = conn.queuedBytes();

      long start = System.nanoTime();
      assertFalse(conn.trySend(p));
      long tryMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(tryMillis < 50, "trySend took " + tryMillis + " ms");

      start = System.nanoTime();
      assertFalse(conn.send(p, Duration.ofMillis(50)));
      long timedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(timedMillis >= 50, "a timed send gave up after " + timedMillis + " ms");
      assertEquals(queued, conn.queuedBytes(), "failed sends queue nothing");

      CompletableFuture<Void> sent = new CompletableFuture<>();
      Thread sender = startSend(conn, p, sent);
      awaitHeldBack(sender, conn, new AtomicInteger());
      assertFalse(sent.isDone());

      conn.abort(); // From this thread, not the sender's.
      Throwable released = failureOf(sent);
      assertInstanceOf(IllegalStateException.class, released);
      assertEquals("closed", released.getMessage());
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause());
      assertTrue(peer.isOpen());
    }
  }

  @Test
  void closeTimesOutNamingTheUnwrittenBytesWhenThePeerNeverReads() throws Exception {
    try (ServerSocketChannel listener = ServerSocketChannel.open().bind(LOOPBACK);
        Packet p = Packet.of(new byte[1024])) {
      // A queue of 1 MiB, not 64 KiB: the socket may take some tens of KiB more without saying so
      // (Linux signals writability only once half its buffer is free), which close's forced write
      // then finds; those must not empty the queue.
      PacketConfig config = SMALL.toBuilder().sendQueueBytes(1 << 20).build();
      PacketConn conn = PacketConn.connect(listener.getLocalAddress(), config, null); // Closed below.
      try (SocketChannel peer = listener.accept()) { // Never reads.
        fill(conn, p);
        CompletableFuture<Void> sent = new CompletableFuture<>();
        Thread sender = startSend(conn, p, sent);
        awaitWaiting(sender);
        long queued = conn.queuedBytes();

        long start = System.nanoTime();
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class, conn::close);
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        // A forced write at close may still fit a little into the socket: at most what was queued
        // is left unwritten, and the message says how much.
        java.util.regex.Matcher m =
            java.util.regex.Pattern.compile("close timed out after 300 ms with (\\d+) bytes unwritten; aborted")
                .matcher(e.getMessage());
        assertTrue(m.matches(), e.getMessage());
        long unwritten = Long.parseLong(m.group(1));
        assertTrue(unwritten > 0 && unwritten <= queued, unwritten + " of " + queued + " bytes unwritten");
        assertTrue(closeMillis >= 300 && closeMillis < 5_000, "close returned after " + closeMillis + " ms");
        Throwable released = failureOf(sent); // The close refused the waiting send.
        assertInstanceOf(IllegalStateException.class, released);
        assertEquals("closed", released.getMessage());
        assertInstanceOf(SocketTimeoutException.class, failureOf(conn.closeFuture()));
        assertEquals(0, conn.queuedBytes(), "the unwritten bytes were dropped");
        assertTrue(peer.isOpen(), "the peer did nothing");
      }
    }
  }
}
