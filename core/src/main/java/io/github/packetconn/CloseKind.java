package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;

/**
 * Why a connection closed, as {@link ServerStats} counts it, and the one log line each abnormal
 * close gets.
 *
 * <p>Levels: a handler that throws is a bug in the application, so WARNING with its stack trace;
 * so is a failure that is not an I/O error (a bug here, or out of memory). Everything a peer can
 * cause (a reset, a protocol error, a stream cut inside a frame, a peer that stops reading) is
 * DEBUG, without a stack trace: a server on the internet sees these all day from scanners and
 * flaky networks, and at INFO they would fill every application's default log. Their rates are in
 * {@link ServerStats}. An abort by the application is DEBUG too: it asked for it.
 */
enum CloseKind {
  CLEAN,
  PROTOCOL_ERROR,
  TRUNCATED,
  IO_ERROR,
  TIMEOUT,
  ABORTED,
  HANDLER_FAILURE;

  /** Where close lines go; tests replace it to capture them. */
  static volatile System.Logger log = System.getLogger("io.github.packetconn");

  /** {@return the kind of a close with {@code cause} (null for none)} */
  static CloseKind of(Throwable cause, boolean aborted, boolean handlerFailed) {
    if (handlerFailed) return HANDLER_FAILURE;
    if (cause == null) return aborted ? ABORTED : CLEAN;
    if (cause instanceof ProtocolException) return PROTOCOL_ERROR;
    if (cause instanceof EOFException) return TRUNCATED;
    if (cause instanceof SocketTimeoutException) return TIMEOUT;
    return IO_ERROR;
  }

  /** Logs the one line an abnormal close gets; nothing for a clean one. */
  void log(PacketConn conn, Throwable cause) {
    if (this == CLEAN) return;
    boolean unexpected = this == HANDLER_FAILURE || (this == IO_ERROR && !(cause instanceof IOException));
    Level level = unexpected ? Level.WARNING : Level.DEBUG;
    System.Logger logger = log;
    if (!logger.isLoggable(level)) return; // Peer faults may be many: build no string for nothing.
    String what =
        switch (this) {
          case PROTOCOL_ERROR -> "protocol error: " + cause.getMessage();
          case TRUNCATED, TIMEOUT -> cause.getMessage();
          case IO_ERROR -> unexpected ? "failed: " + cause : String.valueOf(cause);
          case ABORTED -> "aborted by the application";
          case HANDLER_FAILURE -> "handler failed: " + cause;
          case CLEAN -> throw new AssertionError();
        };
    EventLoop.logSafely(logger, level, conn + " closed: " + what, unexpected ? cause : null);
  }
}
