package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Runs each server kind as the harness does, in its own JVM, and echoes frames through it. */
class ServerMainTest {
  /** The servers' stderr, beside the test's own output: a passing build stays quiet. */
  private static final java.io.File SERVER_LOG =
      new java.io.File("target/surefire-reports/ServerMainTest-servers.txt");

  static final List<String> KINDS = ServerMain.KINDS;

  @ParameterizedTest
  @FieldSource("KINDS")
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void echoesFramesAndAnswersStats(String kind) throws Exception {
    echoesFramesAndAnswersStats(kind, List.of("--port", "0"), null);
  }

  @ParameterizedTest
  @FieldSource("KINDS")
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void echoesFramesOverAUnixSocket(String kind) throws Exception {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "pcbench");
    Path socket = dir.resolve("echo.sock");
    try {
      echoesFramesAndAnswersStats(kind, List.of("--unix", socket.toString()), socket);
    } finally {
      Files.deleteIfExists(socket); // raw leaves its file behind; the bench deletes it.
      Files.delete(dir);
    }
  }

  /** Starts {@code kind} listening where {@code where} says; {@code unix} is its socket, or null. */
  private static void echoesFramesAndAnswersStats(String kind, List<String> where, Path unix)
      throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> command =
        new ArrayList<>(
            List.of(
                java,
                "--sun-misc-unsafe-memory-access=allow",
                "--enable-native-access=ALL-UNNAMED",
                "-Dio.netty.leakDetection.level=disabled",
                "-cp",
                System.getProperty("java.class.path"),
                ServerMain.class.getName(),
                "--kind",
                kind));
    command.addAll(where);
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(SERVER_LOG)).start();
    try (BufferedReader out =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Writer in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8)) {
      String ready = out.readLine();
      String readyLine = unix != null ? "READY " + Pattern.quote(unix.toString()) : "READY [0-9]+";
      assertTrue(ready != null && ready.matches(readyLine), "first line: " + ready);

      long seed = System.nanoTime();
      Random random = new Random(seed);
      List<byte[]> payloads = new ArrayList<>();
      payloads.add(new byte[0]);
      for (int i = 0; i < 20; i++) payloads.add(bytes(random, random.nextInt(2049)));
      payloads.add(bytes(random, 1 << 20));
      payloads.add(new byte[0]);
      SocketAddress address =
          unix != null
              ? UnixDomainSocketAddress.of(unix)
              : new InetSocketAddress("127.0.0.1", Integer.parseInt(ready.substring("READY ".length())));
      try (SocketChannel socket = SocketChannel.open(address)) {
        OutputStream send = Channels.newOutputStream(socket); // Blocking: the test's timeout bounds it.
        DataInputStream receive = new DataInputStream(Channels.newInputStream(socket));
        for (byte[] payload : payloads) { // One at a time: the 1 MiB frame won't fit in socket buffers.
          // Written while the echo is read: raw echoes as it reads, and stops reading while the
          // echo waits, so a frame larger than both sockets' buffers (Unix sockets' are small)
          // needs a reader while it is written.
          CompletableFuture<Void> written =
              CompletableFuture.runAsync(
                  () -> {
                    try {
                      send.write(frame(payload));
                      send.flush();
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  });
          byte[] header = new byte[4];
          receive.readFully(header);
          int length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt();
          assertEquals(payload.length, length, "echoed length, seed " + seed);
          byte[] echoed = new byte[length];
          receive.readFully(echoed);
          assertArrayEquals(payload, echoed, "echoed payload, seed " + seed);
          written.join();
        }
        // A burst of frames in one write, echoed in order.
        ByteBuffer burst = ByteBuffer.allocate(payloads.size() * 4 + 64 * 1000);
        List<byte[]> small = new ArrayList<>();
        for (int i = 0; i < 1000; i++) small.add(bytes(random, random.nextInt(64)));
        for (byte[] payload : small) burst.put(frame(payload));
        send.write(burst.array(), 0, burst.position());
        byte[] expected = new byte[burst.position()];
        burst.flip().get(expected);
        byte[] echoed = new byte[expected.length];
        receive.readFully(echoed);
        assertArrayEquals(expected, echoed, "echoed burst, seed " + seed);
      }

      in.write("stats\n");
      in.flush();
      JvmStats first = JvmStats.parse(out.readLine());
      in.write("stats\n");
      in.flush();
      JvmStats second = JvmStats.parse(out.readLine());
      assertTrue(first.allocatedBytes() > 0, first.toString());
      assertTrue(second.allocatedBytes() >= first.allocatedBytes(), first + " then " + second);
      assertTrue(second.gcCount() >= second.oldGcCount(), second.toString());
      assertTrue(first.cpuNanos() > 0 && second.cpuNanos() >= first.cpuNanos(), first + " then " + second);

      in.write("quit\n");
      in.flush();
      assertTrue(process.waitFor(20, TimeUnit.SECONDS), kind + " did not exit after quit");
      assertEquals(0, process.exitValue());
      assertEquals(null, out.readLine(), "nothing on stdout after quit");
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void statsLineRoundTrips() {
    JvmStats stats = new JvmStats(123456789012L, 42, 7, 1, 98765432100L);
    assertEquals(
        "STATS allocatedBytes=123456789012 gcCount=42 gcTimeMs=7 oldGcCount=1 cpuNanos=98765432100",
        stats.toLine());
    assertEquals(stats, JvmStats.parse(stats.toLine()));
  }

  @Test
  void statsLineWithoutAFieldThrows() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> JvmStats.parse("STATS allocatedBytes=1 gcCount=2 gcTimeMs=3 oldGcCount=4"));
    assertEquals(
        "no cpuNanos in: STATS allocatedBytes=1 gcCount=2 gcTimeMs=3 oldGcCount=4", e.getMessage());
  }

  @Test
  void captureMeasuresProcessCpuTime() {
    long before = JvmStats.capture().cpuNanos();
    assertTrue(before > 0, "cpuNanos " + before);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    long after = before;
    long sum = 0;
    while (after == before && System.nanoTime() < deadline) { // The clock ticks every 10 ms.
      for (int i = 0; i < 1_000_000; i++) sum += (long) i * i;
      after = JvmStats.capture().cpuNanos();
    }
    sink = sum;
    assertTrue(after > before, "cpuNanos " + before + " then " + after);
    assertEquals(-1, new JvmStats(0, 0, 0, 0, after).minus(new JvmStats(0, 0, 0, 0, -1)).cpuNanos());
  }

  @Test
  void captureCountsAllocationOfVirtualThreads() throws Exception {
    JvmStats before = JvmStats.capture();
    Thread thread = Thread.ofVirtual().start(() -> {
      for (int i = 0; i < 100; i++) sink = new byte[100_000];
    });
    thread.join();
    long allocated = JvmStats.capture().minus(before).allocatedBytes();
    assertTrue(allocated >= 10_000_000, "allocated " + allocated);
  }

  static volatile Object sink;

  private static byte[] bytes(Random random, int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }

  private static byte[] frame(byte[] payload) {
    return ByteBuffer.allocate(4 + payload.length)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt(payload.length)
        .put(payload)
        .array();
  }
}
