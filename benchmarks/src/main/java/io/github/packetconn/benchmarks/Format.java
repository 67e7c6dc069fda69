package io.github.packetconn.benchmarks;

import java.util.Locale;

/** Number formats shared by the live lines and the reports. */
final class Format {
  private Format() {}

  /** {@return {@code value} rounded, with thousands separators: {@code 1,183,224}} */
  static String grouped(double value) {
    return String.format(Locale.ROOT, "%,.0f", value);
  }

  /** {@return a latency in microseconds, to three significant digits: 812 µs, 14.2 ms, 1.05 s} */
  static String latency(double micros) {
    if (micros < 1000) return significant(micros) + " µs";
    if (micros < 1_000_000) return significant(micros / 1e3) + " ms";
    return significant(micros / 1e6) + " s";
  }

  /** {@return a duration in nanoseconds, to three significant digits: 650 ns, 1.23 µs, 213 µs} */
  static String nanos(double nanos) {
    if (nanos < 1000) return significant(nanos) + " ns";
    return latency(nanos / 1e3);
  }

  /** {@return {@code value} compactly: 812, 14.2k, 1.18M} */
  static String compact(double value) {
    if (value < 1000) return significant(value);
    if (value < 1e6) return significant(value / 1e3) + "k";
    return significant(value / 1e6) + "M";
  }

  /** {@return a ratio such as {@code 1.23×}} */
  static String ratio(double ratio) {
    return String.format(Locale.ROOT, "%.2f×", ratio);
  }

  /** {@return {@code value} with one decimal below 100 and none above} */
  static String bytes(double value) {
    return value < 100 ? String.format(Locale.ROOT, "%.1f", value) : grouped(value);
  }

  /**
   * {@return {@code text} in lines of at most {@code width} characters, broken after a comma or
   * semicolon (or, for a longer stretch, a space), the lines after the first indented by {@code
   * indent}; no trailing newline}
   */
  static String wrap(String text, int width, String indent) {
    StringBuilder lines = new StringBuilder();
    StringBuilder line = new StringBuilder();
    for (String part : text.split("(?<=[,;]) ")) {
      for (String piece : pieces(part, width - indent.length())) {
        if (line.length() > 0 && line.length() + 1 + piece.length() > width) {
          lines.append(line).append('\n');
          line = new StringBuilder(indent);
        } else if (line.length() > 0 && !line.toString().equals(indent)) {
          line.append(' ');
        }
        line.append(piece);
      }
    }
    return lines.append(line).toString();
  }

  /** {@return {@code part} whole, or broken at spaces if it is longer than {@code width}} */
  private static String[] pieces(String part, int width) {
    return part.length() <= width ? new String[] {part} : part.split(" ");
  }

  private static String significant(double value) {
    if (value >= 100) return String.format(Locale.ROOT, "%.0f", value);
    if (value >= 10) return String.format(Locale.ROOT, "%.1f", value);
    return String.format(Locale.ROOT, "%.2f", value);
  }
}
