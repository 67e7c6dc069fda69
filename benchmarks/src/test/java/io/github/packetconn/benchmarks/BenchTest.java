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
                "raw",
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
    assertTrue(output.lines().anyMatch(line -> line.matches("small +raw +measure .*")), output);
    assertTrue(output.lines().anyMatch(line -> line.startsWith("single 1×1 ")), output);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("[raw] "), err::toString);
    Map<?, ?> json = (Map<?, ?>) MiniJson.parse(Files.readString(dir.resolve("bench.json")));
    List<?> runs = (List<?>) json.get("runs");
    assertEquals(2, runs.size());
    for (Object run : runs) {
      assertEquals(0.0, ((Map<?, ?>) run).get("errors"), run::toString);
      assertTrue(((Map<?, ?>) run).get("serverStats") instanceof Map, run::toString);
    }
    assertTrue(Files.readString(dir.resolve("bench.md")).startsWith("| workload |"));
    assertTrue(Files.readString(dir.resolve("bench.svg")).contains("class=\"bar\""));
  }
}
