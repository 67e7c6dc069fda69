package io.github.packetconn.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

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
 * <p>Exit status: 0 for success, 1 when the command ran and failed (an echo mismatch, a connection
 * error), 2 for a command line it cannot run, with the reason and the usage on standard error.
 */
public final class Main {
  private static final List<Command> COMMANDS =
      List.of(new DemoCommand(), new EchoServerCommand(), new EchoClientCommand());

  private Main() {}

  /** Runs the command named by {@code args[0]} and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(Arrays.asList(args), System.out, System.err));
  }

  /** Runs the command line {@code args}; returns the exit status. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || isHelp(args.get(0))) {
      out.print(usage());
      return 0;
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

  /** {@return the top-level help: the list of commands} */
  static String usage() {
    StringBuilder text =
        new StringBuilder(
            """
            Usage: packetconn COMMAND [options]

            Length-prefixed packets over TCP: an echo server, a load-generating client, and a demo.

            Commands:
            """);
    for (Command command : COMMANDS) {
      text.append(String.format("  %-14s%s\n", command.name(), command.summary()));
    }
    return text.append(
            """

            Run `packetconn COMMAND --help` for a command's options.
            """)
        .toString();
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
