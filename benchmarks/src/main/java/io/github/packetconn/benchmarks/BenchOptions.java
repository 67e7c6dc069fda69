package io.github.packetconn.benchmarks;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The options of {@code bench}: which servers and workloads, for how long, at what scale.
 *
 * <pre>{@code
 * BenchOptions options = BenchOptions.parse(List.of("--servers", "raw,netty", "--duration", "3s"));
 * }</pre>
 *
 * @param scale factor applied to every workload's client count ({@link Workload#scaled})
 * @param out directory for {@code bench.json}, {@code bench.md} and the charts
 * @param tlsProtocol the TLS version the generator speaks to the TLS servers: {@code TLSv1.3} or
 *     {@code TLSv1.2}
 * @param from a {@code bench.json} whose tables and charts to draw again instead of running, or
 *     null
 */
record BenchOptions(
    List<String> servers,
    List<Workload> workloads,
    Duration warmup,
    Duration duration,
    double scale,
    long seed,
    Path out,
    String tlsProtocol,
    Path from) {
  /**
   * Every server: each kind over TCP, then each over a Unix domain socket ({@code netty-unix}),
   * then the TLS kinds.
   */
  static final List<String> ALL_SERVERS =
      Stream.of(
              ServerMain.KINDS.stream(),
              ServerMain.KINDS.stream().map(k -> k + ServerMain.UNIX_SUFFIX),
              ServerMain.TLS_KINDS.stream(),
              ServerMain.COMPARISON_KINDS.stream())
          .flatMap(s -> s)
          .toList();

  /**
   * The workloads the TLS kinds run: throughput with many packets per record, and one packet per
   * record. The others would lengthen the default run by minutes for little news.
   */
  static final List<Workload> TLS_WORKLOADS = List.of(Workload.PIPELINED, Workload.PING_PONG);

  /**
   * What runs by default: every kind over TCP, packetconn's callback style and Netty over UDS, and
   * the TLS kinds (on {@link #TLS_WORKLOADS} only).
   */
  static final List<String> DEFAULT_SERVERS =
      Stream.of(
              ServerMain.KINDS.stream(),
              Stream.of("packetconn-callback-unix", "netty-unix"),
              ServerMain.TLS_KINDS.stream())
          .flatMap(s -> s)
          .toList();
  static final Duration DEFAULT_WARMUP = Duration.ofSeconds(5);
  static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);

  static final String USAGE =
      """
      Usage: bench [options]

      Runs every workload against every echo server, each server in its own JVM on CPU 0 and the
      load generator on CPU 1, and prints live lines and tables; writes bench.json, bench.md and
      charts (throughput-tcp.png, cpu-tcp.png, ... and .svg). The fan-out workloads run on the
      fan-out servers of packetconn-callback, packetconn-blocking and netty: one publisher, many
      subscribers, every packet delivered to each. Exits with status 1 if any run had errors.

      Options:
        --servers a,b,...    packetconn-callback, packetconn-blocking, virtual-threads (a
                             hand-written JDK echo), netty, raw over TCP, the same with -unix
                             over a Unix domain socket, and over TLS packetconn-callback-tls and
                             netty-tls, which run pipelined and ping-pong only (default: the
                             five over TCP, packetconn-callback-unix, netty-unix and the two TLS
                             ones); only when named: packetconn-blocking-loop, the blocking
                             style on the I/O threads, as before it owned its sockets, and
                             packetconn-blocking-timed, the blocking style receiving with
                             receive(timeout)
        --workloads a,b,...  pipelined, ping-pong, small, large, single, and the fan-outs
                             fanout-small (1 publisher, 1000 subscribers, 16..512 B) and
                             fanout-large (1 publisher, 100 subscribers, 16..64 KiB), which run
                             on packetconn-callback, packetconn-blocking and netty only
                             (default: all)
        --warmup TIME        warm-up per run, results discarded: 500ms, 5s, 1m (default: 5s)
        --duration TIME      measured period per run (default: 10s)
        --scale FACTOR       multiply every workload's clients (a fan-out's subscribers), at
                             least 1 (default: 1.0)
        --seed N             seed of payload sizes and bytes (default: 1)
        --out DIR            where the reports go (default: target/bench)
        --tls VERSION        what the generator speaks to the TLS servers, with AES-128-GCM:
                             TLSv1.3 or TLSv1.2 (default: TLSv1.3)
        --from FILE          runs nothing: prints the tables of the bench.json FILE and draws
                             its charts into --out (takes no other option)
        --help               prints this
      """;

  /** The defaults: every workload, {@link #DEFAULT_SERVERS}, 5 s warm-up, 10 s measured. */
  static BenchOptions defaults() {
    return new BenchOptions(
        DEFAULT_SERVERS,
        Workload.STANDARD,
        DEFAULT_WARMUP,
        DEFAULT_DURATION,
        1.0,
        1,
        Path.of("target", "bench"),
        BenchTls.PROTOCOLS.get(0),
        null);
  }

  /**
   * {@return whether {@code server} runs {@code workload}: the fan-out workloads run on the kinds
   * that have a fan-out server ({@link Fanout#KINDS}, over TCP), the TLS kinds run only some echo
   * workloads}
   */
  static boolean runs(String server, Workload workload) {
    if (workload.fanout()) return Fanout.KINDS.contains(server);
    return !ServerMain.TLS_KINDS.contains(server)
        || TLS_WORKLOADS.stream().anyMatch(w -> w.name().equals(workload.name()));
  }

  /** {@return whether {@code server} speaks TLS} */
  static boolean tls(String server) {
    return ServerMain.TLS_KINDS.contains(server);
  }

  /**
   * Parses {@code args} ({@code --name value} or {@code --name=value}).
   *
   * @throws UsageException naming the unknown option, missing value or bad value
   */
  static BenchOptions parse(List<String> args) throws UsageException {
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--")) throw new UsageException("unexpected argument: " + arg);
      int equals = arg.indexOf('=');
      String name = equals < 0 ? arg : arg.substring(0, equals);
      if (!List.of(
              "--servers",
              "--workloads",
              "--warmup",
              "--duration",
              "--scale",
              "--seed",
              "--out",
              "--tls",
              "--from")
          .contains(name)) {
        throw new UsageException("unknown option: " + name);
      }
      String value;
      if (equals >= 0) {
        value = arg.substring(equals + 1);
      } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
        value = args.get(++i);
      } else {
        throw new UsageException(name + " needs a value");
      }
      if (value.isEmpty()) throw new UsageException(name + " needs a value");
      if (values.put(name, value) != null) throw new UsageException(name + " given twice");
    }
    if (values.containsKey("--from")) {
      for (String name : values.keySet()) {
        if (!name.equals("--from") && !name.equals("--out")) {
          throw new UsageException("--from takes no other option but --out: " + name);
        }
      }
    }
    BenchOptions defaults = defaults();
    return new BenchOptions(
        values.containsKey("--servers") ? servers(values.get("--servers")) : defaults.servers,
        values.containsKey("--workloads")
            ? workloads(values.get("--workloads"))
            : defaults.workloads,
        values.containsKey("--warmup")
            ? duration("--warmup", values.get("--warmup"), true)
            : defaults.warmup,
        values.containsKey("--duration")
            ? duration("--duration", values.get("--duration"), false)
            : defaults.duration,
        values.containsKey("--scale") ? scale(values.get("--scale")) : defaults.scale,
        values.containsKey("--seed") ? seed(values.get("--seed")) : defaults.seed,
        values.containsKey("--out") ? Path.of(values.get("--out")) : defaults.out,
        values.containsKey("--tls") ? tlsProtocol(values.get("--tls")) : defaults.tlsProtocol,
        values.containsKey("--from") ? Path.of(values.get("--from")) : null);
  }

  private static String tlsProtocol(String text) throws UsageException {
    if (!BenchTls.PROTOCOLS.contains(text)) {
      throw new UsageException(
          "--tls: not one of " + String.join(", ", BenchTls.PROTOCOLS) + ": " + text);
    }
    return text;
  }

  private static List<String> servers(String text) throws UsageException {
    List<String> servers = new ArrayList<>();
    for (String name : text.split(",", -1)) {
      String server = name.strip();
      if (!ALL_SERVERS.contains(server)) {
        throw new UsageException(
            "--servers: unknown server (not one of "
                + String.join(", ", ALL_SERVERS)
                + "): "
                + server);
      }
      if (servers.contains(server)) throw new UsageException("--servers: given twice: " + server);
      servers.add(server);
    }
    return List.copyOf(servers);
  }

  private static List<Workload> workloads(String text) throws UsageException {
    List<Workload> workloads = new ArrayList<>();
    for (String name : text.split(",", -1)) {
      Workload workload;
      try {
        workload = Workload.named(name.strip());
      } catch (IllegalArgumentException e) {
        throw new UsageException("--workloads: " + e.getMessage());
      }
      if (workloads.contains(workload)) {
        throw new UsageException("--workloads: given twice: " + workload.name());
      }
      workloads.add(workload);
    }
    return List.copyOf(workloads);
  }

  /** Parses {@code 500ms}, {@code 0.2s}, {@code 5s}, {@code 1m}; a bare number is seconds. */
  static Duration duration(String name, String text, boolean zeroAllowed) throws UsageException {
    String number = text;
    double unitNanos = 1e9;
    if (text.endsWith("ms")) {
      number = text.substring(0, text.length() - 2);
      unitNanos = 1e6;
    } else if (text.endsWith("s")) {
      number = text.substring(0, text.length() - 1);
    } else if (text.endsWith("m")) {
      number = text.substring(0, text.length() - 1);
      unitNanos = 60e9;
    }
    double value;
    try {
      value = Double.parseDouble(number);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " is not a time such as 500ms, 5s or 1m: " + text);
    }
    if (!(value >= 0) || Double.isInfinite(value) || (!zeroAllowed && value == 0)) {
      throw new UsageException(name + (zeroAllowed ? " < 0: " : " <= 0: ") + text);
    }
    if (value * unitNanos > Duration.ofHours(24).toNanos()) {
      throw new UsageException(name + " > 24 h: " + text);
    }
    return Duration.ofNanos(Math.round(value * unitNanos));
  }

  private static double scale(String text) throws UsageException {
    double value;
    try {
      value = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new UsageException("--scale is not a number: " + text);
    }
    if (!(value > 0)) throw new UsageException("--scale <= 0: " + text); // NaN fails too.
    if (value > 100) throw new UsageException("--scale > 100: " + text);
    return value;
  }

  private static long seed(String text) throws UsageException {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new UsageException("--seed is not an integer: " + text);
    }
  }
}
