package io.github.packetconn.testing;

import io.github.packetconn.PacketLeaks;

import java.time.Duration;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs {@link PacketLeaks} around every test of this module (registered through {@code
 * META-INF/services}; surefire turns the check on with {@code -Dpacketconn.leakCheck=true}): a test
 * fails if it leaves a packet unreleased, with the site that allocated it. Tests tagged {@value
 * #LOAD} run in a JVM of their own without it: they measure behaviour under load, which the check's
 * stack walk per packet would distort.
 */
public final class LeakCheck implements BeforeEachCallback, AfterEachCallback {
  /** Made by JUnit. */
  public LeakCheck() {}

  /** Long enough for connections a test closed to finish closing on their I/O threads. */
  private static final Duration PATIENCE = Duration.ofSeconds(5);

  /** The tag of tests that run without the check, in their own JVM (see the module's POM). */
  public static final String LOAD = "load";

  @Override
  public void beforeEach(ExtensionContext context) {
    PacketLeaks.forget(); // A test is blamed for its own packets only.
  }

  @Override
  public void afterEach(ExtensionContext context) throws InterruptedException {
    if (context.getTags().contains(LOAD)) return;
    if (!PacketLeaks.enabled()) {
      throw new AssertionError("run the tests with -Dpacketconn.leakCheck=true (surefire sets it)");
    }
    PacketLeaks.assertNone(PATIENCE);
  }
}
