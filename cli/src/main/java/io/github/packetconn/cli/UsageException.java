package io.github.packetconn.cli;

/** A command line the command cannot run: an unknown option or a bad value. Exits with status 2. */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
