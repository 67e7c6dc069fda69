package io.github.packetconn.benchmarks;

/**
 * What a {@link LoadGenerator} did in the last second, for a live line.
 *
 * @param second seconds since the phase started, rounded
 * @param seconds the length of the phase in seconds
 * @param mibPerSecond echoed payload, one way, in MiB (2^20 bytes) per second
 * @param p99Micros the 99th percentile round trip of the packets echoed in the interval
 */
record LoadInterval(
    Workload workload,
    Phase phase,
    double second,
    double seconds,
    double packetsPerSecond,
    double mibPerSecond,
    double p99Micros) {}
