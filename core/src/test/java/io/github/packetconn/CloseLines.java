package io.github.packetconn;

import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Records the lines the library logs when connections close ({@link CloseKind#log}), at every
 * level, in place of the real logger from {@link #capture()} until {@link #close()}. In this package
 * because the logger it replaces is package-private. Thread-safe.
 */
final class CloseLines implements System.Logger, AutoCloseable {
  record Line(Level level, String message, Throwable thrown) {}

  private final List<Line> lines = new CopyOnWriteArrayList<>();
  private final System.Logger replaced;

  private CloseLines(System.Logger replaced) {
    this.replaced = replaced;
  }

  /** {@return a recorder that the library logs its close lines to, until it is closed} */
  static CloseLines capture() {
    CloseLines capture = new CloseLines(CloseKind.log);
    CloseKind.log = capture;
    return capture;
  }

  /** {@return the lines about the connection whose remote port is {@code port}} */
  List<Line> about(int port) {
    return lines.stream().filter(l -> l.message().contains("-> 127.0.0.1:" + port + ",")).toList();
  }

  /** Gives the library its logger back. */
  @Override
  public void close() {
    CloseKind.log = replaced;
  }

  @Override
  public String getName() {
    return "capture";
  }

  @Override
  public boolean isLoggable(Level level) {
    return true;
  }

  @Override
  public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
    lines.add(new Line(level, msg, thrown));
  }

  @Override
  public void log(Level level, ResourceBundle bundle, String format, Object... params) {
    lines.add(new Line(level, java.text.MessageFormat.format(format, params), null));
  }
}
