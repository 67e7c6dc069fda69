package io.github.packetconn.cli;

import io.github.packetconn.PacketConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code packetconn echo-server}: echoes packets until Ctrl-C, printing the packets handled each
 * second with traffic and the average so far, as go-packetconn's test server does, and one line
 * when the traffic stops.
 */
final class EchoServerCommand implements Command {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /** The parsed command line. */
  record Settings(InetSocketAddress address, PacketConfig config, EchoServer.Style style) {}

  @Override
  public String name() {
    return "echo-server";
  }

  @Override
  public String summary() {
    return "run an echo server until Ctrl-C, printing packets per second while busy";
  }

  @Override
  public String usage() {
    return """
    Usage: packetconn echo-server [options]

    Sends every packet back to its sender until Ctrl-C. While packets flow it prints, once a
    second, the packets echoed in that second and the average over the seconds with traffic;
    when they stop, one line, and nothing more until they start again.

    Options:
      --host HOST       address to listen on (default 127.0.0.1)
      --port PORT       port to listen on, 0 for any free port (default 14572)
      --crc             expect a CRC-32 after every frame (clients must agree)
      --style STYLE     callback: a PacketHandler on the I/O threads (default)
                        blocking: a ConnectionHandler, a virtual thread per connection
      --help            print this help
    """;
  }

  /**
   * {@return the settings in {@code args}}
   *
   * @throws UsageException naming an unknown option or a bad value
   */
  static Settings parse(List<String> args) throws UsageException {
    Options options = Options.parse(args, Set.of("--crc"), Set.of("--host", "--port", "--style"));
    int port = options.intValue("--port", 14572, 0, 65535);
    EchoServer.Style style = options.choice("--style", EchoServer.Style.CALLBACK);
    PacketConfig config = PacketConfig.builder().crc(options.flag("--crc")).build();
    return new Settings(
        Options.address(options.string("--host", "127.0.0.1"), port), config, style);
  }

  @Override
  public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
    Settings settings = parse(args);
    EchoServer server =
        EchoServer.start(settings.address(), settings.config(), settings.style(), err::println);
    out.printf(
        Locale.ROOT,
        "echo-server listening on %s (%s style: %s, CRC %s); Ctrl-C stops%n",
        Options.text(server.localAddress()),
        settings.style().label(),
        settings.style().description(),
        settings.config().crc() ? "on" : "off");
    long start = System.nanoTime();
    Meter meter = new Meter(out, allocated());
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  String failure = "";
                  try {
                    server.close();
                  } catch (IOException e) {
                    failure = " (" + e + ")";
                  }
                  meter.stop(System.nanoTime() - start, server.echoed(), failure);
                },
                "echo-server-shutdown"));
    CompletableFuture<Void> closed = server.closeFuture();
    for (long second = 1; ; second++) {
      try {
        closed.get(start + second * SECOND - System.nanoTime(), TimeUnit.NANOSECONDS);
        return 0;
      } catch (TimeoutException e) {
        meter.second(second, server.echoed(), server.connections(), allocated());
      } catch (ExecutionException e) {
        return 0; // Closed all the same.
      }
    }
  }

  /** {@return the bytes allocated so far by all threads of this JVM, or 0 if unknown} */
  private static long allocated() {
    return java.lang.management.ManagementFactory.getThreadMXBean()
            instanceof com.sun.management.ThreadMXBean threads
        ? Math.max(0, threads.getTotalThreadAllocatedBytes())
        : 0;
  }

  /**
   * Turns the server's counters, read once a second, into lines: one per second with traffic, one
   * when the traffic stops, none while the server is idle, and a summary at the end.
   *
   * <p>The printing loop and the shutdown hook share it: its methods are synchronized.
   */
  static final class Meter {
    private final PrintStream out;
    private long lastTotal; // Guarded by this: packets echoed at the last second.
    private long lastAllocated; // Guarded by this: bytes the JVM had allocated then.
    private long activeSeconds; // Guarded by this: seconds in which at least one packet was echoed.
    private boolean busy; // Guarded by this: whether the last second had traffic.
    private boolean stopped; // Guarded by this.

    /** Starts at second 0, with no packets echoed and {@code allocated} bytes allocated. */
    Meter(PrintStream out, long allocated) {
      this.out = out;
      this.lastAllocated = allocated;
    }

    /**
     * Records the counters at the end of second {@code second}: {@code total} packets echoed so
     * far, {@code connections} open, {@code allocated} bytes allocated by the JVM so far.
     */
    synchronized void second(long second, long total, int connections, long allocated) {
      if (stopped) return;
      long inSecond = total - lastTotal;
      long allocatedInSecond = allocated - lastAllocated;
      lastTotal = total;
      lastAllocated = allocated;
      if (inSecond > 0) {
        busy = true;
        activeSeconds++;
        out.printf(
            Locale.ROOT,
            "%5d s  %,12d packets/s  average %,12d/s  %,6d connections  %,6d B allocated/packet%n",
            second,
            inSecond,
            average(total),
            connections,
            allocatedInSecond / inSecond);
      } else if (busy) {
        busy = false;
        out.printf(
            Locale.ROOT,
            "%5d s  idle: %,d packets echoed so far, average %,d/s over %d s; %,d connections%n",
            second,
            total,
            average(total),
            activeSeconds,
            connections);
      }
    }

    /**
     * Prints the summary, {@code failure} appended, and stops {@link #second} from printing: the
     * shutdown hook, run on Ctrl-C, after the server has closed.
     */
    synchronized void stop(long elapsedNanos, long total, String failure) {
      stopped = true;
      out.printf(
          Locale.ROOT,
          "echo-server stopped after %.1f s: %,d packets echoed, average %,d/s over %d s%s%n",
          elapsedNanos / 1e9,
          total,
          average(total),
          activeSeconds,
          failure);
      out.flush();
    }

    private long average(long total) {
      return activeSeconds == 0 ? 0 : total / activeSeconds;
    }
  }
}
