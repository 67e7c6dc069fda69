package io.github.packetconn.benchmarks;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of one {@link LoadGenerator} run over its measured period.
 *
 * <p>Throughput counts echoed packets; {@code mibPerSecond} is their payload <b>one way</b> (what
 * came back), in MiB of 2^20 bytes. Latencies are round trips in microseconds, from the write that
 * sent a packet's first byte to the read that received its last. {@code errors} counts every wrong
 * length, wrong byte, out-of-order echo, unexpected close and echo still missing when the run
 * ended, and {@code errorMessages} describes the first few.
 *
 * @param allocatedBytesPerPacket bytes the generator's own thread allocated per echoed packet,
 *     leaving out what the listener's once-a-second calls allocate
 * @param cpuNanosPerPacket CPU time the generator's thread used per echoed packet
 */
record LoadResult(
    Workload workload,
    double seconds,
    long packets,
    long payloadBytes,
    double p50Micros,
    double p99Micros,
    double p999Micros,
    double maxMicros,
    long errors,
    List<String> errorMessages,
    double allocatedBytesPerPacket,
    double cpuNanosPerPacket) {
  LoadResult {
    Objects.requireNonNull(workload, "workload");
    errorMessages = List.copyOf(errorMessages);
  }

  /** {@return a result for a run that could not take place, for the reason {@code message}} */
  static LoadResult failure(Workload workload, String message) {
    return new LoadResult(workload, 0, 0, 0, 0, 0, 0, 0, 1, List.of(message), 0, 0);
  }

  /** {@return echoed packets per second} */
  double packetsPerSecond() {
    return seconds > 0 ? packets / seconds : 0;
  }

  /** {@return echoed payload, one way, in MiB per second} */
  double mibPerSecond() {
    return seconds > 0 ? payloadBytes / seconds / (1 << 20) : 0;
  }

  /** {@return whether the run had no errors} */
  boolean ok() {
    return errors == 0;
  }
}
