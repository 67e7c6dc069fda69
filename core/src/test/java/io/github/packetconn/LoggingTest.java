package io.github.packetconn;

import static io.github.packetconn.testing.Await.awaitStats;
import static io.github.packetconn.testing.Golden.ascii;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Handlers.MISCHIEF;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.sendInt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.System.Logger.Level;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoggingTest {
  private CloseLines capture;

  @BeforeEach
  void capture() {
    capture = CloseLines.capture();
  }

  @AfterEach
  void restore() {
    capture.close();
  }

  @Test
  void cleanCloseLogsNothing() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      int port;
      try (PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
        port = port(conn.localAddress());
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
      http.getOutputStream().write(ascii("GET / HTTP/1.1\r\n\r\n"));
      awaitStats(server, s -> s.closedProtocolError() == 1);
      List<CloseLines.Line> lines = capture.about(http.getLocalPort());
      assertEquals(1, lines.size(), lines.toString());
      CloseLines.Line line = lines.get(0);
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
      List<CloseLines.Line> cutLines = capture.about(cutPort);
      assertEquals(1, cutLines.size(), cutLines.toString());
      assertEquals(Level.DEBUG, cutLines.get(0).level());
      assertTrue(cutLines.get(0).message().endsWith(
          "closed: end of stream inside a frame, after 1 of 10 payload bytes"), cutLines.toString());
      List<CloseLines.Line> resetLines = capture.about(resetPort);
      assertEquals(1, resetLines.size(), resetLines.toString());
      assertEquals(Level.DEBUG, resetLines.get(0).level());
      assertTrue(resetLines.get(0).message().contains("closed: java.net.SocketException"), resetLines.toString());
    }
  }

  @Test
  void handlerFailureLogsOneWarningWithItsStackTrace() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, MISCHIEF);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      sendInt(conn, 1);
      awaitStats(server, s -> s.closedHandlerFailure() == 1);
      List<CloseLines.Line> lines = capture.about(port(conn.localAddress()));
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
          Packet first = conn.receive(); // After the client's connect: its reset cannot cut that.
          if (first != null) first.release();
          throw new IllegalStateException("serve bug");
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, failing);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      sendInt(conn, 1);
      awaitStats(server, s -> s.closedHandlerFailure() == 1);
      List<CloseLines.Line> lines = capture.about(port(conn.localAddress()));
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
      http.getOutputStream().write(ascii("GET / HTTP/1.1\r\n\r\n"));
      awaitStats(server, s -> s.closedProtocolError() == 1);
      awaitStats(server, s -> s.connectionsOpen() == 0);
      List<CloseLines.Line> lines = capture.about(http.getLocalPort());
      assertEquals(1, lines.size(), lines.toString());
      assertEquals(Level.DEBUG, lines.get(0).level());
      assertTrue(lines.get(0).message().contains("protocol error"), lines.toString());
      assertEquals(0, server.stats().closedHandlerFailure());
    }
  }
}
