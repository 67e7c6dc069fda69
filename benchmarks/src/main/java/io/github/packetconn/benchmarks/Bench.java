package io.github.packetconn.benchmarks;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The bench: every workload against every server, each server in a fresh JVM of its own ({@link
 * ServerMain}, pinned to CPU 0 with {@code taskset} when there are two CPUs or more) and the {@link
 * LoadGenerator} in this JVM, which should run on CPU 1. Prints a live line a second and summary
 * tables ({@link BenchTable}), writes {@code bench.json}, {@code bench.md} and the charts ({@link
 * BenchChart}).
 *
 * <pre>{@code
 * int status = new Bench(BenchOptions.parse(args), System.out, System.err, true).run();
 * }</pre>
 *
 * <p>Every server gets the same JVM: {@link #SERVER_JVM_FLAGS}. Its allocation, GC and CPU time
 * counters ({@link JvmStats}) are read at the start and the end of the measured period, so they
 * cover exactly what the generator measured.
 */
final class Bench {
  /** JVM flags of every server: the same heap and collector for all. */
  static final List<String> SERVER_JVM_FLAGS = serverJvmFlags();

  private final BenchOptions options;
  private final PrintStream out;
  private final PrintStream err;
  private final boolean pinSelf;

  /**
   * Creates a bench.
   *
   * @param pinSelf whether this JVM pins itself to CPU 1 when it finds itself unpinned
   */
  Bench(BenchOptions options, PrintStream out, PrintStream err, boolean pinSelf) {
    this.options = options;
    this.out = out;
    this.err = err;
    this.pinSelf = pinSelf;
  }

  /**
   * Runs the bench, or draws the reports of {@code options.from()} again; returns the exit status,
   * 1 if any run had errors.
   */
  int run() throws IOException {
    if (options.from() != null) return redraw();
    Machine machine = Machine.current();
    out.println(
        "machine: " + machine.cpuModel() + ", " + machine.cpus() + " CPUs, " + machine.kernel());
    out.println("java: " + machine.java());
    List<String> pinning = pinning(machine);
    if (!boxCacheCoversDescriptors()) {
      out.println(
          "note: the JDK's epoll selector boxes each ready file descriptor above 127 (16 B on the"
              + " generator's thread");
      out.println(
          "per ready socket); run with -XX:AutoBoxCacheMax=65536 to make the generator"
              + " allocation-free");
    }
    List<BenchRun> runs = new ArrayList<>();
    for (Workload standard : options.workloads()) {
      Workload workload = standard.scaled(options.scale());
      for (String server : options.servers()) {
        if (BenchOptions.runs(server, workload)) runs.add(run(workload, server, pinning));
      }
    }
    for (String note : skipNotes(options)) {
      out.println(Format.wrap("note: " + note, BenchTable.TEXT_WIDTH, "  "));
    }
    Path dir = options.out();
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("bench.json"), BenchJson.write(machine, options, runs));
    Files.writeString(
        dir.resolve("bench.md"), markdown(machine, options, runs), StandardCharsets.UTF_8);
    return report(machine, options, runs, List.of("bench.json", "bench.md"));
  }

  /** {@return what some servers of {@code options} did not run, one sentence a reason} */
  static List<String> skipNotes(BenchOptions options) {
    List<String> notes = new ArrayList<>();
    List<String> fanouts =
        options.workloads().stream().filter(Workload::fanout).map(Workload::name).toList();
    if (!fanouts.isEmpty() && !Fanout.KINDS.containsAll(options.servers())) {
      notes.add(
          String.join(", ", fanouts) + " ran only on " + String.join(", ", Fanout.KINDS)
              + ", over TCP");
    }
    List<String> tls =
        options.servers().stream()
            .filter(ServerMain.TLS_KINDS::contains)
            .filter(
                server ->
                    options.workloads().stream()
                        .anyMatch(w -> !w.fanout() && !BenchOptions.runs(server, w)))
            .toList();
    if (!tls.isEmpty()) {
      notes.add(
          String.join(", ", tls)
              + " ran only "
              + String.join(
                  ", ", BenchOptions.TLS_WORKLOADS.stream().map(Workload::name).toList()));
    }
    return notes;
  }

  /** Prints the tables of the bench.json {@code options.from()} and draws its charts. */
  private int redraw() throws IOException {
    BenchJson.Results results;
    try {
      results = BenchJson.read(Files.readString(options.from()), options.out());
    } catch (NoSuchFileException e) {
      err.println("bench: --from: no such file: " + options.from());
      return 1;
    } catch (IllegalArgumentException | ClassCastException e) {
      err.println("bench: " + options.from() + " is not a bench.json: " + e.getMessage());
      return 1;
    }
    Machine machine = results.machine();
    out.println("bench of " + machine.date() + ", read from " + options.from());
    out.println(
        "machine: " + machine.cpuModel() + ", " + machine.cpus() + " CPUs, " + machine.kernel());
    out.println("java: " + machine.java());
    Files.createDirectories(options.out());
    return report(machine, results.options(), results.runs(), List.of());
  }

  /**
   * Prints the tables, the generator's summary and the errors, and draws the charts into {@code
   * options.out()}; {@code written} names the files written there already.
   *
   * @return the exit status: 1 if a run had errors or the charts could not be drawn
   */
  private int report(
      Machine machine, BenchOptions options, List<BenchRun> runs, List<String> written) {
    List<Workload> workloads =
        options.workloads().stream().map(w -> w.scaled(options.scale())).toList();
    BenchTable table = new BenchTable(runs, options.servers(), workloads);
    out.println();
    out.println(
        "Throughput: packets echoed per second (large: MiB/s of payload echoed, one way)."
            + " Latency: round trip.");
    out.println(
        "CPU/packet: CPU time of the server's process (all its threads) per echoed packet."
            + " B/packet: bytes");
    out.println(
        "the server allocated per packet. GC (old): collections in the measured period"
            + " (old-generation ones).");
    out.println(
        "Ratios a / b: of throughput (above 1: a is faster) and of CPU/packet (below 1: a is"
            + " cheaper).");
    if (workloads.stream().anyMatch(Workload::fanout)) {
      out.println(
          "Fan-out (1→N: one publisher, N subscribers): packets delivered to all subscribers per"
              + " second; latency from");
      out.println(
          "the publisher's write to a subscriber's read; CPU/packet and B/packet per delivered"
              + " packet.");
    }
    out.println();
    out.print(table.text());
    out.println();
    out.println(generatorSummary(runs));
    long failed = runs.stream().filter(run -> !run.load().ok()).count();
    if (failed > 0) {
      out.println();
      out.println("!!! ERRORS in " + failed + " of " + runs.size() + " runs:");
      for (BenchRun run : runs) {
        for (String message : run.load().errorMessages()) {
          out.println("!!! " + run.workload().name() + " " + run.server() + ": " + message);
        }
      }
    }
    List<String> files = new ArrayList<>(written);
    int status = failed > 0 ? 1 : 0;
    try {
      List<BenchChart.Named> charts =
          BenchChart.charts(runs, options.servers(), workloads, note(machine, options));
      for (Path chart : BenchChart.write(charts, options.out())) {
        files.add(chart.getFileName().toString());
      }
    } catch (IOException e) {
      err.println("bench: cannot write the charts: " + e);
      status = 1;
    } catch (RuntimeException | LinkageError | java.awt.AWTError e) {
      err.println(
          "bench: cannot draw the charts: "
              + e
              + " (the JDK's AWT needs fontconfig and a font, e.g. Debian's fonts-dejavu-core)");
      status = 1;
    }
    out.println();
    out.println(
        files.isEmpty()
            ? "wrote nothing: no transport had two servers to chart"
            : "wrote to " + options.out() + ":");
    StringBuilder line = new StringBuilder(" ");
    for (String file : files) { // Wrapped to fit 120 columns.
      if (line.length() + file.length() + 2 > BenchTable.TEXT_WIDTH) {
        out.println(line);
        line = new StringBuilder(" ");
      }
      line.append(' ').append(file);
    }
    if (!files.isEmpty()) out.println(line);
    return status;
  }

  private BenchRun run(Workload workload, String server, List<String> pinning) {
    List<String> command = new ArrayList<>(pinning);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(SERVER_JVM_FLAGS);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), ServerMain.class.getName()));
    Path socketDir = null; // A fresh directory for a Unix domain socket, removed after the run.
    try {
      if (workload.fanout()) {
        command.addAll(List.of("--kind", server, "--port", "0", "--mode", "fanout"));
      } else if (server.endsWith(ServerMain.UNIX_SUFFIX)) {
        socketDir = Files.createTempDirectory("packetconn-bench");
        String kind = server.substring(0, server.length() - ServerMain.UNIX_SUFFIX.length());
        command.addAll(List.of("--kind", kind, "--unix", socketDir.resolve("echo.sock").toString()));
      } else {
        command.addAll(List.of("--kind", server, "--port", "0"));
      }
      return measure(workload, server, command);
    } catch (IOException e) {
      err.println("!!! " + workload.name() + " " + server + ": " + e.getMessage());
      return new BenchRun(server, LoadResult.failure(workload, e.getMessage()), null);
    } finally {
      if (socketDir != null) deleteSocketDir(socketDir);
    }
  }

  /** Deletes the socket file a server left behind (raw does not delete its own), and its directory. */
  private void deleteSocketDir(Path dir) {
    try {
      Files.deleteIfExists(dir.resolve("echo.sock"));
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      err.println("cannot delete " + dir + ": " + e);
    }
  }

  /** Starts the server with {@code command} and runs the load against it. */
  private BenchRun measure(Workload workload, String server, List<String> command) throws IOException {
    try (ServerProcess process = ServerProcess.start(server, command, err)) {
      List<CompletableFuture<JvmStats>> stats = new ArrayList<>();
      LoadListener listener =
          new LoadListener() {
            @Override
            public void phaseStarted(Phase phase) {
              if (phase == Phase.MEASURE || phase == Phase.DRAIN) stats.add(process.requestStats());
            }

            @Override
            public void interval(LoadInterval interval) {
              out.println(liveLine(server, interval));
            }
          };
      LoadResult result;
      if (workload.fanout()) {
        result =
            new FanoutGenerator(process.address(), workload, options.seed())
                .run(options.warmup(), options.duration(), listener);
      } else {
        String tls = BenchOptions.tls(server) ? options.tlsProtocol() : null;
        LoadGenerator generator =
            new LoadGenerator(
                process.address(), workload, options.seed(), LoadGenerator.BUFFER_SIZE, tls);
        result = generator.run(options.warmup(), options.duration(), listener);
        if (generator.negotiated() != null) {
          out.println("[" + server + "] " + generator.negotiated());
        }
      }
      JvmStats serverStats =
          stats.size() == 2 ? difference(server, stats.get(0), stats.get(1)) : null;
      BenchRun run = new BenchRun(server, result, serverStats);
      out.println(doneLine(run));
      return run;
    }
  }

  private JvmStats difference(
      String server, CompletableFuture<JvmStats> before, CompletableFuture<JvmStats> after) {
    try {
      return after.get(10, TimeUnit.SECONDS).minus(before.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      err.println("[" + server + "] no stats: " + e);
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** {@return the command prefix that pins a server to CPU 0, after saying what is pinned} */
  private List<String> pinning(Machine machine) {
    boolean taskset = onPath("taskset");
    if (!taskset || machine.cpus() < 2) {
      out.println(
          "pinning: none ("
              + (taskset ? "1 CPU" : "taskset is not on PATH")
              + "): servers and the load generator share the CPUs");
      return List.of();
    }
    String harness;
    boolean unpinned = false;
    if (machine.allowedCpus().equals("1")) {
      harness = "load generator on CPU 1";
    } else if (pinSelf && pinSelfToCpu1()) {
      harness =
          "load generator on CPU 1 (this JVM pinned itself: taskset -a -p -c 1 "
              + ProcessHandle.current().pid()
              + ")";
    } else {
      unpinned = true;
      harness =
          "WARNING: the load generator is not pinned (CPUs "
              + machine.allowedCpus()
              + "); start the bench with taskset -c 1";
    }
    out.println("pinning: servers on CPU 0 (taskset -c 0)" + (unpinned ? "" : ", " + harness));
    if (unpinned) out.println(harness);
    return List.of("taskset", "-c", "0");
  }

  private boolean pinSelfToCpu1() {
    try {
      Process taskset =
          new ProcessBuilder(
                  "taskset", "-a", "-p", "-c", "1", Long.toString(ProcessHandle.current().pid()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return taskset.waitFor(10, TimeUnit.SECONDS) && taskset.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** {@return whether Integer.valueOf caches every plausible file descriptor} */
  private static boolean boxCacheCoversDescriptors() {
    Integer a = 65535;
    Integer b = 65535;
    return a == b;
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) return false;
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return true;
    }
    return false;
  }

  /**
   * {@return e.g. {@code pipelined netty measure 7/10 s 1,183,224 packets/s 1,156 MiB/s p99 14.2
   * ms}}
   */
  static String liveLine(String server, LoadInterval interval) {
    return String.format(
        Locale.ROOT,
        "%-12s %-24s %-8s %4s/%s s %,11.0f packets/s %,7.0f MiB/s  p99 %s",
        interval.workload().name(),
        server,
        interval.phase().label(),
        seconds(interval.second(), interval.seconds()),
        seconds(interval.seconds(), interval.seconds()),
        interval.packetsPerSecond(),
        interval.mibPerSecond(),
        Format.latency(interval.p99Micros()));
  }

  private static String doneLine(BenchRun run) {
    LoadResult load = run.load();
    JvmStats stats = run.serverStats();
    String text = String.format(
        Locale.ROOT,
        "%-12s %-24s done     %,.0f packets/s, %,.0f MiB/s, p50 %s, p99 %s, p99.9 %s, max %s;%s"
            + " server %s CPU/packet, %s B/packet, %s; generator %.2f B/packet, %.0f ns CPU/packet",
        run.workload().name(),
        run.server(),
        load.packetsPerSecond(),
        load.mibPerSecond(),
        Format.latency(load.p50Micros()),
        Format.latency(load.p99Micros()),
        Format.latency(load.p999Micros()),
        Format.latency(load.maxMicros()),
        load.ok() ? "" : " !!! " + load.errors() + " ERRORS;",
        Double.isNaN(run.serverCpuNanosPerPacket())
            ? "n/a"
            : Format.nanos(run.serverCpuNanosPerPacket()),
        Double.isNaN(run.serverAllocatedPerPacket())
            ? "n/a"
            : Format.bytes(run.serverAllocatedPerPacket()),
        stats == null
            ? "GC n/a"
            : "GC "
                + stats.gcCount()
                + " ("
                + stats.oldGcCount()
                + " old, "
                + stats.gcTimeMs()
                + " ms)",
        load.allocatedBytesPerPacket(),
        load.cpuNanosPerPacket());
    return Format.wrap(text, BenchTable.TEXT_WIDTH, "    ");
  }

  /** {@return {@code seconds} to a precision that suits a period of {@code period} seconds} */
  private static String seconds(double seconds, double period) {
    return period >= 2 || period == Math.rint(period)
        ? String.format(Locale.ROOT, "%.0f", seconds)
        : String.format(Locale.ROOT, "%.1f", seconds);
  }

  /** {@return how far the generator was from being the bottleneck} */
  static String generatorSummary(List<BenchRun> runs) {
    double allocated = 0;
    double cpu = 0;
    double fastest = 0;
    for (BenchRun run : runs) {
      if (run.load().packets() == 0) continue;
      allocated = Math.max(allocated, run.load().allocatedBytesPerPacket());
      Workload workload = run.workload();
      boolean busyPolled =
          (long) workload.clients() * workload.inFlight() <= LoadGenerator.BUSY_POLL_IN_FLIGHT;
      if (workload.minPayload() < LoadGenerator.BULK_PAYLOAD && !busyPolled)
        cpu = Math.max(cpu, run.load().cpuNanosPerPacket());
      fastest = Math.max(fastest, run.load().packetsPerSecond());
    }
    return Format.wrap(
        String.format(
            Locale.ROOT,
            "load generator: at most %.3f B/packet allocated on its thread, at most %.0f ns CPU"
                + " per packet (large, fanout-large and busy-polled runs aside), fastest run %s"
                + " packets/s",
            allocated,
            cpu,
            Format.grouped(fastest)),
        BenchTable.TEXT_WIDTH,
        "  ");
  }

  /** {@return where and how the bench ran, in one line} */
  static String note(Machine machine, BenchOptions options) {
    double duration = options.duration().toNanos() / 1e9;
    double warmup = options.warmup().toNanos() / 1e9;
    return String.format(
        Locale.ROOT,
        "%s, %d CPUs, Java %s; %s s measured after %s s warm-up%s%s",
        machine.cpuModel(),
        machine.cpus(),
        Runtime.version().feature(),
        seconds(duration, duration),
        seconds(warmup, warmup),
        options.scale() == 1 ? "" : ", clients scaled by " + options.scale(),
        options.servers().stream().anyMatch(BenchOptions::tls)
            ? "; TLS: " + options.tlsProtocol() + " " + BenchTls.cipherSuite(options.tlsProtocol())
            : "");
  }

  private static String markdown(Machine machine, BenchOptions options, List<BenchRun> runs) {
    List<Workload> workloads =
        options.workloads().stream().map(w -> w.scaled(options.scale())).toList();
    StringBuilder text = new StringBuilder();
    text.append(new BenchTable(runs, options.servers(), workloads).markdown()).append('\n');
    text.append(
            "Throughput: packets echoed per second (for large: MiB/s of payload echoed, one way). ")
        .append("Latency: round trip. CPU/packet: CPU time of the server's process per echoed packet")
        .append(" (every thread: I/O, JIT, GC). B/packet: bytes the server allocated per echoed packet. ")
        .append("GC (old): collections in the measured period, old-generation ones in parentheses. ")
        .append("Ratios a / b: of throughput, and of CPU/packet.");
    if (workloads.stream().anyMatch(Workload::fanout)) {
      text.append(" Fan-out (1→N: one publisher, N subscribers, every packet to each): packets")
          .append(" delivered to all subscribers per second, latency from the publisher's write")
          .append(" to a subscriber's read, CPU/packet and B/packet per delivered packet.");
    }
    text.append("\n\n");
    text.append(note(machine, options))
        .append("; ")
        .append(machine.kernel())
        .append(", ")
        .append(machine.date())
        .append(".\n");
    for (BenchRun run : runs) {
      for (String message : run.load().errorMessages()) {
        text.append("\n**ERROR** ")
            .append(run.workload().name())
            .append(' ')
            .append(run.server())
            .append(": ")
            .append(message)
            .append('\n');
      }
    }
    return text.toString();
  }

  private static List<String> serverJvmFlags() {
    // The same flags for every server. AutoBoxCacheMax: the JDK's epoll selector boxes each ready
    // file descriptor above 127 (16 B per ready socket per select), which would be counted against
    // the NIO servers (packetconn, raw); Netty's own epoll does not box. packetconn's README
    // recommends the flag to its users for the same reason.
    List<String> flags =
        new ArrayList<>(List.of("-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:AutoBoxCacheMax=65536"));
    if (Runtime.version().feature() >= 23) flags.add("--sun-misc-unsafe-memory-access=allow");
    flags.add("--enable-native-access=ALL-UNNAMED");
    flags.add("-Dio.netty.leakDetection.level=disabled");
    // More flags for every server, e.g. a profiler: PACKETCONN_SERVER_JAVA_OPTS, split on spaces.
    String extra = System.getenv("PACKETCONN_SERVER_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) flags.addAll(List.of(extra.trim().split("\\s+")));
    return List.copyOf(flags);
  }
}
