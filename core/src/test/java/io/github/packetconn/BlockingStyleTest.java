package io.github.packetconn;

import static io.github.packetconn.BlockingFixtures.PROMPTLY;
import static io.github.packetconn.BlockingFixtures.assertFailedWith;
import static io.github.packetconn.BlockingFixtures.assertWithin;
import static io.github.packetconn.BlockingFixtures.blockingClient;
import static io.github.packetconn.BlockingFixtures.frame;
import static io.github.packetconn.BlockingFixtures.millisSince;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.failureOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.packetconn.BlockingFixtures.BlockingRecorder;
import io.github.packetconn.BlockingFixtures.RawPair;
import io.github.packetconn.BlockingFixtures.Receiver;
import io.github.packetconn.BlockingFixtures.Sender;
import io.github.packetconn.testing.LiveThreads;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the blocking style on its own path ({@link SocketTransport}) promises its callers: a timed
 * receive that gives up loses nothing and leaves one thread behind at most, close and abort end
 * blocked receivers and writers within their bounds, receivers on many threads share the packets,
 * a receive-only connection starts no writer, an idle one pins no direct buffer, and an interrupt
 * has a clear outcome. Peer faults are in {@link BlockingFaultTest}.
 *
 * <p>The class passes with {@code -Dpacketconn.blockingTransport=loop} too, on the loop's path,
 * but for the tests of what only the new path has (a writer thread, a read that an interrupt can
 * reach), which that setting skips.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BlockingStyleTest {
  // ---- a timed receive that gives up leaves the connection whole

  /** {@return the number of live threads pulling for timed receivers, virtual ones included} */
  static int pullers() {
    return LiveThreads.named("packetconn-receive").size();
  }

  @Test
  void timedOutReceivesLeaveTheConnectionUsableAndOnePullerBehind() throws Exception {
    int before = pullers();
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      SocketTimeoutException timedOut =
          assertThrows(SocketTimeoutException.class, () -> conn.receive(Duration.ofMillis(50)));
      assertEquals("receive timed out after 50 ms", timedOut.getMessage());
      assertTrue(conn.isOpen(), "a timeout does not close");
      pair.write(frame(0));
      try (Packet p = conn.receive(WAIT)) {
        assertEquals(0, p.readInt(), "sent after the timeout, received by the next receive");
      }
      for (int i = 0; i < 20; i++) {
        assertThrows(SocketTimeoutException.class, () -> conn.receive(Duration.ofMillis(5)));
      }
      assertTrue(pullers() <= before + 1, "after 20 timed receives, " + pullers() + " pullers; " + before + " before");
      ByteBuffer three = ByteBuffer.allocate(frame(1).length + frame(2).length + frame(3).length);
      for (int seq = 1; seq <= 3; seq++) three.put(frame(seq));
      pair.write(three.array());
      for (int seq = 1; seq <= 3; seq++) {
        try (Packet p = seq == 2 ? conn.receive() : conn.receive(WAIT)) {
          assertEquals(seq, p.readInt(), "in order");
        }
      }
      assertTrue(conn.isOpen());
    }
    awaitTrue(() -> pullers() <= before, () -> pullers() + " pullers; " + before + " before");
  }

  /**
   * Frames arrive in random pieces, a quarter of them one byte long, while the receiver gives up
   * after a millisecond again and again: every packet arrives once, in order.
   */
  @Test
  void timedReceivesRacingArrivalsLoseNothing() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    int packets = 2_000;
    ByteBuffer stream = ByteBuffer.allocate(packets * frame(49).length);
    for (int seq = 0; seq < packets; seq++) stream.put(frame(seq));
    stream.flip();
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      CompletableFuture<Void> written =
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int piece = 0; stream.hasRemaining(); piece++) {
                    int n = Math.min(stream.remaining(), random.nextInt(4) == 0 ? 1 : 1 + random.nextInt(300));
                    ByteBuffer slice = stream.slice(stream.position(), n);
                    while (slice.hasRemaining()) pair.peer().write(slice);
                    stream.position(stream.position() + n);
                    if (piece % 16 == 0) LockSupport.parkNanos(200_000); // Pacing, so that receives time out.
                  }
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      int timeouts = 0;
      long deadline = System.nanoTime() + WAIT.toNanos();
      for (int seq = 0; seq < packets; ) {
        assertTrue(System.nanoTime() - deadline < 0, "seed " + seed + ": stuck at " + seq);
        Packet p;
        try {
          p = pair.conn().receive(Duration.ofMillis(1));
        } catch (SocketTimeoutException e) {
          timeouts++;
          continue;
        }
        try (p) {
          assertEquals(seq, p.readInt(), "seed " + seed);
          assertEquals(seq % 50, p.remaining(), "seed " + seed + " seq " + seq);
        }
        seq++;
      }
      written.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertTrue(pair.conn().isOpen(), "seed " + seed + ", " + timeouts + " timeouts");
    }
  }

  /**
   * Timed receives wait untimed until the connection's timer rings the inbox's alarm: a receiver
   * that waits with the same timeout again and again sets the alarm (and arms the timer) about once
   * per timeout, not once per wait, and every packet still arrives, in order.
   */
  @Test
  void timedReceivesSetTheAlarmOncePerTimeoutNotPerWait() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop's receivers wait with the JDK's timed park");
    int packets = 500;
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      CompletableFuture<Void> written =
          CompletableFuture.runAsync(
              () -> {
                try {
                  for (int seq = 0; seq < packets; seq++) {
                    pair.write(frame(seq));
                    if (seq % 10 == 0) LockSupport.parkNanos(100_000); // Some waits find nothing.
                  }
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      for (int seq = 0; seq < packets; seq++) {
        try (Packet p = conn.receive(Duration.ofSeconds(30))) {
          assertEquals(seq, p.readInt(), "in order");
        }
      }
      written.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      long set = ((SocketTransport) conn.transport()).alarmsSet();
      assertTrue(set >= 1 && set <= 3, set + " alarms set for " + packets + " timed receives of 30 s");
    }
  }

  /**
   * A receiver with a short timeout is not held by the later alarm of another receiver's long one:
   * the earlier deadline sets the alarm again.
   */
  @Test
  void aShortTimedReceiveEndsOnTimeBesideALongOne() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop's receivers wait with the JDK's timed park");
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      Receiver patient = new Receiver(pair.conn(), Duration.ofSeconds(60));
      Thread t = patient.thread;
      awaitTrue(() -> t.getState() == Thread.State.WAITING, () -> t + " is " + t.getState());
      long start = System.nanoTime();
      SocketTimeoutException e =
          assertThrows(SocketTimeoutException.class, () -> pair.conn().receive(Duration.ofMillis(100)));
      long tookMillis = (System.nanoTime() - start) / 1_000_000;
      assertEquals("receive timed out after 100 ms", e.getMessage());
      assertTrue(tookMillis >= 100 && tookMillis < WAIT.toMillis(), "the 100 ms receive took " + tookMillis + " ms");
      pair.write(frame(7));
      try (Packet p = patient.result.get(WAIT.toSeconds(), TimeUnit.SECONDS)) {
        assertEquals(7, p.readInt(), "the patient receiver still gets the next packet");
      }
    }
  }

  /**
   * A timed receive on an I/O thread (a misuse, but it must not hang) may be on the very loop whose
   * timer would ring the alarm: it waits with the JDK's timeout instead, and times out.
   */
  @Test
  void aTimedReceiveOnTheTimersOwnLoopStillTimesOut() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop's receivers wait with the JDK's timed park");
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      SocketTransport transport = (SocketTransport) pair.conn().transport();
      CompletableFuture<Throwable> thrown = new CompletableFuture<>();
      transport.timers.execute(
          () -> {
            try {
              pair.conn().receive(Duration.ofMillis(100)).release();
              thrown.complete(null);
            } catch (Throwable t) {
              thrown.complete(t);
            }
          });
      assertInstanceOf(SocketTimeoutException.class, thrown.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertTrue(pair.conn().isOpen());
    }
  }

  /**
   * A timed receiver that finds the inbox empty while the next batch is in the socket reads it
   * itself: the virtual thread that waits in the socket for timed receivers is started only when
   * there is nothing to read (a thread per wait made timed receives of batches 30–40% slower).
   */
  @Test
  void aTimedReceiverReadsABatchThatIsThereWithoutAPuller() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop's receivers never wait in the socket");
    int rounds = 200;
    int perBatch = 4;
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      pair.write(batch(0, perBatch));
      int seq = 0;
      for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < perBatch; i++) {
          if (i == perBatch - 1 && round + 1 < rounds) pair.write(batch(seq + 1, perBatch)); // In the socket before the inbox empties.
          try (Packet p = conn.receive(WAIT)) {
            assertEquals(seq++, p.readInt(), "in order");
          }
        }
      }
      long pulls = conn.backgroundPulls();
      assertTrue(pulls <= rounds / 4, pulls + " pulls by a thread of their own for " + rounds + " batches already in the socket");
      assertTrue(pulls >= 1, "the first receive found the socket empty");
    }
  }

  /**
   * A receiver that took a burst of 20,000 empty packets and waits for more keeps no burst-sized
   * array and no handle to a packet it took: an idle connection holds no memory a burst left.
   */
  @Test
  void anIdleReceiverKeepsNothingABurstLeft() throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      pair.write(new byte[20_000 * 4]); // 20,000 empty frames: a length of 0 each.
      for (int i = 0; i < 20_000; i++) {
        try (Packet p = conn.receive(WAIT)) {
          assertEquals(0, p.size());
        }
      }
      Receiver next = Receiver.blocked(conn); // Parked where it waits for bytes.
      int[] footprint = conn.inboxFootprint(); // slots' length, held; pull array's length, held
      assertTrue(footprint[0] <= PacketSlots.KEEP && footprint[2] <= PacketSlots.KEEP,
          "arrays of " + footprint[0] + " and " + footprint[2] + " kept while idle");
      assertEquals(0, footprint[1] + footprint[3], "handles held while idle");
      pair.write(frame(7));
      try (Packet p = next.packet()) {
        assertEquals(7, p.readInt());
      }
    }
  }

  /** {@return {@code count} frames from {@code first} on, written together} */
  private static byte[] batch(int first, int count) {
    ByteBuffer all = ByteBuffer.allocate(count * frame(first + count).length + 64 * count);
    for (int seq = first; seq < first + count; seq++) all.put(frame(seq));
    return Arrays.copyOf(all.array(), all.position());
  }

  // ---- close and abort end blocked receivers and writers

  /** {@return the names of the live threads that write, or linger, for {@code conn}} */
  static List<String> writerAndLinger(PacketConn conn) {
    String remote = PacketConn.format(conn.remoteAddress());
    List<String> names = new ArrayList<>(LiveThreads.named("packetconn-write-" + remote));
    names.addAll(LiveThreads.named("packetconn-close-" + remote));
    return names;
  }

  private static final Pattern CLOSE_TIMED_OUT =
      Pattern.compile("close timed out after 500 ms with (\\d+) bytes unwritten; aborted");

  @Test
  void closeWithAReceiverBlockedAndTheWriterStuckTimesOutAndEndsBoth() throws Exception {
    PacketConfig config =
        PacketConfig.builder().closeTimeout(Duration.ofMillis(500)).sendQueueBytes(1 << 20).build();
    try (RawPair pair = RawPair.open(config);
        Packet p = Packet.of(new byte[64 << 10])) {
      PacketConn conn = pair.conn();
      Receiver receiver = Receiver.blocked(conn);
      io.github.packetconn.testing.Traffic.sendUntilFull(conn, i -> p); // The peer never reads: the writer is stuck.
      Sender sender = Sender.blocked(conn, p);
      if (SocketTransport.ENABLED) {
        assertEquals(List.of("packetconn-write-" + PacketConn.format(conn.remoteAddress())), writerAndLinger(conn));
      }

      long start = System.nanoTime();
      SocketTimeoutException thrown = assertThrows(SocketTimeoutException.class, conn::close);
      long elapsed = millisSince(start);
      Matcher m = CLOSE_TIMED_OUT.matcher(thrown.getMessage());
      assertTrue(m.matches(), thrown.getMessage());
      assertTrue(Long.parseLong(m.group(1)) > 0, thrown.getMessage());
      assertTrue(elapsed >= 500, "close returned after " + elapsed + " ms");
      assertWithin(PROMPTLY.plusMillis(500), elapsed, "close returned");
      // The connection's timer and close() time out together; either may be first to say why.
      assertFalse(conn.isOpen());
      Throwable cause = failureOf(conn.closeFuture());
      assertSame(cause, conn.closeCause());
      assertInstanceOf(SocketTimeoutException.class, cause);
      assertEquals(thrown.getMessage(), cause.getMessage());
      assertEquals(0, conn.queuedBytes(), "queued bytes dropped");

      Throwable refused = sender.outcome(PROMPTLY);
      assertInstanceOf(IllegalStateException.class, refused, "the blocked sender");
      assertEquals("closed", refused.getMessage());
      assertNull(receiver.result.get(PROMPTLY.toSeconds(), TimeUnit.SECONDS), "the blocked receiver sees the end");
      awaitTrue(() -> writerAndLinger(conn).isEmpty(), () -> "still alive: " + writerAndLinger(conn));
    }
  }

  /**
   * With nothing queued, close() returns at once. A receiver blocked in the socket is let go by the
   * peer's end (a packetconn peer answers our end with its own): on this path it is in the socket's
   * read, where close() cannot reach it without giving up the linger.
   */
  @Test
  void closeWithAReceiverBlockedReturnsAtOnceAndThePeersEndEndsTheReceiver() throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      Receiver receiver = Receiver.blocked(conn);
      long start = System.nanoTime();
      conn.close(); // Nothing queued: shuts the output and returns.
      assertWithin(PROMPTLY, millisSince(start), "close returned");
      assertFalse(conn.isOpen());
      assertEquals(-1, pair.peer().read(ByteBuffer.allocate(1)), "the peer sees our end");
      pair.peer().close();
      assertNull(receiver.result.get(PROMPTLY.toSeconds(), TimeUnit.SECONDS), "the blocked receiver sees the end");
      conn.closeFuture().get(PROMPTLY.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause(), "a clean close");
      awaitTrue(() -> writerAndLinger(conn).isEmpty(), () -> "still alive: " + writerAndLinger(conn));
    }
  }

  /** A peer that never ends its side: the linger, and with it the blocked receive, ends at closeTimeout. */
  @Test
  void closeWithAReceiverBlockedEndsItByCloseTimeoutAtTheLatest() throws Exception {
    PacketConfig config = PacketConfig.builder().closeTimeout(Duration.ofMillis(500)).build();
    try (RawPair pair = RawPair.open(config)) {
      PacketConn conn = pair.conn();
      Receiver receiver = Receiver.blocked(conn);
      long start = System.nanoTime();
      conn.close();
      Packet none = receiver.result.get(PROMPTLY.plusMillis(500).toMillis(), TimeUnit.MILLISECONDS);
      assertNull(none, "the blocked receiver sees the end");
      assertWithin(PROMPTLY.plusMillis(500), millisSince(start), "the blocked receiver returned");
      conn.closeFuture().get(PROMPTLY.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause(), "a peer that does not answer our end is no failure");
      assertEquals(-1, pair.peer().read(ByteBuffer.allocate(1)), "the peer sees our end");
      awaitTrue(() -> writerAndLinger(conn).isEmpty(), () -> "still alive: " + writerAndLinger(conn));
    }
  }

  @Test
  void abortWithTheWriterStuckReturnsPromptlyAndGivesTheBudgetBack() throws Exception {
    MemoryBudget budget = MemoryBudget.of(64 << 20);
    PacketConfig config = PacketConfig.builder().memoryBudget(budget).sendQueueBytes(4 << 20).build();
    try (RawPair pair = RawPair.open(config);
        Packet p = Packet.of(new byte[64 << 10])) {
      PacketConn conn = pair.conn();
      io.github.packetconn.testing.Traffic.sendUntilFull(conn, i -> p); // The peer never reads: the writer is stuck.
      Sender sender = Sender.blocked(conn, p);
      assertTrue(conn.queuedBytes() >= 3 << 20, conn.queuedBytes() + " bytes queued");
      assertTrue(budget.used() >= conn.queuedBytes(), budget.toString());

      long start = System.nanoTime();
      conn.abort();
      assertWithin(PROMPTLY, millisSince(start), "abort returned");
      assertFalse(conn.isOpen());
      assertEquals(0, conn.queuedBytes(), "queued bytes dropped");
      assertEquals(0, budget.used(), "when abort returns: " + budget);
      Throwable refused = sender.outcome(PROMPTLY);
      assertInstanceOf(IllegalStateException.class, refused, "the blocked sender");
      assertEquals("closed", refused.getMessage());
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause(), "an abort is not a failure");
      assertEquals(CloseKind.ABORTED, conn.closeKind());
      awaitTrue(() -> writerAndLinger(conn).isEmpty(), () -> "still alive: " + writerAndLinger(conn));
    }
  }

  // ---- receivers on many threads

  @Test
  void fourReceiversGetEveryPacketExactlyOnce() throws Exception {
    int packets = 20_000;
    ConnectionHandler producer =
        conn -> {
          try (Packet p = Packet.allocate()) {
            for (int seq = 0; seq < packets; seq++) conn.send(p.clear().writeInt(seq).writeBytes(new byte[seq % 64]));
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, producer);
        PacketConn conn = blockingClient(server.localAddress(), PacketConfig.DEFAULT)) {
      List<CompletableFuture<int[]>> results = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean timed = t % 2 == 1; // Two read the socket themselves, two wait for a puller.
        CompletableFuture<int[]> result = new CompletableFuture<>();
        results.add(result);
        Thread.ofVirtual().name("receiver-" + t).start(() -> receiveAll(conn, timed, result));
      }
      BitSet seen = new BitSet(packets);
      int total = 0;
      for (int t = 0; t < 4; t++) {
        int[] got = results.get(t).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        for (int i = 0; i < got.length; i++) {
          if (i > 0) assertTrue(got[i] > got[i - 1], "receiver " + t + " took " + got[i] + " after " + got[i - 1]);
          assertFalse(seen.get(got[i]), "packet " + got[i] + " received twice");
          seen.set(got[i]);
        }
        total += got.length;
      }
      assertEquals(packets, total);
      assertEquals(packets, seen.cardinality());
    }
  }

  /** Receives until the end, checking each packet's size; completes with the sequence numbers. */
  private static void receiveAll(PacketConn conn, boolean timed, CompletableFuture<int[]> result) {
    try {
      List<Integer> got = new ArrayList<>();
      for (Packet next; (next = timed ? conn.receive(WAIT) : conn.receive()) != null; ) {
        try (Packet p = next) {
          int seq = p.readInt();
          if (p.remaining() != seq % 64) throw new AssertionError("seq " + seq + ": " + p.remaining() + " bytes");
          got.add(seq);
        }
      }
      result.complete(got.stream().mapToInt(Integer::intValue).toArray());
    } catch (Throwable e) {
      result.completeExceptionally(e);
    }
  }

  // ---- what an idle or receive-only connection holds

  @Test
  void receiveOnlyConnectionStartsNoWriter() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop writes on its I/O threads");
    ConnectionHandler greeter =
        conn -> {
          try (Packet p = Packet.allocate()) {
            for (int seq = 0; seq < 100; seq++) conn.send(p.clear().writeInt(seq));
          }
          assertNull(conn.receive(), "the client only receives");
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, greeter);
        PacketConn conn = blockingClient(server.localAddress(), PacketConfig.DEFAULT)) {
      for (int seq = 0; seq < 100; seq++) {
        try (Packet p = seq % 2 == 0 ? conn.receive() : conn.receive(WAIT)) {
          assertEquals(seq, p.readInt());
        }
      }
      String ours = "packetconn-write-" + PacketConn.format(conn.remoteAddress());
      String theServers = "packetconn-write-" + PacketConn.format(conn.localAddress());
      assertEquals(List.of(theServers), LiveThreads.named(theServers), "the server's side sent: it has a writer");
      assertFalse(LiveThreads.named(ours).contains(ours), "a connection that never sent has none");
      assertEquals(0, conn.stats().packetsOut());
    }
  }

  /** Differs per call, so that no pooled read buffer of that size exists before the test. */
  private static final AtomicInteger UNIQUE = new AtomicInteger();

  static Stream<Arguments> idleReceivers() {
    return Stream.of(
        Arguments.of("tcp", 100), Arguments.of("tcp", 2044), Arguments.of("unix", 100), Arguments.of("unix", 2044));
  }

  @TempDir(factory = UnixSocketTest.ShortTempDir.class)
  Path dir;

  /**
   * Eight receivers, each blocked in receive() after a packet that filled the small read buffer
   * exactly (payload 2044: a 2,048-byte frame) or did not: none holds a read buffer while it waits.
   */
  @ParameterizedTest(name = "{0}, payload {1}")
  @MethodSource("idleReceivers")
  void idleReceiversHoldNoDirectBuffer(String transport, int payload) throws Exception {
    int readBufferSize = (1 << 20) + 4096 * UNIQUE.incrementAndGet();
    PacketConfig config = PacketConfig.builder().readBufferSize(readBufferSize).build();
    byte[] frame = io.github.packetconn.testing.Frames.encode(new byte[payload], false);
    List<RawPair> pairs = new ArrayList<>();
    try {
      long before = io.github.packetconn.testing.Memory.directMemoryUsed();
      for (int i = 0; i < 8; i++) {
        RawPair pair = RawPair.open(config, transport.equals("unix") ? dir.resolve(i + ".sock") : null);
        pairs.add(pair);
        pair.write(frame);
        awaitTrue(() -> pair.unread() == frame.length, () -> pair.unread() + " bytes in the socket");
        try (Packet p = pair.conn().receive()) { // One read takes the whole frame.
          assertEquals(payload, p.size());
        }
        Receiver.blocked(pair.conn()); // Idle from now on.
      }
      // At most one read buffer, lent for a read and back in the pool (the loop's way); one each
      // would be 8 MiB.
      long held = io.github.packetconn.testing.Memory.directMemoryUsed() - before;
      assertTrue(held < 2L * readBufferSize, "8 idle receivers hold " + held + " bytes of direct memory");
    } finally {
      for (RawPair pair : pairs) pair.close();
    }
  }

  /** The other half of that rule: a burst waiting in the socket is read in large reads, not 2 KiB ones. */
  @Test
  void burstWaitingInTheSocketIsReadInOneLargeRead() throws Exception {
    int frames = 600;
    byte[] frame = io.github.packetconn.testing.Frames.encode(new byte[100], false);
    ByteBuffer burst = ByteBuffer.allocate(frames * frame.length);
    while (burst.hasRemaining()) burst.put(frame);
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      pair.write(burst.array());
      awaitTrue(() -> pair.unread() == burst.capacity(), () -> pair.unread() + " bytes in the socket");
      int smallRead = 2048 / frame.length; // The whole frames of a first, small read.
      for (int i = 0; i <= smallRead; i++) pair.conn().receive().release();
      assertEquals(frames, pair.conn().stats().packetsIn(), "the second read took the rest of the burst");
      for (int i = smallRead + 1; i < frames; i++) pair.conn().receive().release();
    }
  }

  /**
   * A receiver whose read brought a batch, and drained the socket, writes the replies itself before
   * it reads again: 500 rounds of ten small requests sent in one write, each answered in order, and
   * the receiver wrote some of them (the writer, woken by the first reply, may win a round's race
   * on another core, but not every one).
   */
  @Test
  void aReceiverWritesTheRepliesToABatchItself() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop writes on its I/O threads");
    int rounds = 500;
    int perRound = 10;
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 0; i < rounds * perRound; i++) {
            try (Packet p = conn.receive()) {
              conn.send(p);
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, Thread::startVirtualThread);
      ByteBuffer reply = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int r = 0; r < rounds; r++) {
        ByteBuffer batch = ByteBuffer.allocate(perRound * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < perRound; i++) batch.putInt(4).putInt(r * perRound + i);
        pair.write(batch.array()); // One write: the receiver reads the ten in one read.
        for (int i = 0; i < perRound; i++) {
          reply.clear();
          while (reply.hasRemaining()) assertTrue(pair.peer().read(reply) > 0, "reply " + i + " of round " + r);
          assertEquals(r * perRound + i, reply.getInt(4), "reply " + i + " of round " + r + " in its place");
        }
      }
      echo.get(WAIT.toSeconds(), TimeUnit.SECONDS); // Then its count is ours to read.
      long inline = ((SocketTransport) conn.transport()).inlineWrites();
      assertTrue(inline > 0, "the receiver wrote " + inline + " times in " + rounds + " rounds");
    }
  }

  /**
   * Receiver and writer both write, the receiver non-blocking what the socket takes and the writer
   * the rest: with the peer not reading until 1 MiB waits in the queue, every reply arrives once, in
   * order.
   */
  @Test
  void repliesToABatchGoOutFromTheReceiverAndTheWriterInOrder() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop writes on its I/O threads");
    int batches = 400;
    int perBatch = 50;
    byte[] payload = new byte[1_000];
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      PacketConn conn = pair.conn();
      CompletableFuture<Void> requests = CompletableFuture.runAsync(() -> {
        try {
          for (int b = 0; b < batches; b++) {
            ByteBuffer batch = ByteBuffer.allocate(perBatch * (4 + payload.length));
            for (int i = 0; i < perBatch; i++) {
              ByteBuffer.wrap(payload).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, b * perBatch + i);
              batch.put(io.github.packetconn.testing.Frames.encode(payload, false));
            }
            pair.write(batch.array()); // One write per batch: the receiver reads several frames at once.
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, Thread::startVirtualThread);
      CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 0; i < batches * perBatch; i++) {
            try (Packet p = conn.receive()) {
              conn.send(p);
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, Thread::startVirtualThread);
      // The peer reads nothing until the socket is full and replies pile up in the queue.
      awaitTrue(() -> conn.queuedBytes() > 1 << 20, () -> conn.queuedBytes() + " bytes queued");
      ByteBuffer reply = ByteBuffer.allocate(4 + payload.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < batches * perBatch; i++) {
        reply.clear();
        while (reply.hasRemaining()) assertTrue(pair.peer().read(reply) > 0, "reply " + i);
        assertEquals(payload.length, reply.getInt(0), "reply " + i + "'s length");
        assertEquals(i, reply.getInt(4), "reply " + i + " in its place");
      }
      requests.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      echo.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  // ---- interrupts

  /**
   * A receiver blocked in the socket is in a read of an interruptible channel: interrupting it makes
   * the JDK close the channel, so the connection ends with {@link ClosedByInterruptException} and
   * the thread stays interrupted. Other connections carry on.
   */
  @Test
  void interruptingAReceiverBlockedInTheSocketClosesItsConnectionOnly() throws Exception {
    assumeTrue(SocketTransport.ENABLED, "the loop's receivers wait in the inbox, where an interrupt closes nothing");
    BlockingRecorder recorder = new BlockingRecorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder);
        PacketConn victim = blockingClient(server.localAddress(), PacketConfig.DEFAULT);
        PacketConn other = blockingClient(server.localAddress(), PacketConfig.DEFAULT)) {
      Receiver receiver = Receiver.blocked(victim);
      receiver.thread.interrupt();
      Throwable thrown = receiver.failure();
      assertInstanceOf(ClosedByInterruptException.class, thrown);
      assertTrue(receiver.interruptedAfter, "the thread stays interrupted");
      assertFailedWith(victim, thrown);
      try (Packet hi = goldenHi()) {
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> victim.send(hi));
        assertEquals("closed: java.nio.channels.ClosedByInterruptException", refused.getMessage());
      }
      assertNull(recorder.ended(port(victim.localAddress())), "nothing was unread: the server sees a clean end");
      assertEchoes(other);
    }
  }

  /** A timed receive waits in the inbox while a puller reads: an interrupt ends the wait only. */
  @Test
  void interruptingATimedReceiverThrowsAndKeepsTheConnection() throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      Receiver receiver = new Receiver(pair.conn(), WAIT);
      Thread t = receiver.thread;
      awaitTrue( // Parked in the inbox's wait: timed by the JDK, or untimed until the timer's alarm.
          () -> (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING)
              && Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getMethodName().equals("await") || f.getMethodName().equals("awaitNanos")),
          () -> t + " is " + t.getState() + " at " + Arrays.toString(t.getStackTrace()));
      t.interrupt();
      Throwable thrown = receiver.failure();
      assertInstanceOf(InterruptedIOException.class, thrown);
      assertEquals("interrupted while waiting to receive", thrown.getMessage());
      assertTrue(receiver.interruptedAfter, "the thread stays interrupted");
      assertTrue(pair.conn().isOpen(), "an interrupted wait closes nothing");
      pair.write(io.github.packetconn.testing.Golden.bytes(io.github.packetconn.testing.Golden.HI));
      try (Packet hi = pair.conn().receive(WAIT)) {
        assertEquals("cdab7856341202006869", io.github.packetconn.testing.Golden.hex(hi));
      }
    }
  }
}
