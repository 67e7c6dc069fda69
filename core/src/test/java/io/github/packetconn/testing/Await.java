package io.github.packetconn.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.packetconn.PacketServer;
import io.github.packetconn.ServerStats;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Bounded waits for what another thread makes true. Each wait checks, parks for a millisecond and
 * checks again until its condition holds, and fails after {@link #WAIT} saying what it waited for:
 * never a sleep that hopes the other thread is done by then, never a spin that takes a core from
 * the threads it waits for.
 */
public final class Await {
  /** How long a test waits for what should happen at once: generous, for a busy machine. */
  public static final Duration WAIT = Duration.ofSeconds(20);

  private static final long PAUSE_NANOS = 1_000_000; // Between two checks.

  private Await() {}

  /** Waits until {@code condition} holds; fails with {@code what} after {@link #WAIT}. */
  public static void awaitTrue(BooleanSupplier condition, Supplier<String> what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) pause(deadline, what);
  }

  /**
   * Probes until {@code condition} holds for the value {@code probe} returns, and returns that
   * value; fails with {@code what} and the last value after {@link #WAIT}.
   */
  public static <T> T awaitValue(Supplier<T> probe, Predicate<? super T> condition, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      T value = probe.get();
      if (condition.test(value)) return value;
      pause(deadline, () -> what + "; last: " + value);
    }
  }

  /** Waits until the server's counters satisfy {@code condition}; returns them. */
  public static ServerStats awaitStats(PacketServer server, Predicate<ServerStats> condition) {
    return awaitValue(server::stats, condition, "server stats");
  }

  /** Waits until {@code thread} is parked in WAITING (an untimed wait). */
  public static void awaitWaiting(Thread thread) {
    awaitTrue(() -> thread.getState() == Thread.State.WAITING, () -> thread + " is " + thread.getState());
  }

  /** {@return the cause {@code future} fails with, within {@link #WAIT}} */
  public static Throwable failureOf(CompletableFuture<?> future) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> future.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    return e.getCause();
  }

  private static void pause(long deadline, Supplier<String> what) {
    if (System.nanoTime() - deadline > 0) {
      throw new AssertionError("timed out after " + WAIT.toMillis() + " ms waiting: " + what.get());
    }
    // A test's timeout interrupts it: stop waiting (parkNanos would return at once, again and again).
    if (Thread.currentThread().isInterrupted()) throw new AssertionError("interrupted waiting: " + what.get());
    LockSupport.parkNanos(PAUSE_NANOS);
  }
}
