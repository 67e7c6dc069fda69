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
 * second and the average so far, as go-packetconn's test server does.
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
    return "run an echo server, printing packets per second";
  }

  @Override
  public String usage() {
    return """
    Usage: packetconn echo-server [options]

    Sends every packet back to its sender until Ctrl-C. Prints, once a second, the packets
    echoed in that second and the average over the seconds with traffic.

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
    Meter meter = new Meter(server, out, System.nanoTime());
    Runtime.getRuntime().addShutdownHook(new Thread(meter::stop, "echo-server-shutdown"));
    meter.printEverySecond();
    return 0;
  }

  /** Counts seconds and prints the rates; shared by the printing loop and the shutdown hook. */
  private static final class Meter {
    private final EchoServer server;
    private final PrintStream out;
    private final long start;
    private long lastTotal; // Guarded by this.
    private long lastAllocated = allocated(); // Guarded by this: bytes the JVM's threads allocated.
    private long activeSeconds; // Guarded by this: seconds in which at least one packet was echoed.
    private boolean stopped; // Guarded by this.

    Meter(EchoServer server, PrintStream out, long start) {
      this.server = server;
      this.out = out;
      this.start = start;
    }

    /** Prints a line each second until the server is closed. */
    void printEverySecond() throws InterruptedException {
      CompletableFuture<Void> closed = server.closeFuture();
      for (long next = start + SECOND; ; next += SECOND) {
        try {
          closed.get(next - System.nanoTime(), TimeUnit.NANOSECONDS);
          return;
        } catch (TimeoutException e) {
          tick();
        } catch (ExecutionException e) {
          return; // Closed all the same.
        }
      }
    }

    private synchronized void tick() {
      if (stopped) return;
      long total = server.echoed();
      long inSecond = total - lastTotal;
      lastTotal = total;
      if (inSecond > 0) activeSeconds++;
      long allocated = allocated();
      long perPacket = inSecond == 0 ? 0 : (allocated - lastAllocated) / inSecond;
      lastAllocated = allocated;
      long second = (System.nanoTime() - start + SECOND / 2) / SECOND;
      out.printf(
          Locale.ROOT,
          "%5d s  %,12d packets/s  average %,12d/s  %,6d connections  %,6d B allocated/packet%n",
          second,
          inSecond,
          average(total),
          server.connections(),
          perPacket);
    }

    /** Closes the server and prints the summary: the shutdown hook, run on Ctrl-C. */
    synchronized void stop() {
      stopped = true;
      String failure = "";
      try {
        server.close();
      } catch (IOException e) {
        failure = " (" + e + ")";
      }
      long total = server.echoed();
      double seconds = (System.nanoTime() - start) / 1e9;
      out.printf(
          Locale.ROOT,
          "echo-server stopped after %.1f s: %,d packets echoed, average %,d/s over %d s%s%n",
          seconds,
          total,
          average(total),
          activeSeconds,
          failure);
      out.flush();
    }

    /** {@return the bytes allocated so far by all threads of this JVM, or 0 if unknown} */
    private static long allocated() {
      return java.lang.management.ManagementFactory.getThreadMXBean()
              instanceof com.sun.management.ThreadMXBean threads
          ? Math.max(0, threads.getTotalThreadAllocatedBytes())
          : 0;
    }

    private long average(long total) {
      return activeSeconds == 0 ? 0 : total / activeSeconds;
    }
  }
}
