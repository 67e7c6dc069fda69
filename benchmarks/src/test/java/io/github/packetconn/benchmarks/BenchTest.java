package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class BenchTest {
  @Test
  void benchRunsServerJvmsAndWritesReports(@TempDir Path dir) throws Exception {
    Output printed = briefly(dir, "virtual-threads,raw", "small,single", "0.05");
    String output = printed.out();
    assertTrue(output.lines().anyMatch(line -> line.matches("small +raw +measure .*")), output);
    assertTrue(
        output.lines().anyMatch(line -> line.matches("single 1×1 +virtual-threads +[0-9,]+/s .*")),
        output);
    assertTrue(printed.err().contains("[raw] "), printed.err());
    assertCleanRuns(dir, 4);
    assertTrue(Files.readString(dir.resolve("bench.md")).startsWith("| workload |"));
    for (String chart : List.of("throughput-tcp", "cpu-tcp")) {
      assertTrue(Files.size(dir.resolve(chart + ".png")) > 0, chart);
      assertTrue(Files.readString(dir.resolve(chart + ".svg")).contains("<svg "), chart);
    }
    assertTrue(
        output.contains(
            "wrote to " + dir + ":\n  bench.json bench.md throughput-tcp.png throughput-tcp.svg"
                + " cpu-tcp.png cpu-tcp.svg\n"),
        output);

    Path redrawn = dir.resolve("redrawn");
    String redrawOutput =
        bench("--from", dir.resolve("bench.json").toString(), "--out", redrawn.toString()).out();
    assertTrue(
        redrawOutput.contains(output.substring(output.indexOf("Throughput: packets echoed"),
            output.indexOf("load generator: at most"))),
        "the same tables:\n" + output + "\nthen:\n" + redrawOutput);
    assertTrue(Files.exists(redrawn.resolve("cpu-tcp.png")), redrawOutput);
  }

  @Test
  void benchRunsTheFanoutsOnBothFanoutServers(@TempDir Path dir) throws Exception {
    Output printed =
        briefly(dir, "packetconn-callback,netty,raw", "fanout-small,fanout-large", "0.01");
    String output = printed.out();
    assertTrue(
        output.contains(
            "note: fanout-small, fanout-large ran only on packetconn-callback, packetconn-blocking, netty,"
                + " over TCP\n"),
        output);
    assertTrue(
        output
            .lines()
            .anyMatch(line -> line.matches("fanout-small 1→10 +packetconn-callback +[0-9,]+/s .*")),
        output);
    assertTrue(output.lines().anyMatch(line -> line.matches(" +netty +[0-9,]+/s .*")), output);
    assertTrue(
        output.lines().anyMatch(line -> line.matches("fanout-large 1→1 +packetconn-callback .*")),
        output);
    assertTrue(printed.err().contains("[netty] netty fan-out: listening on"), printed.err());
    for (Map<?, ?> run : assertCleanRuns(dir, 4)) { // raw has no fan-out.
      assertEquals("fanout", ((Map<?, ?>) run.get("workload")).get("shape"), run::toString);
      assertTrue((Double) run.get("packets") > 0, run::toString);
    }
    assertTrue(Files.readString(dir.resolve("bench.md")).contains("| fanout-small 1→10 |"));
    assertTrue(Files.size(dir.resolve("throughput-fanout-tcp.png")) > 0); // Fan-outs: a chart of their own.
    assertFalse(Files.exists(dir.resolve("throughput-tcp.png")), "no echo load ran: no echo chart");
  }

  /** Runs {@code servers} on {@code workloads} at {@code scale} for 0.2 + 0.5 s, into {@code dir}. */
  private static Output briefly(Path dir, String servers, String workloads, String scale) {
    return bench(
        "--servers", servers,
        "--workloads", workloads,
        "--scale", scale,
        "--warmup", "0.2s",
        "--duration", "0.5s",
        "--out", dir.toString());
  }

  /**
   * Checks that {@code dir}'s bench.json holds {@code count} runs, each without errors and with the
   * server's CPU time; {@return the runs}
   */
  private static List<Map<?, ?>> assertCleanRuns(Path dir, int count) throws IOException {
    Map<?, ?> json = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("bench.json")));
    List<Map<?, ?>> runs =
        ((List<?>) json.get("runs")).stream().<Map<?, ?>>map(run -> (Map<?, ?>) run).toList();
    assertEquals(count, runs.size(), runs::toString);
    for (Map<?, ?> run : runs) {
      assertEquals(0.0, run.get("errors"), run::toString);
      Map<?, ?> stats = (Map<?, ?>) run.get("serverStats");
      assertTrue(stats.get("cpuNanos") instanceof Double cpu && cpu >= 0, run::toString);
    }
    return runs;
  }

  /** What a bench run printed. */
  private record Output(String out, String err) {}

  /** Runs the bench with {@code args} and checks it succeeded within the width; {@return output} */
  private static Output bench(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Main.bench(
            List.of(args),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            false);
    Output output =
        new Output(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    assertEquals(0, status, output.out() + output.err());
    for (String line : output.out().lines().toList()) {
      assertTrue(line.length() <= BenchTable.TEXT_WIDTH, line.length() + " columns: " + line);
    }
    return output;
  }
}
