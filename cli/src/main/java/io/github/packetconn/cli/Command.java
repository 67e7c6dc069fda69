package io.github.packetconn.cli;

import java.io.PrintStream;
import java.util.List;

/** One subcommand of {@code packetconn}. {@link Main} handles {@code --help} and usage errors. */
interface Command {
  /** {@return the name typed on the command line, such as {@code echo-server}} */
  String name();

  /** {@return one line for the list of commands} */
  String summary();

  /** {@return the full help text, ending with a newline} */
  String usage();

  /**
   * Runs the command with its arguments (the command name removed).
   *
   * @return the process exit status: 0 for success, 1 for a failure the command found
   * @throws UsageException for an unknown option or a bad value, before anything has run
   */
  int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
