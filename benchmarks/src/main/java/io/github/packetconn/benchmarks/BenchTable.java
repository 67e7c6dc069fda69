package io.github.packetconn.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The summary of a bench as tables. Per run: throughput (packets/s, or MiB/s of payload one way for
 * {@code large}), round-trip latency, the server's CPU time per echoed packet, bytes it allocated
 * per packet and its GC count (old-generation count in parentheses); for a fan-out, packets
 * delivered to all subscribers per second, publish-to-delivery latency, and the server's figures
 * per delivered packet. Then ratios of pairs of servers, of throughput and of CPU time per packet.
 *
 * <p>{@link #text()} is for a terminal, at most {@link #TEXT_WIDTH} columns: one table per
 * transport with a row per workload and server, then one table of ratios, a column per workload.
 * {@link #markdown()} is everything in one wide table, a row per workload, for {@code bench.md}.
 */
final class BenchTable {
  /** The widest line {@link #text()} writes, whatever the servers. */
  static final int TEXT_WIDTH = 120;

  /** Ratio pairs: numerator and denominator servers, shown when both ran. */
  private static final List<List<String>> RATIOS =
      List.of(
          List.of("packetconn-callback", "netty"),
          List.of("packetconn-callback", "raw"),
          List.of("packetconn-blocking", "packetconn-callback"),
          List.of("packetconn-blocking", "virtual-threads"),
          List.of("packetconn-callback-unix", "netty-unix"),
          List.of("packetconn-callback-unix", "packetconn-callback"),
          List.of("packetconn-callback-tls", "netty-tls"),
          List.of("packetconn-callback-tls", "packetconn-callback"));

  private static final List<String> METRICS =
      List.of("throughput", "latency", "CPU/packet", "B/packet", "GC (old)");

  private final List<BenchRun> runs;
  private final List<String> servers;
  private final List<Workload> workloads;
  private final List<List<String>> ratios = new ArrayList<>();

  BenchTable(List<BenchRun> runs, List<String> servers, List<Workload> workloads) {
    this.runs = List.copyOf(runs);
    this.servers = List.copyOf(servers);
    this.workloads = List.copyOf(workloads);
    for (List<String> ratio : RATIOS) {
      if (servers.containsAll(ratio)) ratios.add(ratio);
    }
  }

  /** {@return the run of {@code server} under {@code workload} (by name), or null} */
  static BenchRun find(List<BenchRun> runs, Workload workload, String server) {
    for (BenchRun run : runs) {
      if (run.server().equals(server) && run.workload().name().equals(workload.name())) return run;
    }
    return null;
  }

  /**
   * {@return {@code metric} of {@code server}'s run over that of {@code baseline}'s in the same
   * workload, or null if either is missing, failed or unknown}
   */
  static Double ratio(
      List<BenchRun> runs,
      Workload workload,
      String server,
      String baseline,
      ToDoubleFunction<BenchRun> metric) {
    BenchRun run = find(runs, workload, server);
    BenchRun base = find(runs, workload, baseline);
    if (run == null || base == null || !run.load().ok() || !base.load().ok()) return null;
    double top = metric.applyAsDouble(run);
    double bottom = metric.applyAsDouble(base);
    if (!(bottom > 0) || Double.isNaN(top)) return null;
    return top / bottom;
  }

  /**
   * {@return the tables as aligned text: one per transport, then the ratios; no line is wider than
   * {@link #TEXT_WIDTH}}
   */
  String text() {
    StringBuilder text = new StringBuilder();
    for (Transport transport : Transport.values()) {
      List<String> mine = transport.select(servers);
      if (mine.isEmpty()) continue;
      boolean failures =
          runs.stream().anyMatch(run -> mine.contains(run.server()) && !run.load().ok());
      List<List<String>> rows = new ArrayList<>();
      List<String> header =
          new ArrayList<>(
              List.of(
                  transport.label(), "server", "throughput", "p50", "p99", "CPU/packet",
                  "B/packet", "GC (old)"));
      if (failures) header.add("errors");
      rows.add(header);
      for (Workload workload : workloads) {
        boolean first = true;
        for (String server : mine) {
          BenchRun run = find(runs, workload, server);
          if (run == null) continue;
          LoadResult load = run.load();
          List<String> row = new ArrayList<>();
          row.add(first ? label(workload) : "");
          row.add(server);
          row.add(throughput(run));
          row.add(load.packets() == 0 ? "-" : Format.latency(load.p50Micros()));
          row.add(load.packets() == 0 ? "-" : Format.latency(load.p99Micros()));
          row.addAll(serverCells(run));
          if (failures) row.add(load.ok() ? "" : Long.toString(load.errors()));
          rows.add(row);
          first = false;
        }
      }
      if (!text.isEmpty()) text.append('\n');
      text.append(align(rows, 2));
    }
    if (!ratios.isEmpty()) {
      List<List<String>> rows = new ArrayList<>();
      List<String> header = new ArrayList<>(List.of("ratio a / b", ""));
      for (Workload workload : workloads) header.add(workload.name());
      rows.add(header);
      for (List<String> ratio : ratios) {
        rows.add(ratioRow(shortName(ratio.get(0)) + " / " + shortName(ratio.get(1)), "throughput",
            ratio, BenchRun::throughput));
        rows.add(ratioRow("", "CPU/packet", ratio, BenchRun::serverCpuNanosPerPacket));
      }
      text.append('\n').append(align(rows, 2));
    }
    return text.toString();
  }

  private List<String> ratioRow(
      String label, String metric, List<String> ratio, ToDoubleFunction<BenchRun> value) {
    List<String> row = new ArrayList<>(List.of(label, metric));
    for (Workload workload : workloads) {
      Double r = ratio(runs, workload, ratio.get(0), ratio.get(1), value);
      row.add(r == null ? "-" : Format.ratio(r));
    }
    return row;
  }

  /**
   * {@return {@code rows} as lines, each column as wide as its widest cell, two spaces apart; the
   * first {@code left} columns flush left, the others flush right}
   */
  private static String align(List<List<String>> rows, int left) {
    int[] widths = new int[rows.get(0).size()];
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) widths[i] = Math.max(widths[i], row.get(i).length());
    }
    StringBuilder text = new StringBuilder();
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        if (i > 0) line.append("  ");
        String cell = row.get(i);
        String spaces = " ".repeat(widths[i] - cell.length());
        line.append(i < left ? cell + spaces : spaces + cell);
      }
      text.append(line.toString().stripTrailing()).append('\n');
    }
    return text.toString();
  }

  /** {@return the table in GitHub Markdown: a row per workload, every figure of every server} */
  String markdown() {
    StringBuilder text = new StringBuilder("| workload |");
    StringBuilder rule = new StringBuilder("| --- |");
    for (String server : servers) {
      for (String metric : METRICS) {
        text.append(' ').append(server).append(' ').append(metric).append(" |");
        rule.append(" ---: |");
      }
    }
    for (List<String> ratio : ratios) {
      String pair = ratio.get(0) + " / " + ratio.get(1);
      text.append(' ').append(pair).append(" |");
      text.append(' ').append(pair).append(" CPU/packet |");
      rule.append(" ---: | ---: |");
    }
    text.append('\n').append(rule).append('\n');
    for (Workload workload : workloads) {
      List<String> row = new ArrayList<>();
      row.add(label(workload));
      for (String server : servers) {
        BenchRun run = find(runs, workload, server);
        if (run == null) {
          for (int i = 0; i < METRICS.size(); i++) row.add("-");
          continue;
        }
        LoadResult load = run.load();
        String throughput = throughput(run);
        if (!load.ok()) throughput = "FAILED: " + load.errors() + " errors, " + throughput;
        row.add(throughput);
        row.add(
            load.packets() == 0
                ? "-"
                : (workload.inFlight() == 1 && workload.clients() == 1) || workload.fanout()
                    ? "p50 "
                        + Format.latency(load.p50Micros())
                        + " p99 "
                        + Format.latency(load.p99Micros())
                    : "p99 " + Format.latency(load.p99Micros()));
        row.addAll(serverCells(run));
      }
      for (List<String> ratio : ratios) {
        Double r = ratio(runs, workload, ratio.get(0), ratio.get(1), BenchRun::throughput);
        Double cpu =
            ratio(
                runs, workload, ratio.get(0), ratio.get(1), BenchRun::serverCpuNanosPerPacket);
        row.add(r == null ? "-" : Format.ratio(r));
        row.add(cpu == null ? "-" : Format.ratio(cpu));
      }
      text.append('|');
      for (String cell : row) text.append(' ').append(cell).append(" |");
      text.append('\n');
    }
    return text.toString();
  }

  private static String label(Workload workload) {
    return workload.label();
  }

  private static String throughput(BenchRun run) {
    LoadResult load = run.load();
    return run.workload().reportsBytes()
        ? Format.grouped(load.mibPerSecond()) + " MiB/s"
        : Format.grouped(load.packetsPerSecond()) + "/s";
  }

  /** {@return the server's CPU time per packet, bytes allocated per packet and GC count} */
  private static List<String> serverCells(BenchRun run) {
    double cpu = run.serverCpuNanosPerPacket();
    double allocated = run.serverAllocatedPerPacket();
    JvmStats stats = run.serverStats();
    return List.of(
        Double.isNaN(cpu) ? "n/a" : Format.nanos(cpu),
        Double.isNaN(allocated) ? "n/a" : Format.bytes(allocated),
        stats == null ? "n/a" : stats.gcCount() + " (" + stats.oldGcCount() + ")");
  }

  /** {@return the name without {@code packetconn-}: callback, blocking-unix} */
  static String shortName(String server) {
    return server.startsWith("packetconn-") ? server.substring("packetconn-".length()) : server;
  }
}
