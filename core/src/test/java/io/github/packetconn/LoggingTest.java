package io.github.packetconn;

import static io.github.packetconn.PacketConnTest.ECHO;
import static io.github.packetconn.PacketConnTest.LOOPBACK;
import static io.github.packetconn.PacketConnTest.connect;
import static io.github.packetconn.SafetyTest.assertEchoes;
import static io.github.packetconn.StatsTest.awaitStats;
import static io.github.packetconn.StatsTest.send;
import static io.github.packetconn.StatsTest.socket;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoggingTest {
  record Line(Level level, String message, Throwable thrown) {}

  /** Records every line, at every level. */
  static final class Capture implements System.Logger {
    final List<Line> lines = new CopyOnWriteArrayList<>();

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

    /** {@return the lines about the connection whose remote port is {@code port}} */
    List<Line> about(int port) {
      return lines.stream().filter(l -> l.message().contains("-> 127.0.0.1:" + port + ",")).toList();
    }
  }

  private final Capture capture = new Capture();
  private System.Logger saved;

  @BeforeEach
  void capture() {
    saved = CloseKind.log;
    CloseKind.log = capture;
  }

  @AfterEach
  void restore() {
    CloseKind.log = saved;
  }

  @Test
  void cleanCloseLogsNothing() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      int port;
      try (PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
        port = PacketConnTest.port(conn.localAddress());
        assertEchoes(conn);
      }
      awaitStats(server, s -> s.closedClean() == 1);
      assertEquals(List.of(), capture.about(port));
      assertEquals(List.of(), capture.about(server.port()));
    }
  }

  @Test
  void protocolErrorLogsOneDebugLine() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        Socket http = socket(server)) {
      http.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      awaitStats(server, s -> s.closedProtocolError() == 1);
      List<Line> lines = capture.about(http.getLocalPort());
      assertEquals(1, lines.size(), lines.toString());
      Line line = lines.get(0);
      assertEquals(Level.DEBUG, line.level());
      assertTrue(
          line.message().matches("PacketConn\\[127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:\\d+, closed\\] closed:"
              + " protocol error: .*HTTP.*"),
          line.message());
      assertNull(line.thrown(), "no stack trace for a peer's fault");
    }
  }

  @Test
  void truncatedFrameAndResetLogOneDebugLineEach() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      int cutPort;
      try (Socket cut = socket(server)) {
        cutPort = cut.getLocalPort();
        cut.getOutputStream().write(new byte[] {10, 0, 0, 0, 1});
        cut.shutdownOutput();
        awaitStats(server, s -> s.closedTruncated() == 1);
      }
      int resetPort;
      try (Socket reset = socket(server)) {
        resetPort = reset.getLocalPort();
        awaitStats(server, s -> s.connectionsOpen() == 1);
        reset.setSoLinger(true, 0);
      }
      awaitStats(server, s -> s.closedIoError() == 1);
      List<Line> cutLines = capture.about(cutPort);
      assertEquals(1, cutLines.size(), cutLines.toString());
      assertEquals(Level.DEBUG, cutLines.get(0).level());
      assertTrue(cutLines.get(0).message().endsWith(
          "closed: end of stream inside a frame, after 1 of 10 payload bytes"), cutLines.toString());
      List<Line> resetLines = capture.about(resetPort);
      assertEquals(1, resetLines.size(), resetLines.toString());
      assertEquals(Level.DEBUG, resetLines.get(0).level());
      assertTrue(resetLines.get(0).message().contains("closed: java.net.SocketException"), resetLines.toString());
    }
  }

  @Test
  void handlerFailureLogsOneWarningWithItsStackTrace() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, StatsTest.MISCHIEF);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      send(conn, 1);
      awaitStats(server, s -> s.closedHandlerFailure() == 1);
      List<Line> lines = capture.about(PacketConnTest.port(conn.localAddress()));
      assertEquals(1, lines.size(), lines.toString());
      assertEquals(Level.WARNING, lines.get(0).level());
      assertTrue(lines.get(0).message().endsWith(
          "closed: handler failed: java.lang.IllegalStateException: handler bug"), lines.toString());
      assertEquals("handler bug", lines.get(0).thrown().getMessage());
    }
  }

  @Test
  void connectionHandlerFailureLogsOneWarning() throws Exception {
    ConnectionHandler failing =
        conn -> {
          throw new IllegalStateException("serve bug");
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, failing);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      awaitStats(server, s -> s.closedHandlerFailure() == 1);
      List<Line> lines = capture.about(PacketConnTest.port(conn.localAddress()));
      assertEquals(1, lines.size(), lines.toString());
      assertEquals(Level.WARNING, lines.get(0).level());
      assertEquals("serve bug", lines.get(0).thrown().getMessage());
    }
  }

  @Test
  void connectionHandlerThatNoticesAFailureAddsNoLine() throws Exception {
    ConnectionHandler rethrowing =
        conn -> {
          try (Packet p = conn.receive()) {
            throw new AssertionError("unexpected packet " + p);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, rethrowing);
        Socket http = socket(server)) {
      http.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      awaitStats(server, s -> s.closedProtocolError() == 1);
      awaitStats(server, s -> s.connectionsOpen() == 0);
      List<Line> lines = capture.about(http.getLocalPort());
      assertEquals(1, lines.size(), lines.toString());
      assertEquals(Level.DEBUG, lines.get(0).level());
      assertTrue(lines.get(0).message().contains("protocol error"), lines.toString());
      assertEquals(0, server.stats().closedHandlerFailure());
    }
  }
}
