package io.github.packetconn.benchmarks;

import java.util.List;
import java.util.Locale;

/**
 * Draws {@code bench.svg}: one group of bars per workload, one bar per server, each as tall as its
 * throughput relative to the baseline server's (netty when it ran), with a dashed line at 1.0, the
 * ratio above each bar and the absolute throughput above that. 800 px wide, to read at README
 * width; hand-written SVG, no dependency.
 */
final class BenchChart {
  private static final int WIDTH = 800;
  private static final int HEIGHT = 420;
  private static final int LEFT = 56;
  private static final int RIGHT = 16;
  private static final int TOP = 84;
  private static final int BOTTOM = 56;
  private static final List<String> COLORS =
      List.of("#1f77b4", "#6baed6", "#ff7f0e", "#8c8c8c", "#2ca02c", "#d62728", "#9467bd");

  private BenchChart() {}

  /** {@return the baseline: netty if it is among {@code servers}, else the first} */
  static String baseline(List<String> servers) {
    return servers.contains("netty") ? "netty" : servers.get(0);
  }

  /** {@return the chart as an SVG document} */
  static String svg(
      List<BenchRun> runs, List<String> servers, List<Workload> workloads, String note) {
    String baseline = baseline(servers);
    double top = 1.25;
    for (BenchRun run : runs) {
      double ratio = ratio(runs, run, baseline);
      if (!Double.isNaN(ratio)) top = Math.max(top, ratio * 1.18); // Room for the labels.
    }
    double step = top <= 2 ? 0.25 : top <= 4 ? 0.5 : top <= 10 ? 1 : Math.ceil(top / 10);
    top = Math.ceil(top / step) * step;
    int plotWidth = WIDTH - LEFT - RIGHT;
    int plotHeight = HEIGHT - TOP - BOTTOM;

    StringBuilder svg = new StringBuilder();
    svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d"
                + " %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
            WIDTH,
            HEIGHT,
            WIDTH,
            HEIGHT));
    svg.append("  <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    text(
        svg,
        LEFT,
        24,
        "start",
        16,
        "bold",
        "#222",
        "Echo throughput relative to " + baseline + " (higher is better)");
    text(svg, LEFT, 44, "start", 11, "normal", "#555", note);

    int x = LEFT; // Legend.
    for (int i = 0; i < servers.size(); i++) {
      svg.append(
          String.format(
              Locale.ROOT,
              "  <rect x=\"%d\" y=\"56\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
              x,
              color(i)));
      text(svg, x + 17, 66, "start", 12, "normal", "#222", servers.get(i));
      x += 30 + servers.get(i).length() * 7;
    }

    for (double tick = 0; tick <= top + 1e-9; tick += step) { // Grid and axis labels.
      double y = y(tick, top, plotHeight);
      svg.append(
          String.format(
              Locale.ROOT,
              "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
              LEFT,
              y,
              LEFT + plotWidth,
              y));
      text(
          svg,
          LEFT - 6,
          y + 4,
          "end",
          11,
          "normal",
          "#555",
          String.format(Locale.ROOT, step < 1 ? "%.2f×" : "%.0f×", tick));
    }

    double groupWidth = (double) plotWidth / workloads.size();
    double barWidth = Math.min(44, (groupWidth - 16) / servers.size());
    for (int g = 0; g < workloads.size(); g++) {
      Workload workload = workloads.get(g);
      double groupLeft = LEFT + g * groupWidth + (groupWidth - barWidth * servers.size()) / 2;
      for (int s = 0; s < servers.size(); s++) {
        BenchRun run = BenchTable.find(runs, workload, servers.get(s));
        if (run == null) continue;
        double ratio = ratio(runs, run, baseline);
        boolean failed = !run.load().ok();
        double height = failed || Double.isNaN(ratio) ? 0 : ratio / top * plotHeight;
        double left = groupLeft + s * barWidth;
        double barTop = TOP + plotHeight - height;
        svg.append(
            String.format(
                Locale.ROOT,
                "  <rect class=\"bar\" data-server=\"%s\" data-workload=\"%s\" x=\"%.1f\""
                    + " y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                escape(run.server()),
                escape(workload.name()),
                left + 1,
                barTop,
                barWidth - 2,
                height,
                color(s)));
        double middle = left + barWidth / 2;
        if (failed) {
          text(svg, middle, barTop - 6, "middle", 11, "bold", "#d62728", "failed");
        } else {
          text(
              svg,
              middle,
              barTop - 19,
              "middle",
              9,
              "normal",
              "#666",
              workload.reportsBytes()
                  ? Format.compact(run.load().mibPerSecond())
                  : Format.compact(run.load().packetsPerSecond()));
          text(
              svg,
              middle,
              barTop - 6,
              "middle",
              11,
              "bold",
              "#222",
              Double.isNaN(ratio) ? "?" : String.format(Locale.ROOT, "%.2f", ratio));
        }
      }
      double center = LEFT + g * groupWidth + groupWidth / 2;
      text(svg, center, TOP + plotHeight + 18, "middle", 13, "bold", "#222", workload.name());
      text(
          svg,
          center,
          TOP + plotHeight + 34,
          "middle",
          10,
          "normal",
          "#666",
          workload.clients()
              + "×"
              + workload.inFlight()
              + ", "
              + (workload.reportsBytes() ? "MiB/s" : "packets/s"));
    }

    double one = y(1, top, plotHeight); // The baseline, drawn over the bars.
    svg.append(
        String.format(
            Locale.ROOT,
            "  <line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#222\""
                + " stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
            LEFT,
            one,
            LEFT + plotWidth,
            one));
    text(svg, LEFT + plotWidth, one - 5, "end", 11, "normal", "#222", baseline + " = 1.0");
    svg.append(
        String.format(
            Locale.ROOT,
            "  <line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#222\"/>\n",
            LEFT,
            TOP + plotHeight,
            LEFT + plotWidth,
            TOP + plotHeight));
    svg.append("</svg>\n");
    return svg.toString();
  }

  /** {@return the run's throughput over the baseline's in the same workload, or NaN} */
  private static double ratio(List<BenchRun> runs, BenchRun run, String baseline) {
    BenchRun base = BenchTable.find(runs, run.workload(), baseline);
    if (base == null || !base.load().ok() || base.throughput() <= 0 || !run.load().ok()) {
      return Double.NaN;
    }
    return run.throughput() / base.throughput();
  }

  private static double y(double value, double top, int plotHeight) {
    return TOP + plotHeight - value / top * plotHeight;
  }

  private static String color(int index) {
    return COLORS.get(index % COLORS.size());
  }

  private static void text(
      StringBuilder svg,
      double x,
      double y,
      String anchor,
      int size,
      String weight,
      String fill,
      String text) {
    svg.append(
        String.format(
            Locale.ROOT,
            "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" font-weight=\"%s\""
                + " fill=\"%s\">%s</text>\n",
            x,
            y,
            anchor,
            size,
            weight,
            fill,
            escape(text)));
  }

  static String escape(String text) {
    return text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
