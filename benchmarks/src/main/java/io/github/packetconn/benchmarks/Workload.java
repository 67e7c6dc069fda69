package io.github.packetconn.benchmarks;

import java.util.List;
import java.util.StringJoiner;

/**
 * One load shape for the {@link LoadGenerator}: how many clients connect, how many packets each
 * keeps <b>in flight</b> (sent and not yet echoed), and the range of payload sizes, drawn
 * uniformly.
 *
 * <p>{@link #STANDARD} holds the five workloads every bench run measures, in report order:
 *
 * <pre>{@code
 * name       clients  in flight  payload
 * pipelined     2000        100  0..2048 B
 * ping-pong     1000          1  0..2048 B
 * small          100        100  0..64 B
 * large            8          4  64 KiB..1 MiB
 * single           1          1  0..2048 B   (latency)
 * }</pre>
 *
 * <p>{@link #scaled} shrinks the client count for quick runs and tests. Instances are immutable.
 */
record Workload(String name, int clients, int inFlight, int minPayload, int maxPayload) {
  static final Workload PIPELINED = new Workload("pipelined", 2000, 100, 0, 2048);
  static final Workload PING_PONG = new Workload("ping-pong", 1000, 1, 0, 2048);
  static final Workload SMALL = new Workload("small", 100, 100, 0, 64);
  static final Workload LARGE = new Workload("large", 8, 4, 64 * 1024, 1024 * 1024);
  static final Workload SINGLE = new Workload("single", 1, 1, 0, 2048);

  /** The standard workloads in the order a bench run measures and reports them. */
  static final List<Workload> STANDARD = List.of(PIPELINED, PING_PONG, SMALL, LARGE, SINGLE);

  Workload {
    if (name == null || name.isEmpty()) throw new IllegalArgumentException("name is empty");
    if (clients <= 0) throw new IllegalArgumentException("clients <= 0: " + clients);
    if (inFlight <= 0) throw new IllegalArgumentException("inFlight <= 0: " + inFlight);
    if (minPayload < 0) throw new IllegalArgumentException("minPayload < 0: " + minPayload);
    if (maxPayload < minPayload) {
      throw new IllegalArgumentException(
          "maxPayload(" + maxPayload + ") < minPayload(" + minPayload + ")");
    }
    if (maxPayload > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException(
          "maxPayload > " + Integer.MAX_VALUE / 2 + ": " + maxPayload);
    }
  }

  /**
   * {@return the standard workload called {@code name}}
   *
   * @throws IllegalArgumentException if there is none, listing the names there are
   */
  static Workload named(String name) {
    StringJoiner names = new StringJoiner(", ");
    for (Workload workload : STANDARD) {
      if (workload.name.equals(name)) return workload;
      names.add(workload.name);
    }
    throw new IllegalArgumentException("unknown workload (not one of " + names + "): " + name);
  }

  /** {@return this workload with {@code factor} times the clients, at least one} */
  Workload scaled(double factor) {
    if (!(factor > 0)) throw new IllegalArgumentException("factor <= 0: " + factor);
    long scaled = Math.max(1, Math.round(clients * factor));
    return new Workload(
        name, (int) Math.min(scaled, Integer.MAX_VALUE), inFlight, minPayload, maxPayload);
  }

  /** {@return whether throughput is better read in bytes than in packets, as for large payloads} */
  boolean reportsBytes() {
    return minPayload >= 64 * 1024;
  }
}
