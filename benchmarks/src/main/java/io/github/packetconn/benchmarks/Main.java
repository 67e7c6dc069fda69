package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of the benchmarks jar: {@code bench} (the default) runs the load generator against
 * every echo server, {@code server} runs one echo server ({@link ServerMain}), {@code connections}
 * measures memory per idle connection ({@link ConnectionsBench}), {@code jmh} runs the JMH
 * microbenchmarks.
 *
 * <pre>{@code
 * taskset -c 1 java -jar benchmarks/target/packetconn-benchmarks.jar
 * java -jar packetconn-benchmarks.jar bench --workloads small,single --servers raw --duration 3s
 * java -jar packetconn-benchmarks.jar server --kind netty --port 14572
 * java -jar packetconn-benchmarks.jar connections --count 10000
 * java -jar packetconn-benchmarks.jar jmh -f 1 FrameCodec
 * }</pre>
 *
 * <p>Exit status: 0 for success, 1 when a bench run had errors, 2 for a command line it cannot run.
 */
public final class Main {
  private static final String USAGE =
      """
      Usage: java -jar packetconn-benchmarks.jar [COMMAND] [options]

      Commands:
        bench        runs the load generator against every echo server (the default; bench --help)
        server       runs one echo server (server --kind netty; server --help)
        connections  holds 10,000 idle connections; server heap and RSS per connection
                     (connections --help)
        jmh          runs the JMH microbenchmarks with JMH's options (jmh --help)
      """;

  private Main() {}

  /**
   * Runs the command named by {@code args[0]}, {@code bench} by default, and exits with its status.
   */
  public static void main(String[] args) throws Exception {
    List<String> list = Arrays.asList(args);
    String command = list.isEmpty() || list.get(0).startsWith("--") ? "bench" : list.get(0);
    List<String> rest =
        list.isEmpty() || list.get(0).startsWith("--") ? list : list.subList(1, list.size());
    switch (command) {
      case "bench" -> System.exit(bench(rest, System.out, System.err, true));
      case "server" -> ServerMain.main(rest.toArray(String[]::new));
      case "connections" -> System.exit(ConnectionsBench.run(rest, System.out, System.err));
      case "jmh" -> org.openjdk.jmh.Main.main(jmhArguments(rest).toArray(String[]::new));
      case "help", "-h" -> System.out.print(USAGE);
      default -> {
        System.err.println("unknown command: " + command);
        System.err.print(USAGE);
        System.exit(2);
      }
    }
  }

  /**
   * {@return the arguments for JMH's own {@code Main}: {@code -h} alone if {@code args} ask for
   * help the way every other command takes it ({@code --help}), which JMH would reject, else
   * {@code args}}
   */
  static List<String> jmhArguments(List<String> args) {
    return args.contains("--help") ? List.of("-h") : args;
  }

  /** Runs {@code bench} with {@code args}; returns the exit status. */
  static int bench(List<String> args, PrintStream out, PrintStream err, boolean pinSelf) {
    if (args.contains("--help") || args.contains("-h")) {
      out.print(BenchOptions.USAGE);
      return 0;
    }
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (UsageException e) {
      err.println("bench: " + e.getMessage());
      err.println();
      err.print(BenchOptions.USAGE);
      return 2;
    }
    try {
      return new Bench(options, out, err, pinSelf).run();
    } catch (IOException e) {
      err.println("bench: " + e.getMessage());
      return 1;
    }
  }
}
