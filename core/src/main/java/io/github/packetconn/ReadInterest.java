package io.github.packetconn;

import java.nio.channels.SelectionKey;
import java.util.EnumSet;

/**
 * Whether the I/O thread reads a connection: the one owner of {@link SelectionKey#OP_READ} on its
 * key. Each reason to stop reading is kept apart, so one lifting its pause cannot resume a
 * connection another reason still holds.
 *
 * <p>Thread rule: the connection's event loop only; {@link #backpressured()} may be read anywhere.
 */
final class ReadInterest {
  /** Why a connection does not read. */
  enum Pause {
    /** A handler's send overfilled another connection's queue: stop reading the talker. */
    QUEUE_FULL,
    /** A handler's send went past the memory budget's queued account. */
    QUEUED_BUDGET,
    /** The budget's account of partly received frames is spent. */
    PARTIAL_BUDGET,
    /** A blocking receiver reads on its own thread until it finds nothing more. */
    RECEIVER,
    /** The peer ended its stream: nothing more will come. */
    INPUT_ENDED
  }

  private final EnumSet<Pause> reasons = EnumSet.noneOf(Pause.class);
  private SelectionKey key; // Null until registered.
  private volatile boolean backpressured; // Paused for a queue or the budget; for tests and stats.

  /** Starts applying to {@code key}, which was registered reading. */
  void attach(SelectionKey key) {
    this.key = key;
    apply();
  }

  /** Stops reading for {@code reason}. */
  void pause(Pause reason) {
    if (reasons.add(reason)) apply();
  }

  /** Lifts {@code reason}; returns true if the connection reads now. */
  boolean resume(Pause reason) {
    if (reasons.remove(reason)) apply();
    return reasons.isEmpty();
  }

  /** Lifts every pause but the end of input: a closing connection reads, to discard and see the end. */
  void resumeForClose() {
    boolean ended = reasons.contains(Pause.INPUT_ENDED);
    reasons.clear();
    if (ended) reasons.add(Pause.INPUT_ENDED);
    apply();
  }

  /** {@return true if nothing holds the connection back from reading} */
  boolean reading() {
    return reasons.isEmpty();
  }

  /** {@return true if {@code reason} holds the connection} */
  boolean has(Pause reason) {
    return reasons.contains(reason);
  }

  /** {@return true if a full queue or the budget holds the connection back} Any thread. */
  boolean backpressured() {
    return backpressured;
  }

  private void apply() {
    backpressured =
        reasons.contains(Pause.QUEUE_FULL)
            || reasons.contains(Pause.QUEUED_BUDGET)
            || reasons.contains(Pause.PARTIAL_BUDGET);
    if (key == null || !key.isValid()) return;
    int ops = key.interestOps();
    int wanted = reasons.isEmpty() ? ops | SelectionKey.OP_READ : ops & ~SelectionKey.OP_READ;
    if (wanted != ops) key.interestOps(wanted);
  }
}
