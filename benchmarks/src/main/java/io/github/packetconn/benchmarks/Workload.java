package io.github.packetconn.benchmarks;

import java.util.List;
import java.util.StringJoiner;

/**
 * One load shape: an <b>echo</b> for the {@link LoadGenerator} (how many clients connect, how many
 * packets each keeps <b>in flight</b>, sent and not yet echoed) or a <b>fan-out</b> for the {@link
 * FanoutGenerator} (one publisher, {@code clients} subscribers, and how many packets may be
 * published and not yet delivered to every subscriber); and the range of payload sizes, drawn
 * uniformly.
 *
 * <p>{@link #STANDARD} holds the seven workloads every bench run measures, in report order:
 *
 * <pre>{@code
 * name          clients  in flight  payload
 * pipelined        2000        100  0..2048 B
 * ping-pong        1000          1  0..2048 B
 * small             100        100  0..64 B
 * large               8          4  64 KiB..1 MiB
 * single              1          1  0..2048 B   (latency)
 * fanout-small     1000         16  16..512 B   (1 publisher, 1000 subscribers)
 * fanout-large      100          8  16..64 KiB  (1 publisher, 100 subscribers)
 * }</pre>
 *
 * <p>A fan-out payload starts with its sequence number and its send time ({@link
 * FanoutGenerator#STAMP}, 16 bytes), so its payloads are 16 bytes at least. {@link #scaled} shrinks
 * the client count (the subscribers, for a fan-out) for quick runs and tests. Instances are
 * immutable.
 */
record Workload(
    String name, Shape shape, int clients, int inFlight, int minPayload, int maxPayload) {
  /** What the clients do. */
  enum Shape {
    /** Every client sends and reads its own echoes. */
    ECHO,
    /** One publisher sends; the server passes each packet to all {@code clients} subscribers. */
    FANOUT;

    /** {@return the lower-case name used in bench.json} */
    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  static final Workload PIPELINED = new Workload("pipelined", 2000, 100, 0, 2048);
  static final Workload PING_PONG = new Workload("ping-pong", 1000, 1, 0, 2048);
  static final Workload SMALL = new Workload("small", 100, 100, 0, 64);
  static final Workload LARGE = new Workload("large", 8, 4, 64 * 1024, 1024 * 1024);
  static final Workload SINGLE = new Workload("single", 1, 1, 0, 2048);
  static final Workload FANOUT_SMALL =
      new Workload("fanout-small", Shape.FANOUT, 1000, 16, FanoutGenerator.STAMP, 512);
  static final Workload FANOUT_LARGE =
      new Workload("fanout-large", Shape.FANOUT, 100, 8, 16 * 1024, 64 * 1024);

  /** The standard workloads in the order a bench run measures and reports them. */
  static final List<Workload> STANDARD =
      List.of(PIPELINED, PING_PONG, SMALL, LARGE, SINGLE, FANOUT_SMALL, FANOUT_LARGE);

  Workload {
    if (name == null || name.isEmpty()) throw new IllegalArgumentException("name is empty");
    if (shape == null) throw new IllegalArgumentException("shape is null");
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
    if (shape == Shape.FANOUT && minPayload < FanoutGenerator.STAMP) {
      throw new IllegalArgumentException(
          "a fan-out payload holds a " + FanoutGenerator.STAMP + "-byte stamp: minPayload < "
              + FanoutGenerator.STAMP + ": " + minPayload);
    }
  }

  /** Creates an echo workload. */
  Workload(String name, int clients, int inFlight, int minPayload, int maxPayload) {
    this(name, Shape.ECHO, clients, inFlight, minPayload, maxPayload);
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
        name, shape, (int) Math.min(scaled, Integer.MAX_VALUE), inFlight, minPayload, maxPayload);
  }

  /** {@return whether this is a fan-out: one publisher, {@code clients} subscribers} */
  boolean fanout() {
    return shape == Shape.FANOUT;
  }

  /**
   * {@return how the reports name it: {@code pipelined 2000×100} (clients × in flight), or {@code
   * fanout-small 1→1000} (one publisher to its subscribers)}
   */
  String label() {
    return fanout() ? name + " 1→" + clients : name + " " + clients + "×" + inFlight;
  }

  /** {@return whether throughput is better read in bytes than in packets, as for large payloads} */
  boolean reportsBytes() {
    return minPayload >= 64 * 1024;
  }
}
