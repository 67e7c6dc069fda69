package io.github.packetconn.cli;

import io.github.packetconn.PacketConfig;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code packetconn echo-client}: loads an echo server with strict ping-pong clients, checks every
 * echo and reports throughput and round-trip percentiles.
 */
final class EchoClientCommand implements Command {
  private static final Set<String> FLAGS = Set.of("--crc");
  private static final Set<String> VALUED =
      Set.of("--host", "--port", "--clients", "--packets", "--min", "--max", "--seed");

  @Override
  public String name() {
    return "echo-client";
  }

  @Override
  public String summary() {
    return "load an echo server with ping-pong clients and check every echo";
  }

  @Override
  public String usage() {
    return """
    Usage: packetconn echo-client [options]

    Opens N connections to an echo server, each on its own virtual thread doing M strict
    ping-pong round trips with random payloads, and checks every echo byte for byte. Prints
    progress each second, then throughput and round-trip percentiles.

    Options:
      --host HOST       server address (default 127.0.0.1)
      --port PORT       server port (default 14572)
      --clients N       connections (default 10)
      --packets M       round trips per connection (default 1000)
      --min BYTES       smallest payload (default 0)
      --max BYTES       largest payload (default 2048)
      --crc             send a CRC-32 after every frame (the server must agree)
      --seed S          seed for payload sizes and bytes (default: random, printed)
      --help            print this help

    Exits with 0 if every echo matched, 1 on any mismatch or error, 2 on a bad command line.
    """;
  }

  /**
   * {@return the workload in {@code args}}
   *
   * @throws UsageException naming an unknown option or a bad value
   */
  static EchoLoad.Settings parse(List<String> args) throws UsageException {
    Options options = Options.parse(args, FLAGS, VALUED);
    int port = options.intValue("--port", 14572, 1, 65535);
    int clients = options.intValue("--clients", 10, 1, 100_000);
    long packets = options.longValue("--packets", 1000, 1, 1_000_000_000);
    PacketConfig config = PacketConfig.builder().crc(options.flag("--crc")).build();
    int min = options.intValue("--min", 0, 0, config.maxPacketSize());
    int max = options.intValue("--max", 2048, 0, config.maxPacketSize());
    if (min > max) throw new UsageException("--min(" + min + ") > --max(" + max + ")");
    long seed =
        options.longValue(
            "--seed", ThreadLocalRandom.current().nextLong(), Long.MIN_VALUE, Long.MAX_VALUE);
    return EchoLoad.Settings.counted(
        Options.address(options.string("--host", "127.0.0.1"), port),
        config,
        clients,
        packets,
        min,
        max,
        seed);
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    EchoLoad.Settings settings = parse(args);
    out.printf(
        Locale.ROOT,
        "echo-client: %,d %s x %,d round trips to %s, payloads of %,d..%,d bytes, CRC %s,"
            + " seed %d%n",
        settings.clients(),
        settings.clients() == 1 ? "client" : "clients",
        settings.packets(),
        Options.text(settings.address()),
        settings.minSize(),
        settings.maxSize(),
        settings.config().crc() ? "on" : "off",
        settings.seed());
    long total = settings.clients() * settings.packets();
    long[] seconds = {0};
    EchoLoad.Result result =
        EchoLoad.run(
            settings,
            done ->
                out.printf(
                    Locale.ROOT, "%5d s  %,d of %,d round trips%n", ++seconds[0], done, total));
    report(result, out);
    if (result.ok()) {
      out.printf(
          Locale.ROOT,
          "verified:    all %,d echoes matched byte for byte; 0 mismatches, 0 errors%n",
          result.roundTrips());
      return 0;
    }
    err.printf(Locale.ROOT, "FAILED: %s (seed %d)%n", result.outcome(), settings.seed());
    for (String failure : result.failures()) err.println("  " + failure);
    return 1;
  }

  private static void report(EchoLoad.Result result, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "round trips: %,d in %.2f s, %,.1f MiB of payload each way%n",
        result.roundTrips(),
        result.elapsedNanos() / 1e9,
        result.payloadBytes() / (double) (1 << 20));
    out.printf(
        Locale.ROOT,
        "throughput:  %,.0f packets/s, %,.1f MiB/s%n",
        result.packetsPerSecond(),
        result.mebibytesPerSecond());
    out.printf(Locale.ROOT, "round trip:  %s%n", result.latencies().describe(50, 90, 99, 99.9));
  }
}
