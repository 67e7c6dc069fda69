package io.github.packetconn.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Recorded round-trip times in nanoseconds, and their percentiles.
 *
 * <p>Every value is kept (8 bytes each), so percentiles are exact: they come from sorting, by the
 * nearest-rank method. One client records into its own instance; {@link #merge} combines them.
 *
 * <p>Not safe for concurrent use.
 */
final class Latencies {
  private long[] values;
  private int size;
  private boolean sorted = true; // An empty array is sorted.

  /** Creates an empty instance with room for {@code capacity} values before it grows. */
  Latencies(int capacity) {
    if (capacity < 0) throw new IllegalArgumentException("capacity < 0: " + capacity);
    values = new long[Math.max(capacity, 16)];
  }

  /** {@return every value of {@code parts} in one instance} */
  static Latencies merge(List<Latencies> parts) {
    int total = 0;
    for (Latencies part : parts) total = Math.addExact(total, part.size);
    Latencies merged = new Latencies(total);
    for (Latencies part : parts) {
      System.arraycopy(part.values, 0, merged.values, merged.size, part.size);
      merged.size += part.size;
    }
    merged.sorted = merged.size <= 1;
    return merged;
  }

  /** Records one value. */
  void add(long nanos) {
    if (size == values.length) values = Arrays.copyOf(values, Math.addExact(size, size >> 1));
    if (size > 0 && nanos < values[size - 1]) sorted = false;
    values[size++] = nanos;
  }

  /** {@return the number of values recorded} */
  int size() {
    return size;
  }

  /**
   * {@return the smallest recorded value that at least {@code percent} percent of all values do not
   * exceed, or 0 when there are none}
   */
  long percentile(double percent) {
    if (!(percent > 0 && percent <= 100)) {
      throw new IllegalArgumentException("percent not in (0, 100]: " + percent);
    }
    if (size == 0) return 0;
    sort();
    // Nearest rank, 1-based. The factor absorbs rounding: 99.9 / 100 * 1000 is 999.0000000000001.
    int rank = (int) Math.ceil(percent / 100 * size * (1 - 1e-12));
    return values[Math.max(rank, 1) - 1];
  }

  /** {@return the largest recorded value, or 0 when there are none} */
  long max() {
    if (size == 0) return 0;
    sort();
    return values[size - 1];
  }

  /**
   * {@return the given percentiles and the maximum, such as "p50 41.2 us, ..., max 912.0 us", or
   * "none recorded"}
   */
  String describe(double... percents) {
    if (size == 0) return "none recorded";
    StringBuilder result = new StringBuilder();
    for (double percent : percents) {
      String label =
          percent == Math.rint(percent) ? Long.toString((long) percent) : Double.toString(percent);
      result.append('p').append(label).append(' ').append(micros(percentile(percent))).append(", ");
    }
    return result.append("max ").append(micros(max())).toString();
  }

  /** {@return {@code nanos} in microseconds with one decimal, such as "41.2 us"} */
  static String micros(long nanos) {
    return String.format(Locale.ROOT, "%,.1f us", nanos / 1_000.0);
  }

  private void sort() {
    if (sorted) return;
    Arrays.sort(values, 0, size);
    sorted = true;
  }
}
