package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Takes one generator run through its {@link Phase}s: it connects the clients, warms up, measures,
 * then drains until every packet sent has arrived, for {@link #DRAIN_TIMEOUT} at the most, and
 * closes the clients. Between the generator's selects it ends an interval about once a second and
 * tells the {@link LoadMeter} when measuring starts and stops; a run whose clients all failed ends
 * at once. What the sockets do is the generator's, behind {@link Traffic}.
 *
 * <p>Confined to the generator's thread.
 */
final class LoadPhases {
  /** How long the packets in flight when the measured period ends may take to arrive. */
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /** A generator's clients, as the phases drive them; called on the generator's thread. */
  interface Traffic {
    /** Connects every client. */
    void connect() throws IOException;

    /** Sends what the clients may send at first, as sent at {@code now}. */
    void start(long now) throws IOException;

    /**
     * Handles the sockets that are ready, waiting up to {@code timeoutMillis} for one (not at all
     * if the generator busy-polls); {@return {@code System.nanoTime()} after}
     */
    long poll(long timeoutMillis) throws IOException;

    /** {@return whether every packet sent has arrived in full} */
    boolean drained();

    /** {@return whether nothing more can arrive, since the clients that count all failed} */
    boolean stopped();

    /** Counts and describes the packets still missing when the drain times out. */
    void reportMissing();

    /** Closes every client. */
    void close();
  }

  private final LoadMeter meter;
  private Phase phase; // Null until the run starts.

  LoadPhases(LoadMeter meter) {
    this.meter = meter;
  }

  /** {@return the phase under way, or null before the run} */
  Phase phase() {
    return phase;
  }

  /**
   * Connects, warms up for {@code warmup}, measures for {@code duration}, drains and closes.
   *
   * @throws IOException if the clients cannot all connect; the traffic reports errors after that
   */
  void run(Duration warmup, Duration duration, LoadListener listener, Traffic traffic)
      throws IOException {
    if (warmup.isNegative()) throw new IllegalArgumentException("warmup < 0: " + warmup);
    if (!duration.isPositive()) throw new IllegalArgumentException("duration <= 0: " + duration);
    if (phase != null) throw new IllegalStateException("already run");
    phase = Phase.CONNECT;
    try {
      listener.phaseStarted(Phase.CONNECT);
      traffic.connect();
      exchange(warmup.toNanos(), duration.toNanos(), listener, traffic);
    } finally {
      traffic.close();
    }
  }

  private void exchange(
      long warmupNanos, long durationNanos, LoadListener listener, Traffic traffic)
      throws IOException {
    phase = warmupNanos > 0 ? Phase.WARMUP : Phase.MEASURE;
    listener.phaseStarted(phase);
    long now = System.nanoTime();
    long phaseStart = now;
    long phaseEnd = now + (phase == Phase.WARMUP ? warmupNanos : durationNanos);
    long intervalStart = now;
    if (phase == Phase.MEASURE) meter.startMeasuring(now);
    traffic.start(now);
    while (true) {
      long wake = Math.min(intervalStart + SECOND, phaseEnd);
      now = traffic.poll(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wake - now + 999_999)));
      if (phase == Phase.DRAIN) {
        if (traffic.drained() || traffic.stopped()) return;
        if (now - phaseStart >= DRAIN_TIMEOUT.toNanos()) {
          traffic.reportMissing();
          return;
        }
        continue;
      }
      if (now - intervalStart >= SECOND || now >= phaseEnd) {
        meter.endInterval(listener, phase, now, intervalStart, phaseStart, phaseEnd);
        intervalStart = now;
      }
      if (now >= phaseEnd && phase == Phase.WARMUP) {
        listener.phaseStarted(Phase.MEASURE);
        phase = Phase.MEASURE;
        now = System.nanoTime();
        phaseStart = intervalStart = now;
        phaseEnd = now + durationNanos;
        meter.startMeasuring(now);
      } else if (now >= phaseEnd && phase == Phase.MEASURE) {
        meter.stopMeasuring(now);
        phase = Phase.DRAIN;
        listener.phaseStarted(Phase.DRAIN);
        phaseStart = System.nanoTime();
        if (traffic.drained()) return;
      }
      if (traffic.stopped()) {
        if (phase == Phase.MEASURE) meter.stopMeasuring(now); // The result ends here.
        return;
      }
    }
  }
}
