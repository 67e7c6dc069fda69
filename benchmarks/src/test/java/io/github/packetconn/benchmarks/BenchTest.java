package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Main.bench(
            List.of(
                "--servers",
                "virtual-threads,raw",
                "--workloads",
                "small,single",
                "--scale",
                "0.05",
                "--warmup",
                "0.2s",
                "--duration",
                "0.5s",
                "--out",
                dir.toString()),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            false);
    String output = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output + err);
    for (String line : output.lines().toList()) {
      assertTrue(line.length() <= BenchTable.TEXT_WIDTH, line.length() + " columns: " + line);
    }
    assertTrue(output.lines().anyMatch(line -> line.matches("small +raw +measure .*")), output);
    assertTrue(
        output.lines().anyMatch(line -> line.matches("single 1×1 +virtual-threads +[0-9,]+/s .*")),
        output);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("[raw] "), err::toString);
    Map<?, ?> json = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("bench.json")));
    List<?> runs = (List<?>) json.get("runs");
    assertEquals(4, runs.size());
    for (Object run : runs) {
      assertEquals(0.0, ((Map<?, ?>) run).get("errors"), run::toString);
      Map<?, ?> stats = (Map<?, ?>) ((Map<?, ?>) run).get("serverStats");
      assertTrue(stats.get("cpuNanos") instanceof Double cpu && cpu >= 0, run::toString);
    }
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

    ByteArrayOutputStream again = new ByteArrayOutputStream();
    Path redrawn = dir.resolve("redrawn");
    status =
        Main.bench(
            List.of("--from", dir.resolve("bench.json").toString(), "--out", redrawn.toString()),
            new PrintStream(again, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            false);
    String redrawOutput = again.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, redrawOutput + err);
    assertTrue(
        redrawOutput.contains(output.substring(output.indexOf("Throughput: packets echoed"),
            output.indexOf("load generator: at most"))),
        "the same tables:\n" + output + "\nthen:\n" + redrawOutput);
    assertTrue(Files.exists(redrawn.resolve("cpu-tcp.png")), redrawOutput);
  }

  @Test
  void benchRunsTheFanoutsOnBothFanoutServers(@TempDir Path dir) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Main.bench(
            List.of(
                "--servers",
                "packetconn-callback,netty,raw",
                "--workloads",
                "fanout-small,fanout-large",
                "--scale",
                "0.01",
                "--warmup",
                "0.2s",
                "--duration",
                "0.5s",
                "--out",
                dir.toString()),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            false);
    String output = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output + err);
    for (String line : output.lines().toList()) {
      assertTrue(line.length() <= BenchTable.TEXT_WIDTH, line.length() + " columns: " + line);
    }
    assertTrue(
        output.contains(
            "note: fanout-small, fanout-large ran only on packetconn-callback, netty, over TCP\n"),
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
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("[netty] netty fan-out: listening on"),
        err::toString);
    Map<?, ?> json = (Map<?, ?>) JsonReader.parse(Files.readString(dir.resolve("bench.json")));
    List<?> runs = (List<?>) json.get("runs");
    assertEquals(4, runs.size()); // raw has no fan-out.
    for (Object run : runs) {
      Map<?, ?> r = (Map<?, ?>) run;
      assertEquals(0.0, r.get("errors"), run::toString);
      assertEquals("fanout", ((Map<?, ?>) r.get("workload")).get("shape"), run::toString);
      assertTrue((Double) r.get("packets") > 0, run::toString);
      Map<?, ?> stats = (Map<?, ?>) r.get("serverStats");
      assertTrue(stats.get("cpuNanos") instanceof Double cpu && cpu >= 0, run::toString);
    }
    assertTrue(Files.readString(dir.resolve("bench.md")).contains("| fanout-small 1→10 |"));
    assertTrue(Files.size(dir.resolve("throughput-tcp.png")) > 0);
  }
}
