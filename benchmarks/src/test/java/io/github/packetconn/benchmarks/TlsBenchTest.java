package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The TLS servers and the generator's TLS clients, with the bench's own key. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsBenchTest {
  /** The servers' stderr, beside the test's own output: a passing build stays quiet. */
  private static final java.io.File SERVER_LOG =
      new java.io.File("target/surefire-reports/TlsBenchTest-servers.txt");

  static final List<String> TLS_KINDS = ServerMain.TLS_KINDS;
  private static final Duration WARMUP = Duration.ofMillis(100);
  private static final Duration DURATION = Duration.ofMillis(400);

  @ParameterizedTest
  @FieldSource("TLS_KINDS")
  void generatorChecksEveryEchoOverTls13(String kind) throws Exception {
    try (EchoServer server = ServerMain.start(kind, new InetSocketAddress("127.0.0.1", 0))) {
      LoadResult pipelined = run(server, new Workload("pipelined", 20, 16, 0, 2048), "TLSv1.3");
      assertEquals(List.of(), pipelined.errorMessages());
      assertTrue(pipelined.packets() > 100, "packets: " + pipelined.packets());
      LoadResult pingPong = run(server, new Workload("ping-pong", 10, 1, 0, 2048), "TLSv1.3");
      assertEquals(List.of(), pingPong.errorMessages());
      assertTrue(pingPong.packets() > 10, "packets: " + pingPong.packets());
      // Frames of several records each, and more than a socket takes at once.
      LoadResult large = run(server, new Workload("large", 2, 3, 20_000, 300_000), "TLSv1.3");
      assertEquals(List.of(), large.errorMessages());
      assertTrue(large.packets() > 2, "packets: " + large.packets());
    }
  }

  @ParameterizedTest
  @FieldSource("TLS_KINDS")
  void generatorSpeaksTls12WhenAsked(String kind) throws Exception {
    try (EchoServer server = ServerMain.start(kind, new InetSocketAddress("127.0.0.1", 0))) {
      LoadGenerator generator =
          new LoadGenerator(
              new InetSocketAddress("127.0.0.1", server.port()),
              new Workload("w", 4, 8, 0, 2048),
              42,
              LoadGenerator.BUFFER_SIZE,
              "TLSv1.2");
      LoadResult result = generator.run(WARMUP, DURATION, LoadListener.NONE);
      assertEquals(List.of(), result.errorMessages());
      assertTrue(result.packets() > 10, "packets: " + result.packets());
      assertEquals("TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", generator.negotiated());
    }
  }

  @Test
  void tableShowsTlsOnItsWorkloadsWithItsRatios() {
    List<String> servers = List.of("packetconn-callback", "packetconn-callback-tls", "netty-tls");
    List<BenchRun> runs =
        List.of(
            run("packetconn-callback", Workload.PIPELINED, 1_000_000),
            run("packetconn-callback-tls", Workload.PIPELINED, 500_000),
            run("netty-tls", Workload.PIPELINED, 400_000),
            run("packetconn-callback", Workload.SMALL, 2_000_000));
    String text =
        new BenchTable(runs, servers, List.of(Workload.PIPELINED, Workload.SMALL)).text();
    List<String> tls = section(text, "TLS ");
    assertEquals(3, tls.size(), text); // The header, then pipelined only: TLS did not run small.
    assertTrue(tls.get(1).matches("pipelined 2000×100 +packetconn-callback-tls +500,000/s .*"), text);
    assertTrue(tls.get(2).matches(" +netty-tls +400,000/s .*"), text);
    List<String> ratios = section(text, "ratio a / b ");
    assertEquals("ratio a / b                           pipelined  small", ratios.get(0), text);
    assertEquals("callback-tls / netty-tls  throughput      1.25×      -", ratios.get(1), text);
    assertEquals("callback-tls / callback   throughput      0.50×      -", ratios.get(3), text);
  }

  /** {@return the lines of the table of {@code text} whose header starts with {@code header}} */
  static List<String> section(String text, String header) {
    List<String> lines = text.lines().toList();
    int start = 0;
    while (!lines.get(start).startsWith(header)) start++;
    int end = start;
    while (end < lines.size() && !lines.get(end).isEmpty()) end++;
    return lines.subList(start, end);
  }

  private static BenchRun run(String server, Workload workload, long packetsPerSecond) {
    LoadResult load =
        new LoadResult(
            workload, 1.0, packetsPerSecond, packetsPerSecond * 1024, 40, 90, 200, 1500, 0,
            List.of(), 0.0, 150);
    JvmStats stats = new JvmStats(64 * packetsPerSecond, 3, 12, 1, 900 * packetsPerSecond);
    return new BenchRun(server, load, stats);
  }

  @Test
  void unknownTlsProtocolThrows() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new LoadGenerator(
                    new InetSocketAddress("127.0.0.1", 1), Workload.SINGLE, 1, 1024, "SSLv3"));
    assertEquals("unknown TLS protocol SSLv3, expected one of [TLSv1.3, TLSv1.2]", e.getMessage());
  }

  /** Runs the kind as the harness does, in its own JVM, and echoes frames through an SSLSocket. */
  @ParameterizedTest
  @FieldSource("TLS_KINDS")
  void serverMainEchoesFramesOverTls(String kind) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process process =
        new ProcessBuilder(
                java,
                "--sun-misc-unsafe-memory-access=allow",
                "--enable-native-access=ALL-UNNAMED",
                "-Dio.netty.leakDetection.level=disabled",
                "-cp",
                System.getProperty("java.class.path"),
                ServerMain.class.getName(),
                "--kind",
                kind,
                "--port",
                "0")
            .redirectError(ProcessBuilder.Redirect.appendTo(SERVER_LOG))
            .start();
    try (BufferedReader out =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Writer in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8)) {
      String ready = out.readLine();
      assertTrue(ready != null && ready.matches("READY [0-9]+"), "first line: " + ready);
      int port = Integer.parseInt(ready.substring("READY ".length()));

      long seed = System.nanoTime();
      Random random = new Random(seed);
      try (SSLSocket socket =
          (SSLSocket) BenchTls.clientContext().getSocketFactory().createSocket("127.0.0.1", port)) {
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        assertEquals("TLSv1.3", socket.getSession().getProtocol());
        OutputStream send = socket.getOutputStream();
        DataInputStream receive = new DataInputStream(socket.getInputStream());
        ByteBuffer burst = ByteBuffer.allocate(200 * (4 + 2048)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 200; i++) {
          byte[] payload = new byte[i == 0 ? 0 : random.nextInt(2049)];
          random.nextBytes(payload);
          burst.putInt(payload.length).put(payload);
        }
        send.write(burst.array(), 0, burst.position()); // 200 frames in ~26 records, echoed in order.
        send.flush();
        byte[] expected = new byte[burst.position()];
        burst.flip().get(expected);
        byte[] echoed = new byte[expected.length];
        receive.readFully(echoed);
        assertArrayEquals(expected, echoed, "echoed frames, seed " + seed);
      }

      in.write("stats\n");
      in.flush();
      assertTrue(JvmStats.parse(out.readLine()).allocatedBytes() > 0);
      in.write("quit\n");
      in.flush();
      assertTrue(process.waitFor(20, TimeUnit.SECONDS), kind + " did not exit after quit");
      assertEquals(0, process.exitValue());
    } finally {
      process.destroyForcibly();
    }
  }

  private static LoadResult run(EchoServer server, Workload workload, String protocol)
      throws Exception {
    LoadGenerator generator =
        new LoadGenerator(
            new InetSocketAddress("127.0.0.1", server.port()),
            workload,
            42,
            LoadGenerator.BUFFER_SIZE,
            protocol);
    LoadResult result = generator.run(WARMUP, DURATION, LoadListener.NONE);
    assertEquals("TLSv1.3 TLS_AES_128_GCM_SHA256", generator.negotiated());
    return result;
  }
}
