package io.github.packetconn.benchmarks;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The machine-readable record of a bench, {@code bench.json}: the machine, the options, and every
 * run with the generator's result and the server's counters over the measured period. {@link
 * #read} takes it back, to draw the reports of an earlier run again.
 */
final class BenchJson {
  /** A bench read back: where it ran, how, and its runs. */
  record Results(Machine machine, BenchOptions options, List<BenchRun> runs) {}

  private BenchJson() {}

  /** {@return the JSON text of a bench} */
  static String write(Machine machine, BenchOptions options, List<BenchRun> runs) {
    List<Object> results = new ArrayList<>();
    for (BenchRun run : runs) results.add(run(run));
    return Json.write(
        Json.object(
            "machine",
            Json.object(
                "cpuModel", machine.cpuModel(),
                "cpus", machine.cpus(),
                "harnessCpus", machine.allowedCpus(),
                "java", machine.java(),
                "kernel", machine.kernel(),
                "date", machine.date().toString()),
            "options",
            Json.object(
                "servers", options.servers(),
                "workloads", options.workloads().stream().map(Workload::name).toList(),
                "warmupSeconds", options.warmup().toNanos() / 1e9,
                "durationSeconds", options.duration().toNanos() / 1e9,
                "scale", options.scale(),
                "seed", options.seed(),
                "tlsProtocol", options.tlsProtocol(),
                "tlsCipherSuite", BenchTls.cipherSuite(options.tlsProtocol())),
            "units",
            Json.object(
                "mibPerSecond", "echoed payload, one way, MiB (2^20 bytes) per second",
                "latency", "round trip, microseconds",
                "fanout",
                "packets, payloadBytes and the per-packet figures count deliveries: packets"
                    + " received by all subscribers together; latency: from the publisher's write"
                    + " to a subscriber's read, microseconds"),
            "runs",
            results));
  }

  private static Map<String, Object> run(BenchRun run) {
    LoadResult load = run.load();
    Workload workload = load.workload();
    JvmStats stats = run.serverStats();
    return Json.object(
        "server",
        run.server(),
        "workload",
        Json.object(
            "name", workload.name(),
            "shape", workload.shape().label(),
            "clients", workload.clients(),
            "inFlight", workload.inFlight(),
            "minPayload", workload.minPayload(),
            "maxPayload", workload.maxPayload()),
        "seconds",
        load.seconds(),
        "packets",
        load.packets(),
        "payloadBytes",
        load.payloadBytes(),
        "packetsPerSecond",
        load.packetsPerSecond(),
        "mibPerSecond",
        load.mibPerSecond(),
        "latencyMicros",
        Json.object(
            "p50", load.p50Micros(),
            "p99", load.p99Micros(),
            "p999", load.p999Micros(),
            "max", load.maxMicros()),
        "errors",
        load.errors(),
        "errorMessages",
        load.errorMessages(),
        "generator",
        Json.object(
            "allocatedBytesPerPacket", load.allocatedBytesPerPacket(),
            "cpuNanosPerPacket", load.cpuNanosPerPacket()),
        "serverStats",
        stats == null
            ? null
            : Json.object(
                "allocatedBytes", stats.allocatedBytes(),
                "allocatedBytesPerPacket", run.serverAllocatedPerPacket(),
                "gcCount", stats.gcCount(),
                "gcTimeMs", stats.gcTimeMs(),
                "oldGcCount", stats.oldGcCount(),
                "cpuNanos", stats.cpuNanos() < 0 ? null : stats.cpuNanos(),
                "cpuNanosPerPacket", run.serverCpuNanosPerPacket()));
  }

  /**
   * {@return the bench that {@code json} records, its output directory {@code out}}. A run without
   * the server's CPU time (a file from before it was measured) has it unknown.
   *
   * @throws IllegalArgumentException if {@code json} is not a bench.json, naming what is wrong
   */
  static Results read(String json, Path out) {
    Map<?, ?> root = object(JsonReader.parse(json), "the file");
    Map<?, ?> machine = object(root.get("machine"), "machine");
    Map<?, ?> options = object(root.get("options"), "options");
    double scale = number(options, "scale");
    List<Workload> workloads = new ArrayList<>();
    for (Object name : list(options, "workloads")) workloads.add(Workload.named((String) name));
    List<String> servers = new ArrayList<>();
    for (Object server : list(options, "servers")) servers.add((String) server);
    BenchOptions benchOptions =
        new BenchOptions(
            servers,
            workloads,
            seconds(number(options, "warmupSeconds")),
            seconds(number(options, "durationSeconds")),
            scale,
            (long) number(options, "seed"),
            out,
            string(options, "tlsProtocol"),
            null);
    List<BenchRun> runs = new ArrayList<>();
    for (Object run : list(root, "runs")) runs.add(run(object(run, "runs[" + runs.size() + "]")));
    return new Results(
        new Machine(
            string(machine, "cpuModel"),
            (int) number(machine, "cpus"),
            string(machine, "harnessCpus"),
            string(machine, "java"),
            string(machine, "kernel"),
            Instant.parse(string(machine, "date"))),
        benchOptions,
        runs);
  }

  private static BenchRun run(Map<?, ?> run) {
    Map<?, ?> w = object(run.get("workload"), "workload");
    Workload workload =
        new Workload(
            string(w, "name"),
            w.containsKey("shape") ? shape(string(w, "shape")) : Workload.Shape.ECHO,
            (int) number(w, "clients"),
            (int) number(w, "inFlight"),
            (int) number(w, "minPayload"),
            (int) number(w, "maxPayload"));
    Map<?, ?> latency = object(run.get("latencyMicros"), "latencyMicros");
    Map<?, ?> generator = object(run.get("generator"), "generator");
    List<String> messages = new ArrayList<>();
    for (Object message : list(run, "errorMessages")) messages.add((String) message);
    LoadResult load =
        new LoadResult(
            workload,
            number(run, "seconds"),
            (long) number(run, "packets"),
            (long) number(run, "payloadBytes"),
            number(latency, "p50"),
            number(latency, "p99"),
            number(latency, "p999"),
            number(latency, "max"),
            (long) number(run, "errors"),
            messages,
            number(generator, "allocatedBytesPerPacket"),
            number(generator, "cpuNanosPerPacket"));
    JvmStats stats = null;
    if (run.get("serverStats") != null) {
      Map<?, ?> s = object(run.get("serverStats"), "serverStats");
      double cpu = s.containsKey("cpuNanos") ? number(s, "cpuNanos") : Double.NaN;
      stats =
          new JvmStats(
              (long) number(s, "allocatedBytes"),
              (long) number(s, "gcCount"),
              (long) number(s, "gcTimeMs"),
              (long) number(s, "oldGcCount"),
              Double.isNaN(cpu) ? -1 : (long) cpu);
    }
    return new BenchRun(string(run, "server"), load, stats);
  }

  private static Workload.Shape shape(String label) {
    for (Workload.Shape shape : Workload.Shape.values()) {
      if (shape.label().equals(label)) return shape;
    }
    throw new IllegalArgumentException("\"shape\" is not echo or fanout: " + label);
  }

  private static Duration seconds(double seconds) {
    return Duration.ofNanos(Math.round(seconds * 1e9));
  }

  private static Map<?, ?> object(Object value, String name) {
    if (value instanceof Map<?, ?> map) return map;
    throw new IllegalArgumentException(name + " is not an object: " + value);
  }

  private static List<?> list(Map<?, ?> object, String key) {
    if (object.get(key) instanceof List<?> list) return list;
    throw new IllegalArgumentException("\"" + key + "\" is not a list: " + object.get(key));
  }

  private static String string(Map<?, ?> object, String key) {
    if (object.get(key) instanceof String text) return text;
    throw new IllegalArgumentException("\"" + key + "\" is not a string: " + object.get(key));
  }

  /** {@return the number under {@code key}; NaN for null, which is how NaN is written} */
  private static double number(Map<?, ?> object, String key) {
    Object value = object.get(key);
    if (value instanceof Double number) return number;
    if (value == null && object.containsKey(key)) return Double.NaN;
    throw new IllegalArgumentException("\"" + key + "\" is not a number: " + value);
  }
}
