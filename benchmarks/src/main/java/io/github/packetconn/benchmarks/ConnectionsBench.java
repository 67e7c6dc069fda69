package io.github.packetconn.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code connections}: holds many idle connections to a packetconn echo server in its own JVM
 * ({@link ConnectionsServer}, pinned to CPU 0 with taskset when it can be) and reports the server's
 * heap and RSS per connection, for each handler style.
 *
 * <p>Per style: start the server; open and close {@code --warmup} connections; take the server's
 * memory ({@code memory}: heap used after a full GC, RSS); open {@code --count} connections, each
 * echoing one packet before the next batch opens; hold them for {@code --hold} while each sends an
 * 8-byte packet every {@code --interval} (spread evenly, every echo checked for connection and
 * sequence); take the memory again with the trickle still running; close everything.
 *
 * <p>The server's heap is pre-touched ({@code -XX:+AlwaysPreTouch}, with {@code -Xms} = {@code
 * -Xmx}), so its RSS does not grow with the young generation's churn: the RSS difference is what the
 * connections cost outside the Java heap. Kernel socket buffers are not in any process's RSS.
 */
final class ConnectionsBench {
  static final String USAGE =
      """
      Usage: connections [options]

      Holds many idle connections to a packetconn echo server (its own JVM) and prints its heap and
      RSS per connection, for each handler style.

      Options:
        --count N         connections to hold (default 10000)
        --styles LIST     callback,blocking (default both)
        --hold DURATION   how long to hold them with the trickle on before measuring (default 10s)
        --interval DUR    each connection sends one 8-byte packet this often (default 1s)
        --warmup N        connections opened and closed before the baseline (default 1000)
      """;

  private static final int BATCH = 500; // Connections opened before waiting for their echoes.
  private static final int FRAME = 12; // u32 length 8 | int connection | int sequence.
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final int count;
  private final List<String> styles;
  private final Duration hold;
  private final Duration interval;
  private final int warmup;
  private final PrintStream out;
  private final PrintStream err;

  private ConnectionsBench(
      int count, List<String> styles, Duration hold, Duration interval, int warmup, PrintStream out,
      PrintStream err) {
    this.count = count;
    this.styles = styles;
    this.hold = hold;
    this.interval = interval;
    this.warmup = warmup;
    this.out = out;
    this.err = err;
  }

  /** Parses {@code args} and runs; returns the exit status (2 for a bad command line). */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.contains("--help") || args.contains("-h")) {
      out.print(USAGE);
      return 0;
    }
    int count = 10_000;
    int warmup = 1_000;
    List<String> styles = List.of("callback", "blocking");
    Duration hold = Duration.ofSeconds(10);
    Duration interval = Duration.ofSeconds(1);
    try {
      for (int i = 0; i < args.size(); i++) {
        String arg = args.get(i);
        if (i + 1 == args.size()) throw new UsageException("missing value after " + arg);
        String value = args.get(++i);
        switch (arg) {
          case "--count" -> count = positive(arg, value);
          case "--warmup" -> warmup = positive(arg, value);
          case "--styles" -> {
            styles = List.of(value.split(","));
            for (String s : styles) {
              if (!s.equals("callback") && !s.equals("blocking")) {
                throw new UsageException("unknown style " + s + ", expected callback or blocking");
              }
            }
          }
          case "--hold" -> hold = duration(arg, value);
          case "--interval" -> interval = duration(arg, value);
          default -> throw new UsageException("unknown option " + arg);
        }
      }
    } catch (UsageException e) {
      err.println("connections: " + e.getMessage());
      err.println();
      err.print(USAGE);
      return 2;
    }
    try {
      return new ConnectionsBench(count, styles, hold, interval, warmup, out, err).run();
    } catch (IOException e) {
      err.println("connections: " + e.getMessage());
      return 1;
    }
  }

  private int run() throws IOException {
    List<String> pin = pinning();
    List<String> rows = new ArrayList<>();
    int failed = 0;
    for (String style : styles) {
      Result r = measure(style, pin);
      if (r.errors > 0) failed++;
      rows.add(
          String.format(
              ROW, style, String.format("%,d", count), mibText(r.before.heap), mibText(r.after.heap),
              String.format("%,d B", (r.after.heap - r.before.heap) / count), mibText(r.before.rss),
              mibText(r.after.rss), String.format("%,d B", (r.after.rss - r.before.rss) / count),
              String.format("%,d", r.echoes), String.format("%,d", r.errors)));
    }
    out.println();
    out.printf(
        "%,d idle connections, each sending 8 bytes every %s ms, every echo checked; server: %s%n",
        count, interval.toMillis(), String.join(" ", Bench.SERVER_JVM_FLAGS) + " -XX:+AlwaysPreTouch");
    out.println();
    out.printf(ROW, "style", "connections", "heap before", "heap after", "heap/conn", "RSS before",
        "RSS after", "RSS/conn", "echoes", "errors");
    out.println("|----------|------------:|------------:|------------:|----------:|------------:|------------:|----------:|----------:|-------:|");
    rows.forEach(out::print);
    return failed > 0 ? 1 : 0;
  }

  private record Memory(long heap, long rss, int connections) {}

  private record Result(Memory before, Memory after, long echoes, long errors) {}

  private Result measure(String style, List<String> pin) throws IOException {
    List<String> command = new ArrayList<>(pin);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(Bench.SERVER_JVM_FLAGS);
    command.add("-XX:+AlwaysPreTouch");
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), ConnectionsServer.class.getName(), "--style", style));
    Process process = new ProcessBuilder(command).start();
    try {
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread.ofPlatform().daemon().name(style + "-stdout").start(() -> pump(process.getInputStream(), lines, null));
      Thread.ofPlatform().daemon().name(style + "-stderr").start(() -> pump(process.getErrorStream(), null, style));
      String ready = next(lines, "READY");
      InetSocketAddress address = new InetSocketAddress("127.0.0.1", Integer.parseInt(ready.substring(6).strip()));
      OutputStream commands = process.getOutputStream();
      out.printf("%s: server pid %d on port %d%n", style, process.pid(), address.getPort());

      try (Clients warm = new Clients(address, warmup)) {
        warm.open(lines);
      }
      Memory before;
      long deadline = System.nanoTime() + WAIT.toNanos();
      do { // Until the server has seen the warm-up connections go.
        before = memory(commands, lines);
      } while (before.connections != 0 && System.nanoTime() - deadline < 0);
      out.printf("%s: baseline heap %.1f MiB, RSS %.1f MiB%n", style, mib(before.heap), mib(before.rss));

      try (Clients clients = new Clients(address, count)) {
        long start = System.nanoTime();
        clients.open(lines);
        out.printf("%s: %,d connections open in %d ms; holding %d s%n", style, count,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), hold.toSeconds());
        clients.trickle(hold, null, null);
        send(commands, "memory");
        String reply = clients.trickle(WAIT, lines, "MEMORY");
        Memory after = parse(reply);
        if (after.connections != count) {
          err.printf("%s: the server holds %d connections, expected %d%n", style, after.connections, count);
        }
        out.printf("%s: %,d echoes checked, %d errors; heap %.1f MiB, RSS %.1f MiB%n", style,
            clients.echoes, clients.errors, mib(after.heap), mib(after.rss));
        return new Result(before, after, clients.echoes, clients.errors + (after.connections != count ? 1 : 0));
      }
    } finally {
      try {
        send(process.getOutputStream(), "quit");
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
      } catch (IOException | InterruptedException e) {
        process.destroyForcibly();
      }
    }
  }

  /**
   * Raw non-blocking clients on one selector, driven by the calling thread: no packetconn on this
   * side, so the server is all that is measured.
   */
  private final class Clients implements AutoCloseable {
    final InetSocketAddress address;
    final SocketChannel[] channels;
    final int[] sent; // Next sequence number to send, per connection.
    final int[] echoed; // Next sequence number expected back.
    final ByteBuffer[] partial; // Bytes of an echo read so far.
    final Selector selector = Selector.open();
    final ByteBuffer frame = ByteBuffer.allocate(FRAME).order(ByteOrder.LITTLE_ENDIAN);
    long echoes;
    long errors;

    Clients(InetSocketAddress address, int n) throws IOException {
      this.address = address;
      channels = new SocketChannel[n];
      sent = new int[n];
      echoed = new int[n];
      partial = new ByteBuffer[n];
    }

    /** Opens every connection in batches; each sends packet 0 and has it echoed before the next batch. */
    void open(BlockingQueue<String> lines) throws IOException {
      for (int from = 0; from < channels.length; from += BATCH) {
        int to = Math.min(channels.length, from + BATCH);
        for (int i = from; i < to; i++) {
          SocketChannel channel = SocketChannel.open(address);
          channels[i] = channel;
          channel.configureBlocking(false);
          channel.register(selector, SelectionKey.OP_READ, i);
          partial[i] = ByteBuffer.allocate(FRAME).order(ByteOrder.LITTLE_ENDIAN);
          send(i);
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (int i = from; i < to; i++) {
          while (echoed[i] == 0) {
            if (System.nanoTime() - deadline > 0) throw new IOException("connection " + i + ": no echo in " + WAIT);
            select(100);
          }
        }
      }
    }

    /**
     * Sends each connection a packet every interval, spread evenly, and checks the echoes, for
     * {@code duration} or until {@code lines} has a line starting with {@code prefix}; returns it.
     */
    String trickle(Duration duration, BlockingQueue<String> lines, String prefix) throws IOException {
      long start = System.nanoTime();
      long end = start + duration.toNanos();
      long period = interval.toNanos();
      long due = 0; // Sends so far; send k is due at start + k * period / n.
      int n = channels.length;
      while (System.nanoTime() - end < 0) {
        long elapsed = System.nanoTime() - start;
        long target = (long) ((double) elapsed / period * n);
        for (; due < target; due++) send((int) (due % n));
        select(10);
        if (lines != null) {
          for (String line; (line = lines.poll()) != null; ) {
            if (line.startsWith(prefix)) return line;
          }
        }
      }
      if (lines != null) throw new IOException("no " + prefix + " line in " + duration);
      return null;
    }

    private void send(int i) throws IOException {
      frame.clear().putInt(8).putInt(i).putInt(sent[i]++).flip();
      int n = channels[i].write(frame);
      if (n != FRAME) throw new IOException("connection " + i + ": wrote " + n + " of " + FRAME + " bytes");
    }

    private void select(long millis) throws IOException {
      selector.select(
          key -> {
            int i = (Integer) key.attachment();
            ByteBuffer in = partial[i];
            try {
              while (true) {
                int n = channels[i].read(in);
                if (n < 0) {
                  errors++;
                  err.println("connection " + i + ": the server closed it");
                  key.cancel();
                  return;
                }
                if (in.hasRemaining()) return;
                in.flip();
                int length = in.getInt();
                int id = in.getInt();
                int seq = in.getInt();
                in.clear();
                if (length != 8 || id != i || seq != echoed[i]) {
                  if (errors++ < 10) {
                    err.printf("connection %d: echo length=%d id=%d seq=%d, expected 8 %d %d%n", i, length, id, seq, i, echoed[i]);
                  }
                }
                echoed[i] = seq + 1;
                echoes++;
              }
            } catch (IOException e) {
              errors++;
              err.println("connection " + i + ": " + e);
              key.cancel();
            }
          },
          millis);
    }

    @Override
    public void close() throws IOException {
      for (SocketChannel channel : channels) {
        if (channel != null) channel.close();
      }
      selector.close();
    }
  }

  private Memory memory(OutputStream commands, BlockingQueue<String> lines) throws IOException {
    send(commands, "memory");
    return parse(next(lines, "MEMORY"));
  }

  private static Memory parse(String line) {
    long heap = 0;
    long rss = 0;
    int connections = 0;
    for (String field : line.split(" ")) {
      if (field.startsWith("heap=")) heap = Long.parseLong(field.substring(5));
      if (field.startsWith("rss=")) rss = Long.parseLong(field.substring(4));
      if (field.startsWith("connections=")) connections = Integer.parseInt(field.substring(12));
    }
    return new Memory(heap, rss, connections);
  }

  private static void send(OutputStream commands, String command) throws IOException {
    commands.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
    commands.flush();
  }

  private static String next(BlockingQueue<String> lines, String prefix) throws IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    try {
      while (true) {
        String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) throw new IOException("the server printed no " + prefix + " line in " + WAIT);
        if (line.equals("\0EOF")) throw new IOException("the server exited before printing " + prefix);
        if (line.startsWith(prefix)) return line;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }

  /** Copies lines of {@code stream} to {@code lines}, or to stderr prefixed with {@code name}. */
  private void pump(InputStream stream, BlockingQueue<String> lines, String name) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (lines != null) {
          lines.add(line);
        } else {
          err.println("[" + name + "] " + line);
        }
      }
    } catch (IOException e) {
      err.println("[" + name + "] " + e);
    }
    if (lines != null) lines.add("\0EOF");
  }

  /** {@return taskset -c 0 when there is taskset and two CPUs or more, saying so} */
  private List<String> pinning() {
    boolean taskset = false;
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Path.of(dir, "taskset").toFile().canExecute()) taskset = true;
    }
    if (taskset && Machine.current().cpus() >= 2) {
      out.println("pinning: server on CPU 0 (taskset -c 0); this harness on CPUs " + Machine.current().allowedCpus());
      return List.of("taskset", "-c", "0");
    }
    out.println("pinning: none");
    return List.of();
  }

  private static final String ROW =
      "| %-8s | %11s | %11s | %11s | %9s | %11s | %11s | %9s | %9s | %6s |%n";

  private static String mibText(long bytes) {
    return String.format("%,.1f MiB", mib(bytes));
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  private static int positive(String option, String value) throws UsageException {
    try {
      int n = Integer.parseInt(value.replace("_", "").replace(",", ""));
      if (n > 0) return n;
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new UsageException(option + " must be a positive number: " + value);
  }

  private static Duration duration(String option, String value) throws UsageException {
    try {
      if (value.endsWith("ms")) return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
      if (value.endsWith("s")) return Duration.ofMillis((long) (Double.parseDouble(value.substring(0, value.length() - 1)) * 1000));
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new UsageException(option + " must be a duration like 10s or 500ms: " + value);
  }
}
