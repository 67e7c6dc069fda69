package io.github.packetconn.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code packetconn} command: an echo server, a load-generating echo client and a demo that
 * runs both in one process.
 *
 * <pre>{@code
 * packetconn demo                                  # server and clients in one process
 * packetconn echo-server --port 14572 --style blocking
 * packetconn echo-client --clients 10 --packets 1000
 * packetconn echo-client --help
 * }</pre>
 *
 * <p>The {@code ./packetconn} launcher runs {@code bench}, {@code connections} and {@code jmh} from
 * the benchmarks jar and every other command line here, so the list of commands printed here names
 * those three as well; this jar itself only points to the launcher for them.
 *
 * <p>Exit status: 0 for success, 1 when the command ran and failed (an echo mismatch, a connection
 * error), 2 for a command line it cannot run, with the reason and the usage on standard error.
 */
public final class Main {
  private static final List<Command> COMMANDS =
      List.of(new DemoCommand(), new EchoServerCommand(), new EchoClientCommand());

  /** The commands the launcher runs from the benchmarks jar, and their one-line summaries. */
  static final Map<String, String> BENCHMARK_COMMANDS = benchmarkCommands();

  private Main() {}

  /** Runs the command named by {@code args[0]} and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err));
  }

  /** Runs the command line {@code args}; returns the exit status. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || isHelp(args.get(0)) || args.get(0).equals("help")) {
      out.print(usage());
      return 0;
    }
    if (BENCHMARK_COMMANDS.containsKey(args.get(0))) {
      err.printf(
          "packetconn: %1$s is in the benchmarks jar: run it with the ./packetconn launcher, or"
              + " java -jar benchmarks/target/packetconn-benchmarks.jar %1$s%n",
          args.get(0));
      return 2;
    }
    Command command = find(args.get(0));
    if (command == null) {
      err.println("packetconn: unknown command: " + args.get(0));
      err.print(usage());
      return 2;
    }
    List<String> rest = args.subList(1, args.size());
    if (rest.stream().anyMatch(Main::isHelp)) {
      out.print(command.usage());
      return 0;
    }
    try {
      return command.run(rest, out, err);
    } catch (UsageException e) {
      err.println("packetconn " + command.name() + ": " + e.getMessage());
      err.println();
      err.print(command.usage());
      return 2;
    } catch (IOException e) {
      err.println("packetconn " + command.name() + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      err.println("packetconn " + command.name() + ": interrupted");
      Thread.currentThread().interrupt();
      return 130; // As a shell reports a command stopped by SIGINT.
    } catch (Exception e) {
      err.println("packetconn " + command.name() + ": failed");
      e.printStackTrace(err); // A bug, not a condition we expected: show where.
      return 1;
    }
  }

  /** {@return the top-level help: every command the launcher runs, with a line each} */
  static String usage() {
    StringBuilder text =
        new StringBuilder(
            """
            Usage: packetconn COMMAND [options]

            Try packetconn (length-prefixed packets over TCP) with an echo server and clients,
            and measure it against Netty.

            Commands:
            """);
    for (Command command : COMMANDS) {
      text.append(String.format("  %-13s %s\n", command.name(), command.summary()));
    }
    BENCHMARK_COMMANDS.forEach(
        (name, summary) -> text.append(String.format("  %-13s %s\n", name, summary)));
    return text.append(
            """

            The last three run from the benchmarks module, which ./packetconn builds on first use.
            Run `packetconn COMMAND --help` for a command's options.
            """)
        .toString();
  }

  private static Map<String, String> benchmarkCommands() {
    Map<String, String> commands = new LinkedHashMap<>(); // In the order of the help text.
    commands.put(
        "bench", "race packetconn against Netty and a raw echo under seven loads (~19 min)");
    commands.put(
        "connections", "hold 10,000 idle connections to an echo server; memory per connection");
    commands.put(
        "jmh", "run the JMH microbenchmarks of Packet and the frame codec, with JMH's options");
    return Collections.unmodifiableMap(commands);
  }

  private static Command find(String name) {
    for (Command command : COMMANDS) {
      if (command.name().equals(name)) return command;
    }
    return null;
  }

  private static boolean isHelp(String arg) {
    return arg.equals("--help") || arg.equals("-h");
  }
}
