package io.github.packetconn.testing;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Keeps the library's log records in memory instead of printing them: tests that break
 * connections on purpose (a handler that throws) would otherwise fill a passing build's log with
 * WARNING stack traces. {@link LogCapture} installs it on the library's logger ({@code
 * io.github.packetconn}, through java.util.logging, which {@code System.Logger} uses by default)
 * before the first test, empties it before each test and prints what a failed test logged. Tests
 * assert the lines they expect with {@link #await}. Levels are the logger's (INFO and above unless
 * configured otherwise): DEBUG lines are not even built, as in an application. Thread-safe.
 */
public final class CapturedLog extends Handler {
  private static final int MAX_RECORDS = 1_000; // The newest; older ones are dropped.
  private static final ArrayDeque<LogRecord> RECORDS = new ArrayDeque<>(); // Guarded by itself.
  // Held for the JVM's life: java.util.logging keeps loggers weakly, and a logger collected and
  // made again would have lost this handler.
  private static final Logger LIBRARY = Logger.getLogger("io.github.packetconn");

  private CapturedLog() {}

  /** Sends the library's records here, and no longer to the console; once. */
  static synchronized void install() {
    if (installed()) return;
    LIBRARY.addHandler(new CapturedLog());
    LIBRARY.setUseParentHandlers(false);
  }

  /** {@return true if the library's records come here} */
  public static boolean installed() {
    for (Handler handler : LIBRARY.getHandlers()) {
      if (handler instanceof CapturedLog) return true;
    }
    return false;
  }

  /** {@return the records captured since the last {@link #clear()}, oldest first} */
  public static List<LogRecord> records() {
    synchronized (RECORDS) {
      return new ArrayList<>(RECORDS);
    }
  }

  /** Forgets the records captured so far. */
  public static void clear() {
    synchronized (RECORDS) {
      RECORDS.clear();
    }
  }

  /**
   * Waits up to {@code patience} for a record at {@code level} whose message ends with {@code
   * messageEnd}, and returns it.
   *
   * @throws AssertionError listing the records captured, if none matched in time
   */
  public static LogRecord await(Level level, String messageEnd, Duration patience)
      throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    synchronized (RECORDS) {
      while (true) {
        for (LogRecord record : RECORDS) {
          if (!level.equals(record.getLevel())) continue;
          if (record.getMessage().endsWith(messageEnd)) return record;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) break;
        RECORDS.wait(Math.max(1, left / 1_000_000));
      }
    }
    throw new AssertionError("no " + level + " record ending with \"" + messageEnd + "\" within "
        + patience.toMillis() + " ms; captured:" + format(records()));
  }

  /** {@return the records, one per line, with their level, thread and stack trace} */
  static String format(List<LogRecord> records) {
    StringBuilder b = new StringBuilder();
    for (LogRecord record : records) {
      b.append("\n").append(record.getLevel()).append(" [thread ").append(record.getLongThreadID())
          .append("] ").append(record.getMessage());
      if (record.getThrown() != null) {
        java.io.StringWriter trace = new java.io.StringWriter();
        record.getThrown().printStackTrace(new java.io.PrintWriter(trace));
        b.append("\n").append(trace.toString().stripTrailing());
      }
    }
    return b.toString();
  }

  @Override
  public void publish(LogRecord record) {
    synchronized (RECORDS) {
      if (RECORDS.size() == MAX_RECORDS) RECORDS.removeFirst();
      RECORDS.addLast(record);
      RECORDS.notifyAll(); // Wake await().
    }
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
