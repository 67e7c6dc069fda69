package io.github.packetconn.benchmarks;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;

/**
 * The bench's charts, drawn with XChart: for each transport with two servers or more, a bar chart
 * of every server's throughput relative to that transport's Netty ({@code throughput-tcp}), and one
 * of the server's CPU time per echoed packet, relative the same way ({@code cpu-tcp}), when the
 * runs measured it. One group of bars per workload, one bar per server with its ratio written
 * inside it; the legend under the plot. Written as PNG and SVG.
 *
 * <pre>{@code
 * List<Path> written = BenchChart.write(BenchChart.charts(runs, servers, workloads, note), dir);
 * }</pre>
 *
 * <p>Rendering needs no display ({@code java.awt.headless} is set), but fonts: any the JDK finds
 * through fontconfig.
 */
final class BenchChart {
  static final int WIDTH = 880;
  static final int HEIGHT = 500;

  /** One color per kind of server, whatever its transport, so a kind looks alike in every chart. */
  private static final Map<String, Color> COLORS =
      Map.of(
          "packetconn-callback", new Color(0x1f77b4),
          "packetconn-blocking", new Color(0x6baed6),
          "virtual-threads", new Color(0x9467bd),
          "netty", new Color(0xff7f0e),
          "raw", new Color(0x8c8c8c),
          "packetconn-blocking-loop", new Color(0x2ca02c),
          "packetconn-blocking-timed", new Color(0x17becf));

  private static final Color OTHER = new Color(0xbcbd22);

  /** Past this many servers, the legend goes to the right in a column: a row would not fit. */
  private static final int LEGEND_ROW_MAX = 5;

  /** Width the legend takes at the right of the plot. */
  private static final int LEGEND_COLUMN_WIDTH = 230;

  /** A chart and the file name it is written under, without extension. */
  record Named(String name, CategoryChart chart) {}

  private BenchChart() {}

  /**
   * {@return the charts of a bench: throughput per transport, then CPU time per packet per
   * transport where it is known}
   *
   * @param note a line on where and how the bench ran, printed under each chart
   */
  static List<Named> charts(
      List<BenchRun> runs, List<String> servers, List<Workload> workloads, String note) {
    System.setProperty("java.awt.headless", "true");
    List<Named> charts = new ArrayList<>();
    List<Named> cpu = new ArrayList<>();
    for (Transport transport : Transport.values()) {
      List<String> mine = transport.select(servers);
      if (mine.size() < 2) continue; // Nothing to compare.
      List<Workload> ran =
          workloads.stream()
              .filter(w -> mine.stream().anyMatch(s -> BenchOptions.runs(s, w)))
              .toList();
      String baseline = transport.baseline(servers);
      // Echo loads and fan-outs apart: their ratios differ by an order of magnitude, and one scale
      // would flatten the echo bars.
      for (boolean fanout : new boolean[] {false, true}) {
        List<Workload> these =
            ran.stream()
                .filter(w -> w.fanout() == fanout)
                .filter(w -> runs.stream().anyMatch(r -> r.workload().name().equals(w.name())))
                .toList();
        List<String> charted = mine.stream().filter(s -> these.stream().anyMatch(w -> BenchOptions.runs(s, w))).toList();
        if (these.isEmpty() || charted.size() < 2) continue;
        String file = (fanout ? "fanout-" : "") + transport.fileName();
        String what = transport.label() + (fanout ? " fan-out" : "");
        charts.add(
            new Named(
                "throughput-" + file,
                chart(
                    what + ": throughput relative to " + baseline + " (higher is better)",
                    runs,
                    charted,
                    these,
                    baseline,
                    BenchRun::throughput,
                    note)));
        boolean cpuKnown =
            runs.stream()
                .anyMatch(
                    run ->
                        charted.contains(run.server()) && !Double.isNaN(run.serverCpuNanosPerPacket()));
        if (cpuKnown) {
          cpu.add(
              new Named(
                  "cpu-" + file,
                  chart(
                      what + ": server CPU time per packet relative to " + baseline + " (lower is better)",
                      runs,
                      charted,
                      these,
                      baseline,
                      BenchRun::serverCpuNanosPerPacket,
                      note)));
        }
      }
    }
    charts.addAll(cpu);
    return charts;
  }

  /**
   * Writes each chart as {@code <name>.png} and {@code <name>.svg} into {@code dir}.
   *
   * @return the files written, PNG then SVG for each chart
   */
  static List<Path> write(List<Named> charts, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    for (Named named : charts) {
      Path png = dir.resolve(named.name() + ".png");
      try (OutputStream out = Files.newOutputStream(png)) {
        BitmapEncoder.saveBitmap(named.chart(), out, BitmapEncoder.BitmapFormat.PNG);
      }
      Path svg = dir.resolve(named.name() + ".svg");
      try (OutputStream out = Files.newOutputStream(svg)) {
        VectorGraphicsEncoder.saveVectorGraphic(
            named.chart(), out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
      }
      written.add(png);
      written.add(svg);
    }
    return written;
  }

  /** {@return a chart of {@code metric} of each server over the baseline's, per workload} */
  private static CategoryChart chart(
      String title,
      List<BenchRun> runs,
      List<String> servers,
      List<Workload> workloads,
      String baseline,
      ToDoubleFunction<BenchRun> metric,
      String note) {
    CategoryChart chart = new CategoryChart(WIDTH, HEIGHT);
    chart.setTitle(title);
    chart.setXAxisTitle(note);
    chart.setYAxisTitle("× " + baseline);
    style(chart.getStyler(), workloads.size(), servers.size());
    List<String> categories =
        workloads.stream().map(Workload::name).toList(); // Short: the shapes are in the tables.
    for (String server : servers) {
      List<Double> ratios = new ArrayList<>();
      for (Workload workload : workloads) {
        ratios.add(BenchTable.ratio(runs, workload, server, baseline, metric));
      }
      CategorySeries series = chart.addSeries(server, categories, ratios);
      series.setFillColor(color(server));
    }
    return chart;
  }

  /** Styles a chart of {@code groups} groups of {@code bars} bars. */
  private static void style(CategoryStyler styler, int groups, int bars) {
    Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    styler.setBaseFont(base);
    styler.setChartTitleFont(base.deriveFont(Font.BOLD, 16f));
    styler.setAxisTitleFont(base.deriveFont(12f));
    styler.setAxisTickLabelsFont(base.deriveFont(13f));
    styler.setLegendFont(base.deriveFont(13f));
    styler.setChartBackgroundColor(Color.WHITE);
    styler.setPlotBackgroundColor(Color.WHITE);
    styler.setPlotBorderVisible(false);
    styler.setPlotGridVerticalLinesVisible(false);
    styler.setPlotGridLinesColor(new Color(0xe4e4e4));
    boolean column = bars > LEGEND_ROW_MAX;
    styler.setLegendPosition(column ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.OutsideS);
    styler.setLegendLayout(column ? Styler.LegendLayout.Vertical : Styler.LegendLayout.Horizontal);
    styler.setLegendBorderColor(Color.WHITE);
    styler.setYAxisMin(0.0);
    styler.setYAxisDecimalPattern("0.00"); // Also the bars' labels.
    styler.setAvailableSpaceFill(Math.min(0.85, 0.2 * bars)); // Two bars need not fill a group.
    styler.setLabelsVisible(true);
    // Upright where a bar is wide enough for "0.00" (about 32 px), else along the bar.
    double plotPixels = WIDTH - 80.0 - (column ? LEGEND_COLUMN_WIDTH : 0);
    double barPixels = plotPixels / groups * Math.min(0.85, 0.2 * bars) / bars;
    styler.setLabelsRotation(barPixels >= 36 ? 0 : 90);
    styler.setLabelsPosition(0.5);
    styler.setLabelsFont(base.deriveFont(12f));
    // Dark on every bar color, and still legible where a short bar's label runs past its end.
    styler.setLabelsFontColorAutomaticEnabled(false);
    styler.setLabelsFontColor(new Color(0x111111));
    styler.setLocale(Locale.ROOT);
  }

  private static Color color(String server) {
    String kind = server;
    if (Transport.of(server) == Transport.UNIX) {
      kind = server.substring(0, server.length() - ServerMain.UNIX_SUFFIX.length());
    } else if (Transport.of(server) == Transport.TLS) {
      kind = server.substring(0, server.length() - "-tls".length());
    }
    return COLORS.getOrDefault(kind, OTHER);
  }
}
