package io.github.packetconn.testing;

import io.github.packetconn.PacketLeaks;

import java.time.Duration;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs {@link PacketLeaks} around every test of this module (registered through {@code
 * META-INF/services}; surefire turns the check on with {@code -Dpacketconn.leakCheck=true}): a test
 * fails if it leaves a packet unreleased, with the site that allocated it.
 */
public final class LeakCheck implements BeforeEachCallback, AfterEachCallback {
  /** Made by JUnit. */
  public LeakCheck() {}

  /** Long enough for connections a test closed to finish closing on their I/O threads. */
  private static final Duration PATIENCE = Duration.ofSeconds(5);

  @Override
  public void beforeEach(ExtensionContext context) {
    PacketLeaks.forget(); // A test is blamed for its own packets only.
  }

  @Override
  public void afterEach(ExtensionContext context) throws InterruptedException {
    if (!PacketLeaks.enabled()) {
      throw new AssertionError("run the tests with -Dpacketconn.leakCheck=true (surefire sets it)");
    }
    PacketLeaks.assertNone(PATIENCE);
  }
}
