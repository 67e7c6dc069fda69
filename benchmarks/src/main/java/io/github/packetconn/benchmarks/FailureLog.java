package io.github.packetconn.benchmarks;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Reports failed connections on stderr: the first few in full, the rest only counted, so a load
 * generator that resets a thousand connections at the end of a run costs five lines, not a thousand.
 */
final class FailureLog {
  private static final int SHOWN = 5;

  private final String server;
  private final AtomicLong failures = new AtomicLong();

  FailureLog(String server) {
    this.server = server;
  }

  /** Notes that the connection to {@code peer} ended with {@code cause}. */
  void connectionFailed(Object peer, Throwable cause) {
    long n = failures.incrementAndGet();
    if (n <= SHOWN) {
      System.err.println(server + ": connection " + peer + " failed: " + cause
          + (n == SHOWN ? " (further failures are only counted)" : ""));
    }
  }

  /** Prints how many connections failed in all, if some went unreported. */
  void summarize() {
    long n = failures.get();
    if (n > SHOWN) System.err.println(server + ": " + n + " connections failed in all");
  }
}
