package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.io.TempDirFactory;

@Timeout(20)
class LoadGeneratorTest {
  private static final Duration WARMUP = Duration.ofMillis(100);
  private static final Duration DURATION = Duration.ofMillis(400);

  @Test
  void echoesArriveInOrderWithOnePacketInFlight() throws IOException {
    LoadResult result = run(new Workload("w1", 3, 1, 0, 300), LoadGenerator.BUFFER_SIZE);
    assertEquals(List.of(), result.errorMessages());
    assertTrue(result.packets() > 10, "packets: " + result.packets());
  }

  @Test
  void echoesArriveInOrderWithManyPacketsInFlight() throws IOException {
    LoadResult result = run(new Workload("w16", 4, 16, 0, 2048), LoadGenerator.BUFFER_SIZE);
    assertEquals(List.of(), result.errorMessages());
    assertTrue(result.packets() > 100, "packets: " + result.packets());
    assertTrue(result.payloadBytes() > 0);
    assertTrue(
        result.p50Micros() > 0 && result.p50Micros() <= result.p99Micros(), result::toString);
  }

  @Test
  void framesLargerThanTheBuffersAreWrittenAndCheckedInPieces() throws IOException {
    // 7-byte buffers split every prefix and payload; 200 KiB frames exceed even the default ones.
    LoadResult small = run(new Workload("tiny-buffers", 2, 3, 0, 100), 7);
    assertEquals(List.of(), small.errorMessages());
    assertTrue(small.packets() > 10, "packets: " + small.packets());
    LoadResult large = run(new Workload("large", 2, 2, 200_000, 600_000), 64 * 1024);
    assertEquals(List.of(), large.errorMessages());
    LoadResult bulkSplit = run(new Workload("bulk", 1, 3, 20_000, 30_000), 5);
    assertEquals(List.of(), bulkSplit.errorMessages());
    assertTrue(bulkSplit.packets() > 2, "packets: " + bulkSplit.packets());
    assertTrue(large.packets() > 2, "packets: " + large.packets());
  }

  @Test
  @SuppressWarnings("try") // The server only has to be open.
  void drivesAServerOnAUnixSocket(@TempDir(factory = ShortTempDir.class) Path dir) throws Exception {
    // More clients than connect in one batch: Unix sockets connect at once, a batch at a time.
    Workload workload = new Workload("unix", 3 * LoadGenerator.MAX_PENDING_CONNECTS, 4, 0, 2048);
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(dir.resolve("e.sock"));
    try (EchoServer server = PacketconnEchoServer.callback(address)) {
      LoadResult result =
          new LoadGenerator(address, workload, 42)
              .run(WARMUP, DURATION, LoadListener.NONE);
      assertEquals(List.of(), result.errorMessages());
      assertTrue(result.packets() > 100, "packets: " + result.packets());
    }
  }

  /** Puts a temporary directory in /tmp: a socket's path must fit in ~100 bytes. */
  static final class ShortTempDir implements TempDirFactory {
    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context)
        throws IOException {
      return Files.createTempDirectory(Path.of("/tmp"), "pcbench");
    }
  }

  @Test
  void corruptedByteIsAnError() throws IOException {
    try (TestEchoServer server = new TestEchoServer(TestEchoServer.Fault.corrupting(3), false)) {
      LoadResult result = run(server, new Workload("c", 1, 4, 10, 10), LoadGenerator.BUFFER_SIZE);
      assertEquals(1, result.errors(), result.errorMessages()::toString);
      assertTrue(
          result
              .errorMessages()
              .get(0)
              .matches("client 0 seq 3: byte 5 of 10 is 0x[0-9a-f]{2}, expected 0x[0-9a-f]{2}"),
          result.errorMessages()::toString);
      assertFalse(result.ok());
    }
  }

  @Test
  void corruptedByteInABulkFrameIsAnError() throws IOException {
    try (TestEchoServer server = new TestEchoServer(TestEchoServer.Fault.corrupting(2), false)) {
      LoadResult result =
          run(server, new Workload("b", 1, 2, 20_000, 20_000), LoadGenerator.BUFFER_SIZE);
      assertEquals(
          List.of(),
          result.errorMessages().stream()
              .filter(
                  m ->
                      !m.matches(
                          "client 0 seq 2: byte 10000 of 20000 is 0x[0-9a-f]{2}, expected"
                              + " 0x[0-9a-f]{2}"))
              .toList());
      assertEquals(1, result.errors(), result.errorMessages()::toString);
    }
  }

  @Test
  void reorderedEchoesAreErrors() throws IOException {
    try (TestEchoServer server = new TestEchoServer(TestEchoServer.Fault.NONE, true)) {
      LoadResult result =
          run(server, new Workload("r", 1, 4, 100, 2000), LoadGenerator.BUFFER_SIZE);
      assertEquals(2, result.errors(), result.errorMessages()::toString);
      assertTrue(
          result.errorMessages().get(0).startsWith("client 0 seq 0: echo of "),
          result.errorMessages()::toString);
      assertTrue(
          result.errorMessages().get(1).startsWith("client 0 seq 1: echo of "),
          result.errorMessages()::toString);
    }
  }

  @Test
  void serverClosingIsAnError() throws IOException {
    TestEchoServer.Fault hangUp =
        (connection, index, payload, out) -> {
          if (index == 5) throw new IOException("hang up");
          TestEchoServer.writeFrame(out, payload);
        };
    try (TestEchoServer server = new TestEchoServer(hangUp, false)) {
      LoadResult result = run(server, new Workload("h", 2, 1, 0, 10), LoadGenerator.BUFFER_SIZE);
      assertEquals(2, result.errors(), result.errorMessages()::toString);
      assertTrue(
          result
              .errorMessages()
              .get(0)
              .matches("client \\d: closed by the server after 5 echoes, 1 packets in flight"),
          result.errorMessages()::toString);
    }
  }

  @Test
  void refusedConnectFailsTheRun() throws IOException {
    InetSocketAddress closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
    }
    LoadGenerator generator = new LoadGenerator(closed, new Workload("x", 2, 1, 0, 1), 1);
    IOException e =
        assertThrows(IOException.class, () -> generator.run(WARMUP, DURATION, LoadListener.NONE));
    assertTrue(
        e.getMessage().startsWith("client 0: connect to " + closed + " failed: "), e.getMessage());
  }

  @Test
  void listenerSeesPhasesInOrderAndIntervals() throws IOException {
    List<Phase> phases = new ArrayList<>();
    List<LoadInterval> intervals = new ArrayList<>();
    LoadListener listener =
        new LoadListener() {
          @Override
          public void phaseStarted(Phase phase) {
            phases.add(phase);
          }

          @Override
          public void interval(LoadInterval interval) {
            intervals.add(interval);
          }
        };
    try (TestEchoServer server = new TestEchoServer()) {
      new LoadGenerator(server.address(), new Workload("p", 2, 2, 0, 10), 1)
          .run(Duration.ofMillis(50), Duration.ofMillis(1200), listener);
    }
    assertEquals(List.of(Phase.CONNECT, Phase.WARMUP, Phase.MEASURE, Phase.DRAIN), phases);
    assertEquals(Phase.WARMUP, intervals.get(0).phase());
    assertEquals(3, intervals.size(), intervals::toString); // Warm-up, 1 s, the last 0.2 s.
    assertEquals(Phase.MEASURE, intervals.get(2).phase());
  }

  private static LoadResult run(Workload workload, int bufferSize) throws IOException {
    try (TestEchoServer server = new TestEchoServer()) {
      return run(server, workload, bufferSize);
    }
  }

  private static LoadResult run(TestEchoServer server, Workload workload, int bufferSize)
      throws IOException {
    return new LoadGenerator(server.address(), workload, 42, bufferSize)
        .run(WARMUP, DURATION, LoadListener.NONE);
  }
}
