package io.github.packetconn.testing;

import java.util.List;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs around every test of this module (registered through {@code META-INF/services}): empties
 * {@link CapturedLog} before the test, and when the test fails, prints what the library logged
 * during it to the test's error output, so a failure keeps its context while a passing test's
 * expected WARNINGs stay out of the build log.
 */
public final class LogCapture implements BeforeEachCallback, AfterEachCallback {
  /** Made by JUnit, when it starts and before any test class: records are captured from then on. */
  public LogCapture() {
    CapturedLog.install();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    CapturedLog.clear(); // A test sees its own lines (and perhaps the end of the previous test's).
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (context.getExecutionException().isEmpty()) return;
    List<LogRecord> records = CapturedLog.records();
    if (records.isEmpty()) return;
    System.err.println("packetconn logged during " + context.getDisplayName() + ":"
        + CapturedLog.format(records));
  }
}
