package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchOptionsTest {
  @Test
  void noArgumentsMeansEverythingWithDefaults() throws UsageException {
    BenchOptions options = BenchOptions.parse(List.of());
    assertEquals(
        List.of(
            "packetconn-callback",
            "packetconn-blocking",
            "virtual-threads",
            "netty",
            "raw",
            "packetconn-callback-unix",
            "netty-unix",
            "packetconn-callback-tls",
            "netty-tls"),
        options.servers());
    assertEquals("TLSv1.3", options.tlsProtocol());
    assertEquals(Workload.STANDARD, options.workloads());
    assertEquals(Duration.ofSeconds(5), options.warmup());
    assertEquals(Duration.ofSeconds(10), options.duration());
    assertEquals(1.0, options.scale());
    assertEquals(1, options.seed());
    assertEquals(Path.of("target", "bench"), options.out());
    assertEquals(null, options.from());
  }

  @Test
  void fromAMissingOrWrongFileSaysSo(@TempDir Path dir) throws Exception {
    var err = new java.io.ByteArrayOutputStream();
    Path missing = dir.resolve("missing.json");
    assertEquals(
        1, Main.bench(List.of("--from", missing.toString()), System.out, new PrintStream(err), false));
    assertEquals("bench: --from: no such file: " + missing + "\n", err.toString());
    err.reset();
    Path wrong = Files.writeString(dir.resolve("wrong.json"), "[1, 2]");
    assertEquals(
        1, Main.bench(List.of("--from", wrong.toString()), System.out, new PrintStream(err), false));
    assertEquals(
        "bench: " + wrong + " is not a bench.json: the file is not an object: [1.0, 2.0]\n",
        err.toString());
  }

  @Test
  void fromTakesAFileAndAnOutputDirectory() throws UsageException {
    BenchOptions options = BenchOptions.parse(List.of("--from", "old/bench.json", "--out=docs"));
    assertEquals(Path.of("old/bench.json"), options.from());
    assertEquals(Path.of("docs"), options.out());
  }

  @Test
  void everyOptionIsParsedInBothForms() throws UsageException {
    BenchOptions options =
        BenchOptions.parse(
            List.of(
                "--servers",
                "raw, netty",
                "--workloads=single,small",
                "--warmup",
                "200ms",
                "--duration=0.5s",
                "--scale",
                "0.01",
                "--seed",
                "-7",
                "--out",
                "/tmp/x"));
    assertEquals(List.of("raw", "netty"), options.servers());
    assertEquals(List.of(Workload.SINGLE, Workload.SMALL), options.workloads());
    assertEquals(Duration.ofMillis(200), options.warmup());
    assertEquals(Duration.ofMillis(500), options.duration());
    assertEquals(0.01, options.scale());
    assertEquals(-7, options.seed());
    assertEquals(Path.of("/tmp/x"), options.out());
  }

  @Test
  void durationsTakeUnits() throws UsageException {
    assertEquals(Duration.ofMinutes(2), BenchOptions.duration("--duration", "2m", false));
    assertEquals(Duration.ofSeconds(3), BenchOptions.duration("--duration", "3", false));
    assertEquals(Duration.ZERO, BenchOptions.duration("--warmup", "0s", true));
  }

  @Test
  void badValuesAreNamed() {
    assertMessage("unknown option: --server", "--server", "raw");
    assertMessage(
        "--servers: unknown server (not one of packetconn-callback, packetconn-blocking,"
            + " virtual-threads, netty, raw, packetconn-callback-unix, packetconn-blocking-unix,"
            + " virtual-threads-unix, netty-unix, raw-unix, packetconn-callback-tls, netty-tls,"
            + " packetconn-blocking-loop, packetconn-blocking-timed): grizzly",
        "--servers",
        "raw,grizzly");
    assertMessage("--servers: given twice: raw", "--servers", "raw,raw");
    assertMessage(
        "--workloads: unknown workload (not one of pipelined, ping-pong, small, large, single,"
            + " fanout-small, fanout-large): huge",
        "--workloads",
        "huge");
    assertMessage("--warmup is not a time such as 500ms, 5s or 1m: 5x", "--warmup", "5x");
    assertMessage("--duration <= 0: 0s", "--duration", "0s");
    assertMessage("--warmup < 0: -1s", "--warmup=-1s");
    assertMessage("--scale <= 0: 0", "--scale", "0");
    assertMessage("--scale is not a number: big", "--scale", "big");
    assertMessage("--seed is not an integer: 1.5", "--seed", "1.5");
    assertMessage("--duration needs a value", "--duration");
    assertMessage("--duration needs a value", "--duration", "--seed", "1");
    assertMessage("--seed given twice", "--seed", "1", "--seed", "2");
    assertMessage("unexpected argument: raw", "raw");
    assertMessage("--tls: not one of TLSv1.3, TLSv1.2: 1.3", "--tls", "1.3");
    assertMessage(
        "--from takes no other option but --out: --servers", "--from", "a.json", "--servers", "raw");
  }

  @Test
  void tlsServersRunPipelinedAndPingPongOnly() throws UsageException {
    assertEquals("TLSv1.2", BenchOptions.parse(List.of("--tls", "TLSv1.2")).tlsProtocol());
    for (Workload workload : Workload.STANDARD) {
      boolean tlsRuns = workload == Workload.PIPELINED || workload == Workload.PING_PONG;
      assertEquals(tlsRuns, BenchOptions.runs("netty-tls", workload.scaled(0.5)), workload.name());
      assertEquals(tlsRuns, BenchOptions.runs("packetconn-callback-tls", workload), workload.name());
      assertEquals(true, BenchOptions.runs("netty", workload), workload.name());
    }
  }

  @Test
  void fanoutRunsOnTheFanoutServersOverTcpOnly() throws UsageException {
    for (String server : BenchOptions.ALL_SERVERS) {
      boolean fanout = Set.of("packetconn-callback", "packetconn-blocking", "netty").contains(server);
      assertEquals(fanout, BenchOptions.runs(server, Workload.FANOUT_SMALL.scaled(0.01)), server);
      assertEquals(fanout, BenchOptions.runs(server, Workload.FANOUT_LARGE), server);
    }
    assertEquals(
        List.of(
            "fanout-small, fanout-large ran only on packetconn-callback, packetconn-blocking, netty, over TCP",
            "netty-tls ran only pipelined, ping-pong"),
        Bench.skipNotes(BenchOptions.parse(List.of("--servers", "netty,raw,netty-tls"))));
    assertEquals(
        List.of(),
        Bench.skipNotes(
            BenchOptions.parse(
                List.of("--servers", "netty,packetconn-callback", "--workloads", "fanout-large"))));
    assertEquals(
        List.of(), Bench.skipNotes(BenchOptions.parse(List.of("--workloads", "pipelined"))));
  }

  @Test
  void helpAndBadOptionsExitWithUsage() {
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    assertEquals(0, Main.bench(List.of("--help"), new java.io.PrintStream(out), System.err, false));
    assertEquals(BenchOptions.USAGE, out.toString());
    assertEquals(
        2, Main.bench(List.of("--scale", "x"), System.out, new java.io.PrintStream(err), false));
    assertEquals("bench: --scale is not a number: x\n\n" + BenchOptions.USAGE, err.toString());
  }

  private static void assertMessage(String message, String... args) {
    UsageException e = assertThrows(UsageException.class, () -> BenchOptions.parse(List.of(args)));
    assertEquals(message, e.getMessage());
  }
}
