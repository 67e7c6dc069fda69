package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The I/O thread's timers. */
class EventLoopTest {
  /**
   * A deadline far enough ahead to wrap round (a receive with a timeout near {@code
   * Long.MAX_VALUE}) does not put its loop to sleep past the other timers' deadlines: deadlines
   * are {@code nanoTime()} values, compared by their difference.
   */
  @Test
  void aDeadlineThatWrapsRoundHoldsBackNoOtherTimer() throws Exception {
    long start = System.nanoTime();
    long far = start + Long.MAX_VALUE; // Ahead by Long.MAX_VALUE: its raw value wraps below start.
    assumeTrue(far < start, "nanoTime() is negative here: nothing wraps");
    long soon = start + TimeUnit.MILLISECONDS.toNanos(50);
    CompletableFuture<Long> rang = new CompletableFuture<>();
    EventLoop.Timed farTimer = now -> rang.isDone() ? 0 : far;
    EventLoop.Timed soonTimer =
        now -> {
          if (now - soon < 0) return soon;
          rang.complete(now);
          return 0;
        };
    EventLoop loop = EventLoop.next();
    loop.execute(
        () -> {
          loop.addTimer(farTimer);
          loop.addTimer(soonTimer);
        });
    rang.get(WAIT.toSeconds(), TimeUnit.SECONDS); // Before the fix: never, the loop slept for centuries.
  }
}
