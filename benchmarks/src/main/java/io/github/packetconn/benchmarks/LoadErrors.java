package io.github.packetconn.benchmarks;

import java.util.ArrayList;
import java.util.List;

/**
 * The errors of one generator run: every one counted, the first {@value #KEPT} described.
 *
 * <p>Confined to the generator's thread.
 */
final class LoadErrors {
  /** How many errors are described; the rest are only counted. */
  static final int KEPT = 10;

  private final List<String> messages = new ArrayList<>();
  private long count;

  /** Counts an error and keeps its description if it is one of the first. */
  void add(String message) {
    add(1, message);
  }

  /** Counts {@code count} errors that one {@code message} describes together. */
  void add(long count, String message) {
    this.count += count;
    if (messages.size() < KEPT) messages.add(message);
  }

  /** {@return how many errors there were} */
  long count() {
    return count;
  }

  /** {@return the descriptions of the first errors, oldest first} */
  List<String> messages() {
    return messages;
  }
}
