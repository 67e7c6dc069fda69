package io.github.packetconn.benchmarks;

import java.io.Serial;

/** A command line that cannot run; the message names the offending word or value. */
final class UsageException extends Exception {
  @Serial private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
