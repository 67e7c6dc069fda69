package io.github.packetconn.cli;

import io.github.packetconn.PacketConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code packetconn demo}: an echo server and its clients in one process, once per server style,
 * with a short report: the command {@code packetconn --help} says to start with.
 */
final class DemoCommand implements Command {
  static final int CLIENTS = 8;
  static final int MIN_SIZE = 0;
  static final int MAX_SIZE = 2048;

  /** The parsed command line: the total time under load and the server's port, 0 for any. */
  record Settings(Duration total, int port) {}

  @Override
  public String name() {
    return "demo";
  }

  @Override
  public String summary() {
    return "run an echo server and clients in this process, check every echo (~4 s; start here)";
  }

  @Override
  public String usage() {
    return """
    Usage: packetconn demo [--seconds S] [--port PORT]

    Starts an echo server on 127.0.0.1, runs %d clients against it doing strict ping-pong
    round trips with random payloads of %d..%d bytes, checks every echo byte for byte and
    reports; then does the same with the other server style. Takes about a second more
    than --seconds.

    Options:
      --seconds S       total time under load, split between the two server styles
                        (default 3)
      --port PORT       port for the echo servers, one after the other; 0 for any free
                        port (default 0)
      --help            print this help

    Exits with 0 if every echo matched, 1 otherwise.
    """
        .formatted(CLIENTS, MIN_SIZE, MAX_SIZE);
  }

  /**
   * {@return the settings in {@code args}}
   *
   * @throws UsageException naming an unknown option or a bad value
   */
  static Settings parse(List<String> args) throws UsageException {
    Options options = Options.parse(args, Set.of(), Set.of("--seconds", "--port"));
    double seconds = options.decimal("--seconds", 3, 0.1, 3600);
    int port = options.intValue("--port", 0, 0, 65535);
    return new Settings(Duration.ofNanos(Math.round(seconds * 1e9)), port);
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Settings settings = parse(args);
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", settings.port());
    out.printf(
        Locale.ROOT,
        "packetconn demo: %d clients, random payloads of %d..%d bytes, every echo checked byte for"
            + " byte%n",
        CLIENTS,
        MIN_SIZE,
        MAX_SIZE);
    Duration each = settings.total().dividedBy(EchoServer.Style.values().length);
    long seed = ThreadLocalRandom.current().nextLong();
    long verified = 0;
    boolean ok = true;
    for (EchoServer.Style style : EchoServer.Style.values()) {
      out.println();
      EchoLoad.Result result = runOnce(style, address, each, seed, out, err);
      ok &= result.ok();
      verified += result.roundTrips() - result.mismatchCount();
      if (!result.ok()) {
        err.printf(Locale.ROOT, "  FAILED: %s (seed %d)%n", result.outcome(), seed);
        for (String failure : result.failures()) err.println("    " + failure);
      }
    }
    out.println();
    if (!ok) {
      out.println("FAILED: see the errors above.");
      return 1;
    }
    out.printf(Locale.ROOT, "OK: %,d echoes verified, 0 mismatches, 0 errors.%n", verified);
    return 0;
  }

  /**
   * Runs the clients for {@code duration} against a new server of {@code style} on {@code
   * address}; prints three lines to {@code out} and failed connections, if any, to {@code err}.
   *
   * @throws IOException if the server cannot listen on {@code address}, naming it
   */
  static EchoLoad.Result runOnce(
      EchoServer.Style style,
      InetSocketAddress address,
      Duration duration,
      long seed,
      PrintStream out,
      PrintStream err)
      throws IOException, InterruptedException {
    try (EchoServer server = EchoServer.start(address, PacketConfig.DEFAULT, style, err::println)) {
      out.printf(
          Locale.ROOT,
          "%s server (%s) on %s%n",
          style.label(),
          style.description(),
          Options.text(server.localAddress()));
      EchoLoad.Settings settings =
          EchoLoad.Settings.timed(
              server.localAddress(),
              PacketConfig.DEFAULT,
              CLIENTS,
              duration,
              MIN_SIZE,
              MAX_SIZE,
              seed);
      EchoLoad.Result result = EchoLoad.run(settings, roundTrips -> {});
      out.printf(
          Locale.ROOT,
          "  %d clients x ~%,d round trips = %,d packets in %.2f s: %s%n",
          CLIENTS,
          result.roundTrips() / CLIENTS,
          result.roundTrips(),
          result.elapsedNanos() / 1e9,
          result.ok() ? "all echoes verified" : "FAILED");
      out.printf(
          Locale.ROOT,
          "  %,.0f packets/s, %,.1f MiB/s; round trip p50 %s, p99 %s%n",
          result.packetsPerSecond(),
          result.mebibytesPerSecond(),
          Latencies.micros(result.latencies().percentile(50)),
          Latencies.micros(result.latencies().percentile(99)));
      return result;
    }
  }
}
