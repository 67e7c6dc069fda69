package io.github.packetconn.benchmarks;

/**
 * Receives a {@link LoadGenerator}'s progress, on the generator's own thread: keep it short, since
 * the generator sends nothing while it runs.
 */
interface LoadListener {
  /** Ignores everything. */
  LoadListener NONE = new LoadListener() {};

  /**
   * Called as {@code phase} starts. {@link Phase#MEASURE} starts right after this returns, and
   * {@link Phase#DRAIN} right after the measured period ended.
   */
  default void phaseStarted(Phase phase) {}

  /** Called once a second in the warm-up and measured phases. */
  default void interval(LoadInterval interval) {}
}
