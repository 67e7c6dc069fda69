package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The fan-out servers, in this JVM, driven by the {@link FanoutGenerator}, and its checks. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FanoutTest {
  static final List<String> KINDS = Fanout.KINDS;
  private static final Duration WARMUP = Duration.ofMillis(100);
  private static final Duration DURATION = Duration.ofMillis(400);
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

  @ParameterizedTest
  @FieldSource("KINDS")
  void everySubscriberReceivesEveryPacketInOrder(String kind) throws Exception {
    try (EchoServer server = Fanout.start(kind, LOOPBACK)) {
      // Small payloads; then 20-byte buffers, which split heads and payloads; then large ones.
      assertEveryPacketReachedEverySubscriber(
          server, new Workload("fan", Workload.Shape.FANOUT, 20, 4, 16, 2048), 256 * 1024, 50);
      assertEveryPacketReachedEverySubscriber(
          server, new Workload("split", Workload.Shape.FANOUT, 3, 3, 16, 100), 20, 10);
      assertEveryPacketReachedEverySubscriber(
          server, Workload.FANOUT_LARGE.scaled(0.03), 256 * 1024, 10);
    }
  }

  private static void assertEveryPacketReachedEverySubscriber(
      EchoServer server, Workload workload, int bufferSize, long atLeast) throws IOException {
    FanoutGenerator generator =
        new FanoutGenerator(
            new InetSocketAddress("127.0.0.1", server.port()), workload, 42, bufferSize);
    LoadResult result = generator.run(WARMUP, DURATION, LoadListener.NONE);
    assertEquals(List.of(), result.errorMessages(), workload.name());
    long published = generator.published();
    assertTrue(published >= atLeast, workload.name() + ": published " + published);
    long[] expected = new long[workload.clients()];
    Arrays.fill(expected, published);
    assertEquals( // The generator checked each subscriber's packets for sequence and bytes.
        Arrays.toString(expected),
        Arrays.toString(generator.receivedBySubscriber()),
        workload.name());
    assertTrue(result.packets() > 0 && result.payloadBytes() > 0, result::toString);
    assertTrue(
        result.p50Micros() > 0 && result.p50Micros() <= result.p99Micros(), result::toString);
  }

  @Test
  void aSkippedPacketFailsThatSubscriber() throws Exception {
    // The second subscriber to join misses packet 5.
    try (FaultyFanout server = new FaultyFanout((member, seq) -> member == 1 && seq == 5, NONE)) {
      FanoutGenerator generator = generator(server, 3);
      assertOneError(
          generator,
          "subscriber \\d: packet seq 6 arrived, expected 5 \\(skipped, repeated or reordered\\)");
      long[] received = generator.receivedBySubscriber();
      assertEquals( // The other two got everything; the one that missed 5 stopped there.
          2,
          Arrays.stream(received).filter(n -> n == generator.published()).count(),
          Arrays.toString(received));
      assertTrue(Arrays.stream(received).anyMatch(n -> n == 5), Arrays.toString(received));
    }
  }

  @Test
  void aCorruptedByteIsAnError() throws Exception {
    try (FaultyFanout server = new FaultyFanout(NONE, (member, seq) -> member == 0 && seq == 3)) {
      assertOneError(
          generator(server, 2),
          "subscriber \\d seq 3: byte 16 of \\d+ is 0x[0-9a-f]{2}, expected 0x[0-9a-f]{2}");
    }
  }

  @Test
  void aFanoutPayloadHasRoomForItsStamp() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Workload("f", Workload.Shape.FANOUT, 10, 4, 0, 512));
    assertEquals("a fan-out payload holds a 16-byte stamp: minPayload < 16: 0", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new FanoutGenerator(LOOPBACK, Workload.SMALL, 1));
    assertTrue(e.getMessage().startsWith("not a fan-out: Workload[name=small"), e.getMessage());
  }

  @Test
  void aKindWithoutAFanoutServerDoesNotStart() {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx64m",
            "-cp",
            System.getProperty("java.class.path"),
            ServerMain.class.getName(),
            "--kind",
            "raw",
            "--mode",
            "fanout");
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                ServerProcess.start(
                    "raw", command, new PrintStream(log, true, StandardCharsets.UTF_8)));
    assertEquals("server raw did not start: server raw exited with status 2", e.getMessage());
    assertTrue(
        log.toString(StandardCharsets.UTF_8)
            .contains(
                "[raw] ServerMain: --kind raw has no fan-out server; --mode fanout takes one of"
                    + " [packetconn-callback, packetconn-blocking, netty]"),
        log::toString);
  }

  /** Runs {@code generator}; checks it found one error, whose description matches {@code regex}. */
  private static void assertOneError(FanoutGenerator generator, String regex) throws IOException {
    LoadResult result = generator.run(WARMUP, DURATION, LoadListener.NONE);
    assertEquals(1, result.errors(), result.errorMessages()::toString);
    assertTrue(result.errorMessages().get(0).matches(regex), result.errorMessages()::toString);
  }

  private static FanoutGenerator generator(FaultyFanout server, int subscribers) {
    return new FanoutGenerator(
        new InetSocketAddress("127.0.0.1", server.port()),
        new Workload("faulty", Workload.Shape.FANOUT, subscribers, 4, 16, 300),
        7);
  }

  /** Picks sends of a {@link FaultyFanout}: by member, in join order, and packet number. */
  @FunctionalInterface
  interface Sends {
    boolean test(int member, long seq);
  }

  private static final Sends NONE = (member, seq) -> false;

  /** Fanout's protocol with faults: some members miss, or get a corrupted copy of, some packets. */
  private static final class FaultyFanout implements AutoCloseable {
    private final PacketServer server;
    private final List<PacketConn> members = new CopyOnWriteArrayList<>();
    private final AtomicLong published = new AtomicLong();

    /** Skips the sends {@code skip} picks, and flips byte 16 of those {@code corrupt} picks. */
    FaultyFanout(Sends skip, Sends corrupt) throws IOException {
      PacketHandler handler =
          (conn, packet) -> {
            try (packet) {
              if (conn.attachment() == null) { // The hello.
                int role = packet.readUnsignedByte();
                conn.attach(role);
                if (role == Fanout.SUBSCRIBER) {
                  members.add(conn);
                  conn.closeFuture().whenComplete((ignored, failure) -> members.remove(conn));
                  try (Packet answer = Packet.allocate(1).writeByte(Fanout.SUBSCRIBER)) {
                    conn.send(answer);
                  }
                }
                return;
              }
              long seq = published.getAndIncrement();
              List<PacketConn> now = new ArrayList<>(members);
              for (int i = 0; i < now.size(); i++) {
                if (skip.test(i, seq)) continue;
                byte[] bytes = packet.toByteArray();
                if (corrupt.test(i, seq)) bytes[16] ^= 0x5a;
                try (Packet copy = Packet.of(bytes)) {
                  now.get(i).send(copy);
                } catch (IllegalStateException e) {
                  // The generator closed a subscriber it found wrong.
                }
              }
            }
          };
      server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, handler);
    }

    int port() {
      return server.port();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
