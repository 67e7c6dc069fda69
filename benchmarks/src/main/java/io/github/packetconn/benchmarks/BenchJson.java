package io.github.packetconn.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The machine-readable record of a bench, {@code bench.json}: the machine, the options, and every
 * run with the generator's result and the server's counters over the measured period.
 */
final class BenchJson {
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
                "latency", "round trip, microseconds"),
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
                "oldGcCount", stats.oldGcCount()));
  }
}
