package io.github.packetconn.benchmarks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The summary of a bench as a table: one row per workload; per server its throughput (packets/s, or
 * MiB/s of payload one way for {@code large}), latency (p99; p50 and p99 for {@code single}), bytes
 * the server allocated per packet and GC count (old-generation count in parentheses); then
 * throughput ratios. Rendered as aligned text for the console or as Markdown for the README.
 */
final class BenchTable {
  /** Ratio columns: numerator and denominator servers, shown when both ran. */
  private static final List<List<String>> RATIOS =
      List.of(
          List.of("packetconn-callback", "netty"),
          List.of("packetconn-callback", "raw"),
          List.of("packetconn-blocking", "packetconn-callback"),
          List.of("packetconn-callback-unix", "netty-unix"),
          List.of("packetconn-callback-unix", "packetconn-callback"),
          List.of("packetconn-callback-tls", "netty-tls"),
          List.of("packetconn-callback-tls", "packetconn-callback"));

  private static final List<String> METRICS =
      List.of("throughput", "latency", "B/packet", "GC (old)");

  private final List<String> servers;
  private final List<List<String>> ratios = new ArrayList<>();
  private final List<List<String>> rows = new ArrayList<>();

  BenchTable(List<BenchRun> runs, List<String> servers, List<Workload> workloads) {
    this.servers = List.copyOf(servers);
    for (List<String> ratio : RATIOS) {
      if (servers.containsAll(ratio)) ratios.add(ratio);
    }
    for (Workload workload : workloads) {
      List<String> row = new ArrayList<>();
      row.add(workload.name() + " " + workload.clients() + "×" + workload.inFlight());
      for (String server : servers) {
        BenchRun run = find(runs, workload, server);
        if (run == null) {
          row.addAll(Collections.nCopies(METRICS.size(), "-"));
        } else {
          row.addAll(cells(run));
        }
      }
      for (List<String> ratio : ratios) {
        BenchRun top = find(runs, workload, ratio.get(0));
        BenchRun bottom = find(runs, workload, ratio.get(1));
        boolean valid =
            top != null
                && bottom != null
                && top.load().ok()
                && bottom.load().ok()
                && bottom.throughput() > 0;
        row.add(valid ? Format.ratio(top.throughput() / bottom.throughput()) : "-");
      }
      rows.add(row);
    }
  }

  /** {@return the run of {@code server} under {@code workload} (by name), or null} */
  static BenchRun find(List<BenchRun> runs, Workload workload, String server) {
    for (BenchRun run : runs) {
      if (run.server().equals(server) && run.workload().name().equals(workload.name())) return run;
    }
    return null;
  }

  private static List<String> cells(BenchRun run) {
    LoadResult load = run.load();
    String throughput =
        run.workload().reportsBytes()
            ? Format.grouped(load.mibPerSecond()) + " MiB/s"
            : Format.grouped(load.packetsPerSecond()) + "/s";
    if (!load.ok()) throughput = "FAILED: " + load.errors() + " errors, " + throughput;
    String latency =
        load.packets() == 0
            ? "-"
            : run.workload().inFlight() == 1 && run.workload().clients() == 1
                ? "p50 "
                    + Format.latency(load.p50Micros())
                    + " p99 "
                    + Format.latency(load.p99Micros())
                : "p99 " + Format.latency(load.p99Micros());
    double allocated = run.serverAllocatedPerPacket();
    JvmStats stats = run.serverStats();
    return List.of(
        throughput,
        latency,
        Double.isNaN(allocated) ? "n/a" : Format.bytes(allocated),
        stats == null ? "n/a" : stats.gcCount() + " (" + stats.oldGcCount() + ")");
  }

  /** {@return the table as aligned text: server names over their columns, then the rows} */
  String text() {
    List<String> header = new ArrayList<>();
    header.add("workload");
    for (int i = 0; i < servers.size(); i++) header.addAll(METRICS);
    for (List<String> ratio : ratios) {
      header.add(shortName(ratio.get(0)) + "/" + shortName(ratio.get(1)));
    }
    int[] widths = new int[header.size()];
    for (List<String> row : concat(List.of(header), rows)) {
      for (int i = 0; i < row.size(); i++) widths[i] = Math.max(widths[i], row.get(i).length());
    }
    int[] starts = new int[header.size()];
    String headerLine = line(header, widths, starts, true);
    StringBuilder groups = new StringBuilder(" ".repeat(headerLine.length()));
    for (int i = 0; i < servers.size(); i++) {
      place(groups, starts[1 + i * METRICS.size()], servers.get(i));
    }
    if (!ratios.isEmpty()) place(groups, starts[1 + servers.size() * METRICS.size()], "ratios");
    StringBuilder text = new StringBuilder();
    text.append(groups.toString().stripTrailing()).append('\n');
    text.append(headerLine.stripTrailing()).append('\n');
    for (List<String> row : rows) text.append(line(row, widths, starts, false)).append('\n');
    return text.toString();
  }

  /** Renders one row, numbers to the right, and notes where each column starts. */
  private String line(List<String> row, int[] widths, int[] starts, boolean left) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < row.size(); i++) {
      if (i > 0)
        line.append(
            (i - 1) % METRICS.size() == 0 || i > servers.size() * METRICS.size() ? "  |  " : "  ");
      starts[i] = line.length();
      String cell = row.get(i);
      String spaces = " ".repeat(widths[i] - cell.length());
      line.append(left || i == 0 ? cell + spaces : spaces + cell);
    }
    return line.toString();
  }

  private static void place(StringBuilder line, int at, String text) {
    while (line.length() < at + text.length()) line.append(' ');
    line.replace(at, at + text.length(), text);
  }

  private static List<List<String>> concat(List<List<String>> a, List<List<String>> b) {
    List<List<String>> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** {@return the table in GitHub Markdown} */
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
      text.append(' ').append(ratio.get(0)).append(" / ").append(ratio.get(1)).append(" |");
      rule.append(" ---: |");
    }
    text.append('\n').append(rule).append('\n');
    for (List<String> row : rows) {
      text.append('|');
      for (String cell : row) text.append(' ').append(cell).append(" |");
      text.append('\n');
    }
    return text.toString();
  }

  private static String shortName(String server) {
    return server.startsWith("packetconn-") ? server.substring("packetconn-".length()) : server;
  }
}
