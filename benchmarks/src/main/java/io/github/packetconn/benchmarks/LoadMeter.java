package io.github.packetconn.benchmarks;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Counts and times the packets a generator receives, interval by interval, adds the measured
 * intervals up, and builds the run's {@link LoadResult}. Over the measured period it also takes
 * the bytes the generator's thread allocated and the CPU time it used, leaving out what the
 * listener's interval calls allocate. Counting allocates nothing.
 *
 * <p>Confined to the generator's thread, which it measures.
 */
final class LoadMeter {
  private static final long HIGHEST_LATENCY = TimeUnit.MINUTES.toNanos(1); // Longer is clamped.

  private final Workload workload;
  private final Histogram intervalLatencies = new Histogram(HIGHEST_LATENCY, 3);
  private final Histogram latencies = new Histogram(HIGHEST_LATENCY, 3);
  private final com.sun.management.ThreadMXBean threads =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private long intervalPackets;
  private long intervalBytes;
  private long packets; // Measured.
  private long payloadBytes; // Measured.
  private long measureStart; // Both 0 until measuring starts: a run that never did lasted 0 s.
  private long measureEnd;
  private long allocatedBefore;
  private long cpuBefore;
  private long reportingAllocated; // By the listener's interval calls: not the generator's own.
  private long allocated; // Over the measured period, once it ended.
  private long cpu; // Likewise.

  LoadMeter(Workload workload) {
    this.workload = workload;
  }

  /** Counts a packet received in full, with {@code payloadBytes} of payload. */
  void countPacket(int payloadBytes) {
    intervalPackets++;
    intervalBytes += payloadBytes;
  }

  /** Records a packet's latency in nanoseconds; below 0 counts as 0, above a minute as a minute. */
  void recordLatency(long nanos) {
    intervalLatencies.recordValue(Math.min(Math.max(nanos, 0), HIGHEST_LATENCY));
  }

  /** Starts the measured period at {@code now}: what came before it does not count. */
  void startMeasuring(long now) {
    latencies.reset();
    measureStart = now;
    allocatedBefore = allocatedBytes();
    reportingAllocated = 0;
    cpuBefore = threads.getCurrentThreadCpuTime();
  }

  /** Ends the measured period at {@code now}. */
  void stopMeasuring(long now) {
    measureEnd = now;
    allocated = allocatedBytes() - allocatedBefore - reportingAllocated;
    cpu = threads.getCurrentThreadCpuTime() - cpuBefore;
  }

  /**
   * Reports the interval of {@code phase} that ends {@code now} to {@code listener} and, when
   * measuring, adds it to the totals.
   */
  void endInterval(
      LoadListener listener,
      Phase phase,
      long now,
      long intervalStart,
      long phaseStart,
      long phaseEnd) {
    double seconds = (now - intervalStart) / 1e9;
    double p99 = intervalLatencies.getValueAtPercentile(99) / 1e3;
    if (phase == Phase.MEASURE) {
      packets += intervalPackets;
      payloadBytes += intervalBytes;
      latencies.add(intervalLatencies);
    }
    long before = allocatedBytes();
    listener.interval(
        new LoadInterval(
            workload,
            phase,
            (now - phaseStart) / 1e9,
            (phaseEnd - phaseStart) / 1e9,
            intervalPackets / seconds,
            intervalBytes / seconds / (1 << 20),
            p99));
    reportingAllocated += allocatedBytes() - before;
    intervalPackets = 0;
    intervalBytes = 0;
    intervalLatencies.reset();
  }

  /** {@return the measured period's result, with {@code errors}} */
  LoadResult result(LoadErrors errors) {
    return new LoadResult(
        workload,
        (measureEnd - measureStart) / 1e9,
        packets,
        payloadBytes,
        latencies.getValueAtPercentile(50) / 1e3,
        latencies.getValueAtPercentile(99) / 1e3,
        latencies.getValueAtPercentile(99.9) / 1e3,
        latencies.getMaxValue() / 1e3,
        errors.count(),
        errors.messages(),
        packets > 0 ? (double) allocated / packets : 0,
        packets > 0 ? (double) cpu / packets : 0);
  }

  private long allocatedBytes() {
    return threads.getThreadAllocatedBytes(Thread.currentThread().threadId());
  }
}
