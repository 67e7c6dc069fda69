package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class BenchReportTest {
  private static final List<String> SERVERS = List.of("packetconn-callback", "netty", "raw");
  private static final List<Workload> WORKLOADS =
      List.of(Workload.SMALL, Workload.LARGE, Workload.SINGLE);
  private static final Machine MACHINE =
      new Machine(
          "Test CPU \"x\" <2>",
          2,
          "1",
          "Java 25",
          "Linux 6",
          Instant.parse("2026-01-02T03:04:05Z"));

  private static List<BenchRun> runs() {
    return List.of(
        run("packetconn-callback", Workload.SMALL, 2_000_000, 0),
        run("netty", Workload.SMALL, 1_000_000, 0),
        run("raw", Workload.SMALL, 4_000_000, 0),
        run("packetconn-callback", Workload.LARGE, 1_000, 0),
        run("netty", Workload.LARGE, 800, 0),
        run("raw", Workload.LARGE, 1_200, 3),
        run("packetconn-callback", Workload.SINGLE, 20_000, 0),
        run("netty", Workload.SINGLE, 25_000, 0),
        new BenchRun("raw", LoadResult.failure(Workload.SINGLE, "server raw did not start"), null));
  }

  private static BenchRun run(
      String server, Workload workload, long packetsPerSecond, long errors) {
    int payload = (workload.minPayload() + workload.maxPayload()) / 2;
    LoadResult load =
        new LoadResult(
            workload,
            2.0,
            2 * packetsPerSecond,
            2 * packetsPerSecond * payload,
            40,
            90.5,
            200,
            1500,
            errors,
            errors == 0
                ? List.of()
                : List.of("client 0 seq 3: byte 5 of 10 is 0x01, expected 0x00"),
            0.0,
            150);
    // 500 ns of server CPU per packet, 64 B allocated per packet.
    long packets = 2 * packetsPerSecond;
    return new BenchRun(server, load, new JvmStats(64 * packets, 3, 12, 1, 500 * packets));
  }

  @Test
  void tableHasARowPerWorkloadAndServerThenRatios() {
    String text = new BenchTable(runs(), SERVERS, WORKLOADS).text();
    List<String> tcp = TlsBenchTest.section(text, "TCP ");
    assertEquals(10, tcp.size(), text);
    assertTrue(
        tcp.get(0)
            .matches(
                "TCP +server +throughput +p50 +p99 +CPU/packet +B/packet +GC \\(old\\) +errors"),
        text);
    assertTrue(
        tcp.get(1)
            .matches(
                "small 100×100 +packetconn-callback +2,000,000/s +40\\.0 µs +90\\.5 µs +500 ns"
                    + " +64\\.0 +3 \\(1\\) *"),
        text);
    assertTrue(tcp.get(2).matches(" +netty +1,000,000/s .*"), text);
    assertTrue(tcp.get(6).matches(" +raw +[0-9,]+ MiB/s .* 3"), text); // Its errors.
    assertTrue(tcp.get(9).matches(" +raw +0/s +- +- +n/a +n/a +n/a +1"), text); // Did not start.
    List<String> ratios = TlsBenchTest.section(text, "ratio a / b ");
    assertEquals(5, ratios.size(), text);
    assertTrue(ratios.get(0).matches("ratio a / b +small +large +single"), text);
    assertTrue(
        ratios.get(1).matches("callback / netty +throughput +2\\.00× +1\\.25× +0\\.80×"), text);
    assertTrue(ratios.get(2).matches(" +CPU/packet +1\\.00× +1\\.00× +1\\.00×"), text);
    assertTrue(ratios.get(3).matches("callback / raw +throughput +0\\.50× +- +-"), text);
  }

  @Test
  void textFitsA120ColumnTerminalWithEveryServerAndFailure() {
    List<Workload> workloads = Workload.STANDARD;
    List<BenchRun> runs = new ArrayList<>();
    for (String server : BenchOptions.ALL_SERVERS) {
      for (Workload workload : workloads) {
        if (!BenchOptions.runs(server, workload)) continue;
        // The widest cells a run could have: 100 M packets/s, 100 GiB/s, second-long latencies,
        // microseconds of CPU and tens of kilobytes allocated per packet, thousands of GCs, and
        // a failed run with six-digit errors.
        long packets = 99_999_999;
        long bytes = workload.reportsBytes() ? 99_999L << 20 : packets * 1000;
        LoadResult load =
            new LoadResult(
                workload, 1.0, packets, bytes, 1.5e6, 2.5e6, 3e6, 9e6,
                server.equals("netty-tls") ? 123_456 : 0, List.of(), 0.0, 150);
        runs.add(
            new BenchRun(
                server, load, new JvmStats(packets * 12_345, 12_345, 1, 1_234, packets * 99_900)));
      }
    }
    String text = new BenchTable(runs, BenchOptions.ALL_SERVERS, workloads).text();
    for (String line : text.lines().toList()) {
      assertTrue(line.length() <= BenchTable.TEXT_WIDTH, line.length() + " columns:\n" + text);
    }
    for (String server : BenchOptions.ALL_SERVERS) {
      assertTrue(text.contains("  " + server + "  "), server + " in\n" + text);
    }
    assertTrue(text.contains("99,999,999/s") && text.contains("99,999 MiB/s"), text);
    assertTrue(text.contains(" 99.9 µs ") && text.contains(" 12,345  12345 (1234)"), text);
    assertTrue(text.contains("  123456"), text);
    assertTrue(text.contains("blocking / virtual-threads"), text);
    assertEquals( // Every run has its row: its GC count is in none of the ratio rows.
        runs.size(), text.lines().filter(line -> line.contains(" 12345 (1234)")).count(), text);
  }

  @Test
  void wrapBreaksAfterCommasAndIndentsTheRest() {
    assertEquals("a, b", Format.wrap("a, b", 10, "  "));
    assertEquals("aaaa, bbb;\n  cc, dd", Format.wrap("aaaa, bbb; cc, dd", 10, "  "));
    assertEquals("one two\n  three", Format.wrap("one two three", 9, "  ")); // No comma: spaces.
  }

  @Test
  void markdownTableHasAHeaderRuleAndOneLinePerWorkload() {
    List<String> lines = new BenchTable(runs(), SERVERS, WORKLOADS).markdown().lines().toList();
    assertEquals(5, lines.size());
    assertTrue(
        lines.get(0).startsWith("| workload | packetconn-callback throughput |"), lines.get(0));
    assertTrue(
        lines.get(0)
            .endsWith(
                "| packetconn-callback / netty | packetconn-callback / netty CPU/packet"
                    + " | packetconn-callback / raw | packetconn-callback / raw CPU/packet |"),
        lines.get(0));
    assertTrue(lines.get(2).startsWith("| small 100×100 | 2,000,000/s | p99 90.5 µs | 500 ns |"));
    int columns = lines.get(0).split("\\|", -1).length;
    for (String line : lines) assertEquals(columns, line.split("\\|", -1).length, line);
  }

  @Test
  @SuppressWarnings("unchecked")
  void jsonParsesBackWithEveryRun() throws UsageException {
    BenchOptions options = BenchOptions.parse(List.of("--scale", "0.5", "--out", "x"));
    String json = BenchJson.write(MACHINE, options, runs());
    Map<String, Object> root = (Map<String, Object>) JsonReader.parse(json);
    Map<String, Object> machine = (Map<String, Object>) root.get("machine");
    assertEquals("Test CPU \"x\" <2>", machine.get("cpuModel"));
    assertEquals(2.0, machine.get("cpus"));
    assertEquals("2026-01-02T03:04:05Z", machine.get("date"));
    assertEquals(0.5, ((Map<String, Object>) root.get("options")).get("scale"));
    List<Object> runs = (List<Object>) root.get("runs");
    assertEquals(9, runs.size());
    Map<String, Object> first = (Map<String, Object>) runs.get(0);
    assertEquals("packetconn-callback", first.get("server"));
    assertEquals("small", ((Map<String, Object>) first.get("workload")).get("name"));
    assertEquals(2_000_000.0, first.get("packetsPerSecond"));
    assertEquals(90.5, ((Map<String, Object>) first.get("latencyMicros")).get("p99"));
    Map<String, Object> stats = (Map<String, Object>) first.get("serverStats");
    assertEquals(64.0, stats.get("allocatedBytesPerPacket"));
    assertEquals(2_000_000_000.0, stats.get("cpuNanos"));
    assertEquals(500.0, stats.get("cpuNanosPerPacket"));
    Map<String, Object> failed = (Map<String, Object>) runs.get(8);
    assertEquals(1.0, failed.get("errors"));
    assertEquals(List.of("server raw did not start"), failed.get("errorMessages"));
    assertEquals(null, failed.get("serverStats"));
  }

  @Test
  void jsonEscapesStringsAndWritesNanAsNull() {
    assertEquals(
        "{\n"
            + "  \"a\\\"\\n"
            + "\": \"\\u0001\\\\\",\n"
            + "  \"b\": null,\n"
            + "  \"c\": [],\n"
            + "  \"d\": [\n"
            + "    1,\n"
            + "    2.5\n"
            + "  ]\n"
            + "}\n",
        Json.write(
            Json.object(
                "a\"\n", "\u0001\\", "b", Double.NaN, "c", List.of(), "d", List.of(1, 2.5))));
  }

  @Test
  void jsonReadsBackToTheSameRuns() throws UsageException {
    BenchOptions options = BenchOptions.parse(List.of("--scale", "0.5", "--servers", "raw,netty"));
    BenchJson.Results results =
        BenchJson.read(BenchJson.write(MACHINE, options, runs()), Path.of("elsewhere"));
    assertEquals(MACHINE, results.machine());
    assertEquals(runs(), results.runs());
    assertEquals(List.of("raw", "netty"), results.options().servers());
    assertEquals(0.5, results.options().scale());
    assertEquals(Path.of("elsewhere"), results.options().out());
  }

  @Test
  void jsonWithoutCpuTimeReadsAsUnknown() {
    String json =
        BenchJson.write(MACHINE, BenchOptions.defaults(), List.of(runs().get(0)))
            .replaceAll(",\\s*\"cpuNanos\": [0-9]+,\\s*\"cpuNanosPerPacket\": [0-9.]+", "");
    assertTrue(!json.contains("cpuNanos\""), json);
    BenchRun run = BenchJson.read(json, Path.of("x")).runs().get(0);
    assertEquals(-1, run.serverStats().cpuNanos());
    assertTrue(Double.isNaN(run.serverCpuNanosPerPacket()));
    assertEquals(64.0, run.serverAllocatedPerPacket());
  }

  @Test
  void jsonThatIsNoBenchThrows() {
    Path out = Path.of("x");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BenchJson.read("{\"runs\": []}", out));
    assertEquals("machine is not an object: null", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> BenchJson.read("{\"runs\": [", out));
    assertEquals("unexpected end at 10", e.getMessage());
  }

  @Test
  void chartsRenderAsPngAndSvgWithNothingAtTheEdges(@TempDir Path dir) throws Exception {
    List<String> servers = List.of("packetconn-callback", "packetconn-blocking", "virtual-threads",
        "netty", "raw", "packetconn-callback-unix", "netty-unix");
    List<BenchRun> runs = new ArrayList<>();
    long rate = 1_000_000;
    for (String server : servers) {
      for (Workload workload : Workload.STANDARD) {
        runs.add(run(server, workload, rate, 0));
        rate = rate * 7 % 3_000_001 + 100_000; // Bars of many heights.
      }
    }
    runs.set(3, run("packetconn-callback", Workload.LARGE, 1000, 2)); // Failed: no bar.
    List<BenchChart.Named> charts =
        BenchChart.charts(
            runs, servers, Workload.STANDARD, Bench.note(MACHINE, BenchOptions.defaults()));
    assertEquals(
        List.of( // Fan-outs apart: their ratios would flatten the echo loads' bars.
            "throughput-tcp", "throughput-fanout-tcp", "throughput-unix", "cpu-tcp", "cpu-fanout-tcp", "cpu-unix"),
        charts.stream().map(BenchChart.Named::name).toList());
    List<Path> written = BenchChart.write(charts, dir);
    assertEquals(12, written.size()); // PNG and SVG of each.
    for (Path file : written) {
      if (file.toString().endsWith(".png")) {
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(BenchChart.WIDTH, image.getWidth(), file.toString());
        assertEquals(BenchChart.HEIGHT, image.getHeight(), file.toString());
        assertBlankEdges(image, 4, file);
      } else {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature( // The SVG 1.1 DTD is on the web: don't fetch it.
            "http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        Document svg = factory.newDocumentBuilder().parse(file.toFile());
        assertEquals("svg", svg.getDocumentElement().getTagName(), file.toString());
        assertEquals("880px", svg.getDocumentElement().getAttribute("width"), file.toString());
      }
    }
  }

  /** Asserts that a {@code margin}-pixel frame is all background: nothing runs off an edge. */
  private static void assertBlankEdges(BufferedImage image, int margin, Path file) {
    int background = image.getRGB(0, 0);
    assertEquals(0xffffffff, background, file + ": background");
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        boolean edge =
            x < margin
                || y < margin
                || x >= image.getWidth() - margin
                || y >= image.getHeight() - margin;
        if (edge && image.getRGB(x, y) != background) {
          throw new AssertionError(
              file + ": pixel (" + x + ", " + y + ") in the " + margin + "-pixel margin is "
                  + Integer.toHexString(image.getRGB(x, y)));
        }
      }
    }
  }
}
