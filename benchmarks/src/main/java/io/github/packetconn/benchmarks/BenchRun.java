package io.github.packetconn.benchmarks;

import java.util.Objects;

/**
 * One server under one workload: the load generator's result and what the server's JVM allocated,
 * collected and spent in CPU time over the measured period.
 *
 * @param serverStats the server's counters over the measured period, or null if it did not answer
 */
record BenchRun(String server, LoadResult load, JvmStats serverStats) {
  BenchRun {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(load, "load");
  }

  /** {@return the workload} */
  Workload workload() {
    return load.workload();
  }

  /** {@return bytes the server allocated per echoed packet, or NaN if unknown} */
  double serverAllocatedPerPacket() {
    if (serverStats == null || load.packets() == 0) return Double.NaN;
    return (double) serverStats.allocatedBytes() / load.packets();
  }

  /**
   * {@return CPU time the server's process used per echoed packet, in nanoseconds, or NaN if
   * unknown}
   */
  double serverCpuNanosPerPacket() {
    if (serverStats == null || serverStats.cpuNanos() < 0 || load.packets() == 0) return Double.NaN;
    return (double) serverStats.cpuNanos() / load.packets();
  }

  /** {@return packets/s, or MiB/s for workloads reported in bytes} */
  double throughput() {
    return workload().reportsBytes() ? load.mibPerSecond() : load.packetsPerSecond();
  }
}
