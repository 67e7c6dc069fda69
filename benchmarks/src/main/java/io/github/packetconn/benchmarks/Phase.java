package io.github.packetconn.benchmarks;

/** The phases of one load generator run ({@link LoadPhases}), in order. */
enum Phase {
  /** Clients connect, a bounded number at a time. */
  CONNECT,
  /** Packets flow; results are discarded. */
  WARMUP,
  /** Packets flow and are counted, timed and checked. */
  MEASURE,
  /** No new packets are sent; the echoes still in flight are awaited and checked. */
  DRAIN;

  /** {@return the lower-case name used in live lines and reports} */
  String label() {
    return switch (this) {
      case CONNECT -> "connect";
      case WARMUP -> "warm-up";
      case MEASURE -> "measure";
      case DRAIN -> "drain";
    };
  }
}
