package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitStats;
import static io.github.packetconn.testing.Golden.ascii;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Handlers.MISCHIEF;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.sendInt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.CapturedLog;
import io.github.packetconn.testing.Frames;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StatsTest {
  static final int COUNT = 10;
  static final int SIZE = 100;
  static final int FRAME = 4 + SIZE;

  private static final String HANDLER_BUG = "java.lang.IllegalStateException: handler bug"; // MISCHIEF's.

  @Test
  void countersAfterAKnownExchange() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      try (conn) {
        assertEquals(new ConnectionStats(0, 0, 0, 0, 0, 0), conn.stats());
        try (Packet p = Packet.of(new byte[SIZE])) {
          for (int i = 0; i < COUNT; i++) conn.send(p);
        }
        for (int i = 0; i < COUNT; i++) {
          try (Packet echo = conn.receive(WAIT)) {
            assertEquals(SIZE, echo.size());
          }
        }
      }
      // After close: the I/O thread counts a write after it returns, maybe after the echo arrived.
      ConnectionStats client = conn.stats();
      assertEquals(COUNT, client.packetsIn());
      assertEquals(COUNT * FRAME, client.bytesIn());
      assertEquals(COUNT, client.packetsOut());
      assertEquals(COUNT * FRAME, client.bytesOut());
      assertEquals(0, client.queuedBytes());
      assertTrue(client.flushes() >= 1 && client.flushes() <= COUNT, client.toString());
      assertEquals((double) COUNT / client.flushes(), client.packetsPerFlush());

      ServerStats s = awaitStats(server, t -> t.closedClean() == 1);
      assertEquals(0, s.connectionsOpen());
      assertEquals(1, s.connectionsAccepted());
      assertEquals(COUNT, s.packetsIn());
      assertEquals(COUNT * FRAME, s.bytesIn());
      assertEquals(COUNT, s.packetsOut());
      assertEquals(COUNT * FRAME, s.bytesOut());
      assertEquals(0, s.queuedBytes());
      assertTrue(s.flushes() >= 1 && s.flushes() <= COUNT, s.toString());
    }
  }

  @Test
  void serverTotalsIncludeOpenConnections() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn a = connect(server, PacketConfig.DEFAULT);
        PacketConn b = connect(server, PacketConfig.DEFAULT)) {
      assertEchoes(a);
      assertEchoes(b);
      assertEchoes(b);
      int frame = 4 + 10; // The golden packet: 10 bytes.
      ServerStats s = awaitStats(server, t -> t.bytesOut() == 3 * frame);
      assertEquals(2, s.connectionsOpen());
      assertEquals(2, s.connectionsAccepted());
      assertEquals(3, s.packetsIn());
      assertEquals(3 * frame, s.bytesIn());
      assertEquals(3, s.packetsOut());
      assertEquals(0, s.closedClean());
    }
  }

  @Test
  void closedConnectionsAreCountedByCause() throws Exception {
    PacketConfig config = PacketConfig.builder().closeTimeout(Duration.ofMillis(300)).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, MISCHIEF)) {
      try (PacketConn clean = connect(server, PacketConfig.DEFAULT)) {
        assertEquals(7, roundTrip(clean, 7));
      }
      awaitStats(server, s -> s.closedClean() == 1);

      try (Socket http = socket(server)) {
        http.getOutputStream().write(ascii("GET / HTTP/1.1\r\n\r\n"));
        awaitStats(server, s -> s.closedProtocolError() == 1);
      }

      try (Socket cut = socket(server)) {
        OutputStream out = cut.getOutputStream();
        out.write(new byte[] {10, 0, 0, 0, 1, 2, 3}); // A 10-byte payload cut after 3.
        cut.shutdownOutput();
        awaitStats(server, s -> s.closedTruncated() == 1);
      }

      try (Socket reset = socket(server)) {
        awaitStats(server, s -> s.connectionsOpen() == 1);
        reset.setSoLinger(true, 0); // Close with a reset.
      }
      awaitStats(server, s -> s.closedIoError() == 1);

      try (PacketConn failing = connect(server, PacketConfig.DEFAULT)) {
        sendInt(failing, 1);
        awaitStats(server, s -> s.closedHandlerFailure() == 1);
        LogRecord line = // The one line a handler's bug gets, with its stack trace.
            CapturedLog.await(Level.WARNING, "closed: handler failed: " + HANDLER_BUG, WAIT);
        assertEquals(HANDLER_BUG, line.getThrown().toString());
        failing.abort();
      }
      try (PacketConn aborted = connect(server, PacketConfig.DEFAULT)) {
        sendInt(aborted, 2);
        awaitStats(server, s -> s.closedAborted() == 1);
        aborted.abort();
      }
      try (Socket sleeper = socket(server)) { // Never reads.
        sleeper.getOutputStream().write(Frames.encode(new byte[] {3, 0, 0, 0}, false));
        awaitStats(server, s -> s.closedTimeout() == 1);
      }

      ServerStats s = awaitStats(server, t -> t.connectionsOpen() == 0);
      assertEquals(
          s.connectionsAccepted(),
          s.closedClean() + s.closedProtocolError() + s.closedTruncated() + s.closedIoError()
              + s.closedTimeout() + s.closedAborted() + s.closedHandlerFailure(),
          s.toString());
      assertEquals(1, s.closedProtocolError(), s.toString());
      assertEquals(1, s.closedTruncated(), s.toString());
      assertEquals(1, s.closedIoError(), s.toString());
      assertEquals(1, s.closedTimeout(), s.toString());
      assertEquals(1, s.closedAborted(), s.toString());
      assertEquals(1, s.closedHandlerFailure(), s.toString());
    }
  }

  private static int roundTrip(PacketConn conn, int value) throws Exception {
    sendInt(conn, value);
    try (Packet echo = conn.receive(WAIT)) {
      return echo.readInt();
    }
  }
}
