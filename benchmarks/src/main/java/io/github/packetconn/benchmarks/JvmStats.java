package io.github.packetconn.benchmarks;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a server JVM has allocated, collected and spent in CPU time since it started: the {@code
 * STATS} line of the {@link ServerMain} protocol, {@code STATS allocatedBytes=1 gcCount=2
 * gcTimeMs=3 oldGcCount=4 cpuNanos=5}.
 *
 * <p>{@code allocatedBytes} is HotSpot's {@code getTotalThreadAllocatedBytes()}: every thread, live
 * or ended. A virtual thread allocates in its carrier's TLAB, so its bytes are counted through the
 * carrier (checked: 8 virtual threads allocating 800 MB add 800 MB). Take differences of two
 * snapshots around a measurement.
 *
 * <p>{@code cpuNanos} is the process's CPU time, user and system, of every thread: the I/O and
 * virtual threads, and also the JIT compilers and the collector, since they work for the server
 * too ({@code OperatingSystemMXBean.getProcessCpuTime()}: on Linux the user and system time of
 * {@code times(2)}, as in {@code /proc/<pid>/stat}, in clock ticks of 10 ms, which is 0.1% of a
 * 10 s measurement). -1 when unknown: the JVM cannot tell, or a {@code bench.json} from before the
 * field existed.
 */
public record JvmStats(
    long allocatedBytes, long gcCount, long gcTimeMs, long oldGcCount, long cpuNanos) {
  /**
   * The collectors counted as old-generation work. G1: "G1 Old Generation" (full GCs) and "G1
   * Concurrent GC" (the Remark and Cleanup pauses of concurrent cycles, two per cycle); Parallel:
   * "PS MarkSweep"; Serial: "MarkSweepCompact"; ZGC: "ZGC Major Cycles"; Shenandoah: "Shenandoah
   * Cycles". Every other collector is young-generation work.
   */
  private static final Set<String> OLD_COLLECTORS =
      Set.of(
          "G1 Old Generation",
          "G1 Concurrent GC",
          "PS MarkSweep",
          "MarkSweepCompact",
          "ZGC Major Cycles",
          "Shenandoah Cycles");

  private static final String PREFIX = "STATS ";

  /** {@return this JVM's counters now} */
  public static JvmStats capture() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long allocated = threads.getTotalThreadAllocatedBytes();
    long count = 0;
    long timeMs = 0;
    long oldCount = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      long n = Math.max(0, gc.getCollectionCount()); // -1 means undefined.
      count += n;
      timeMs += Math.max(0, gc.getCollectionTime());
      if (OLD_COLLECTORS.contains(gc.getName())) oldCount += n;
    }
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu = os.getProcessCpuTime(); // -1 where unsupported.
    return new JvmStats(allocated, count, timeMs, oldCount, cpu < 0 ? -1 : cpu);
  }

  /** {@return the protocol line, without a line terminator} */
  public String toLine() {
    return PREFIX + "allocatedBytes=" + allocatedBytes + " gcCount=" + gcCount + " gcTimeMs="
        + gcTimeMs + " oldGcCount=" + oldGcCount + " cpuNanos=" + cpuNanos;
  }

  /**
   * Parses a line written by {@link #toLine()}.
   *
   * @throws IllegalArgumentException if the line is not a complete {@code STATS} line
   */
  public static JvmStats parse(String line) {
    if (!line.startsWith(PREFIX)) throw new IllegalArgumentException("not a STATS line: " + line);
    Map<String, Long> values = new HashMap<>();
    for (String field : line.substring(PREFIX.length()).trim().split(" +")) {
      int eq = field.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("bad field \"" + field + "\" in: " + line);
      try {
        values.put(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad number in \"" + field + "\" in: " + line, e);
      }
    }
    return new JvmStats(
        field(values, "allocatedBytes", line),
        field(values, "gcCount", line),
        field(values, "gcTimeMs", line),
        field(values, "oldGcCount", line),
        field(values, "cpuNanos", line));
  }

  /**
   * {@return the counters accumulated between {@code earlier} and this snapshot; the CPU time is -1
   * if either does not know it}
   */
  public JvmStats minus(JvmStats earlier) {
    return new JvmStats(
        allocatedBytes - earlier.allocatedBytes,
        gcCount - earlier.gcCount,
        gcTimeMs - earlier.gcTimeMs,
        oldGcCount - earlier.oldGcCount,
        cpuNanos < 0 || earlier.cpuNanos < 0 ? -1 : cpuNanos - earlier.cpuNanos);
  }

  private static long field(Map<String, Long> values, String name, String line) {
    Long value = values.get(name);
    if (value == null) throw new IllegalArgumentException("no " + name + " in: " + line);
    return value;
  }
}
