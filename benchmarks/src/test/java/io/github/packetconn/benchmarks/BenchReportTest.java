package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

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
    return new BenchRun(server, load, new JvmStats(64 * 2 * packetsPerSecond, 3, 12, 1));
  }

  @Test
  void tableHasOneRowPerWorkloadAndRatios() {
    String text = new BenchTable(runs(), SERVERS, WORKLOADS).text();
    List<String> lines = text.lines().toList();
    assertEquals(5, lines.size(), text);
    assertTrue(
        lines.get(0).contains("packetconn-callback") && lines.get(0).contains("ratios"), text);
    assertTrue(lines.get(2).startsWith("small 100×100"), text);
    assertTrue(lines.get(2).contains("2,000,000/s"), text);
    assertTrue(
        lines.get(2).contains("2.00×") && lines.get(2).contains("0.50×"), text); // vs netty, raw
    assertTrue(lines.get(3).contains("FAILED: 3 errors"), text);
    assertTrue(lines.get(3).contains(" MiB/s"), text);
    assertTrue(lines.get(4).contains("p50 40.0 µs p99 90.5 µs"), text);
    assertTrue(lines.get(2).contains("64.0") && lines.get(2).contains("3 (1)"), text);
  }

  @Test
  void markdownTableHasAHeaderRuleAndOneLinePerWorkload() {
    List<String> lines = new BenchTable(runs(), SERVERS, WORKLOADS).markdown().lines().toList();
    assertEquals(5, lines.size());
    assertTrue(
        lines.get(0).startsWith("| workload | packetconn-callback throughput |"), lines.get(0));
    assertTrue(
        lines.get(0).endsWith("| packetconn-callback / netty | packetconn-callback / raw |"),
        lines.get(0));
    int columns = lines.get(0).split("\\|", -1).length;
    for (String line : lines) assertEquals(columns, line.split("\\|", -1).length, line);
  }

  @Test
  @SuppressWarnings("unchecked")
  void jsonParsesBackWithEveryRun() throws UsageException {
    BenchOptions options = BenchOptions.parse(List.of("--scale", "0.5", "--out", "x"));
    String json = BenchJson.write(MACHINE, options, runs());
    Map<String, Object> root = (Map<String, Object>) MiniJson.parse(json);
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
    assertEquals(
        64.0, ((Map<String, Object>) first.get("serverStats")).get("allocatedBytesPerPacket"));
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
  void svgIsWellFormedWithOneBarPerRun() throws Exception {
    String svg = BenchChart.svg(runs(), SERVERS, WORKLOADS, "Test CPU \"x\" <2> & more");
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    Document document =
        factory
            .newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    assertEquals("svg", document.getDocumentElement().getLocalName());
    assertEquals("800", document.getDocumentElement().getAttribute("width"));
    NodeList rects = document.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect");
    int bars = 0;
    for (int i = 0; i < rects.getLength(); i++) {
      Element rect = (Element) rects.item(i);
      if (!rect.getAttribute("class").equals("bar")) continue;
      bars++;
      if (rect.getAttribute("data-server").equals("netty")) {
        assertTrue(Double.parseDouble(rect.getAttribute("height")) > 0, "netty's bar is 1.0");
      }
    }
    assertEquals(9, bars);
    assertTrue(svg.contains("netty = 1.0"), svg);
    assertTrue(svg.contains(">2.00<"), svg); // callback vs netty, small.
    assertTrue(svg.contains(">failed<"), svg);
  }
}
