package io.github.packetconn.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs one echo server under test in this JVM, driven by the bench harness over stdin and stdout.
 *
 * <pre>
 * java -cp packetconn-benchmarks.jar io.github.packetconn.benchmarks.ServerMain \
 *     --kind packetconn-callback|packetconn-blocking|virtual-threads|netty|raw
 *            |packetconn-callback-tls|netty-tls
 *     [--port 0] [--host 127.0.0.1]
 *     [--unix /tmp/echo.sock]
 *     [--mode echo|fanout]
 * </pre>
 *
 * <p>With {@code --unix}, the server listens on that Unix domain socket instead of a TCP port. With
 * {@code --mode fanout} it is the kind's fan-out server instead of its echo ({@link Fanout}: {@code
 * packetconn-callback} and {@code netty}, over TCP).
 *
 * <p>Protocol: once listening, prints {@code READY <port>} (or {@code READY <path>} with {@code
 * --unix}). Then reads commands from stdin, one a
 * line: {@code stats} prints a {@link JvmStats} line ({@code STATS allocatedBytes=.. gcCount=..
 * gcTimeMs=.. oldGcCount=.. cpuNanos=..}, cumulative since the JVM started); {@code quit}, or the end of stdin,
 * closes the server and exits with status 0. Nothing else is written to stdout; diagnostics go to
 * stderr.
 */
public final class ServerMain {
  /**
   * The values of {@code --kind} over TCP or a Unix domain socket. {@code virtual-threads} is the
   * echo a developer writes by hand with the JDK ({@link VirtualThreadEchoServer}), the yardstick
   * for {@code packetconn-blocking}.
   */
  public static final List<String> KINDS =
      List.of("packetconn-callback", "packetconn-blocking", "virtual-threads", "netty", "raw");

  /**
   * The values of {@code --kind} that speak TLS ({@link BenchTls}'s key): packetconn's callback
   * style and Netty with an {@code SslHandler}. No Unix socket twins.
   */
  public static final List<String> TLS_KINDS = List.of("packetconn-callback-tls", "netty-tls");

  /**
   * Kinds that run only when named in {@code --servers}, to compare designs in one run: {@code
   * packetconn-blocking-loop} is the blocking style on the I/O threads, as before its connections
   * owned their sockets ({@code -Dpacketconn.blockingTransport=loop}); {@code
   * packetconn-blocking-timed} the blocking style receiving with a timeout, {@code
   * receive(Duration)}, which the README prices against {@code receive()}.
   */
  public static final List<String> COMPARISON_KINDS =
      List.of("packetconn-blocking-loop", "packetconn-blocking-timed");

  /** Appended to a kind, names that server on a Unix domain socket in the bench: {@code netty-unix}. */
  static final String UNIX_SUFFIX = "-unix";

  /** The values of {@code --mode}: the echo (the default), or the fan-out ({@link Fanout}). */
  static final List<String> MODES = List.of("echo", "fanout");

  private ServerMain() {}

  public static void main(String[] args) {
    String kind = null;
    String host = "127.0.0.1";
    int port = 0;
    Path unix = null;
    String mode = "echo";
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--help") || arg.equals("-h")) {
        System.err.println("usage: ServerMain --kind " + String.join("|", KINDS) + "|" + String.join("|", TLS_KINDS)
            + " [--port 0] [--host 127.0.0.1] [--unix PATH] [--mode echo|fanout]");
        System.exit(0);
      }
      if (i + 1 == args.length) fail("missing value after " + arg);
      String value = args[++i];
      switch (arg) {
        case "--kind" -> kind = value;
        case "--host" -> host = value;
        case "--port" -> port = parsePort(value);
        case "--unix" -> unix = Path.of(value);
        case "--mode" -> mode = value;
        default -> fail("unknown option " + arg + "; try --help");
      }
    }
    if (kind == null) fail("missing --kind, one of " + KINDS);
    if (!KINDS.contains(kind) && !TLS_KINDS.contains(kind) && !COMPARISON_KINDS.contains(kind)) {
      fail("unknown --kind " + kind + ", expected one of " + KINDS + ", " + TLS_KINDS + " or " + COMPARISON_KINDS);
    }
    if (!MODES.contains(mode)) fail("unknown --mode " + mode + ", expected one of " + MODES);
    boolean fanout = mode.equals("fanout");
    if (fanout && !Fanout.KINDS.contains(kind)) {
      fail("--kind " + kind + " has no fan-out server; --mode fanout takes one of " + Fanout.KINDS);
    }
    if (fanout && unix != null) fail("--mode fanout listens on TCP only, not --unix " + unix);

    SocketAddress address =
        unix != null ? UnixDomainSocketAddress.of(unix) : new InetSocketAddress(host, port);
    String where = unix != null ? unix.toString() : host + ":" + port;
    EchoServer server = null;
    try {
      server = fanout ? Fanout.start(kind, address) : start(kind, address);
    } catch (Exception e) {
      System.err.println("cannot start " + kind + " on " + where + ": " + e);
      e.printStackTrace();
      System.exit(1);
    }
    String bound = unix != null ? unix.toString() : Integer.toString(server.port());
    System.err.println(kind + (fanout ? " fan-out" : "") + ": listening on "
        + (unix != null ? bound : host + ":" + bound) + "; " + environment());
    System.out.println("READY " + bound);
    System.out.flush();

    int status = 0;
    try {
      serveCommands();
    } catch (IOException e) {
      System.err.println(kind + ": reading stdin failed, quitting: " + e);
    }
    try {
      server.close();
    } catch (IOException | RuntimeException e) {
      System.err.println(kind + ": close failed: " + e);
      status = 1;
    }
    System.exit(status); // Also ends any thread a server left behind.
  }

  /** Starts the server of {@code kind} on {@code address}. */
  static EchoServer start(String kind, SocketAddress address) throws Exception {
    return switch (kind) {
      case "packetconn-callback" -> PacketconnEchoServer.callback(address);
      case "packetconn-blocking" -> PacketconnEchoServer.blocking(address);
      case "packetconn-blocking-loop" -> {
        System.setProperty("packetconn.blockingTransport", "loop"); // Before packetconn reads it.
        yield PacketconnEchoServer.blocking(address);
      }
      case "packetconn-blocking-timed" -> PacketconnEchoServer.blockingTimed(address);
      case "virtual-threads" -> new VirtualThreadEchoServer(address);
      case "netty" -> NettyEchoServer.start(address);
      case "raw" -> new RawEchoServer(address);
      case "packetconn-callback-tls" -> PacketconnEchoServer.callbackTls(address);
      case "netty-tls" -> NettyEchoServer.tls(address);
      default -> throw new IllegalArgumentException("unknown kind " + kind + ", expected one of " + KINDS);
    };
  }

  /** Answers commands until {@code quit} or the end of stdin. */
  private static void serveCommands() throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      switch (line.strip()) {
        case "stats" -> {
          System.out.println(JvmStats.capture().toLine());
          System.out.flush();
        }
        case "quit" -> {
          return;
        }
        case "" -> {}
        default -> System.err.println("unknown command \"" + line + "\"; expected stats or quit");
      }
    }
  }

  /** {@return the settings that shape a run, for the log} */
  private static String environment() {
    StringBuilder s = new StringBuilder()
        .append("java ").append(Runtime.version())
        .append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cpus")
        .append(", max heap ").append(Runtime.getRuntime().maxMemory() >> 20).append(" MiB")
        .append(", gc");
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      s.append(" [").append(gc.getName()).append(']');
    }
    String ioThreads = System.getProperty("packetconn.ioThreads");
    if (ioThreads != null) s.append(", packetconn.ioThreads=").append(ioThreads);
    return s.toString();
  }

  private static int parsePort(String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) return port;
    } catch (NumberFormatException e) {
      // Reported below.
    }
    fail("--port must be 0 to 65535: " + value);
    return -1;
  }

  private static void fail(String message) {
    System.err.println("ServerMain: " + message);
    System.exit(2);
  }
}
