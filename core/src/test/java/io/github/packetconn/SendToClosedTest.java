package io.github.packetconn;

import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.goldenHi;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Sends to a connection that is closing or closed: {@code trySend} says false, as for a full queue,
 * so a handler broadcasting to other connections needs no try/catch; {@code send} throws.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SendToClosedTest {
  private static final PacketHandler DISCARD = (conn, packet) -> packet.release();

  /** A client of each style: receiving with {@code receive()}, and with a handler. */
  private static List<PacketConn> clientsOfBothStyles(PacketServer server) throws IOException {
    return List.of(
        PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null),
        PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, DISCARD));
  }

  @Test
  void trySendToAClosedConnectionReturnsFalse() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        Packet p = goldenHi()) {
      for (PacketConn conn : clientsOfBothStyles(server)) {
        conn.close();
        assertFalse(conn.trySend(p), conn + ": closed");
        assertEquals(0, conn.queuedBytes(), conn + ": nothing queued");
      }
      for (PacketConn conn : clientsOfBothStyles(server)) {
        conn.abort();
        assertFalse(conn.trySend(p), conn + ": aborted");
      }
      assertEquals(1, p.refCount(), "a refused send leaves the caller's reference alone");
    }
  }

  @Test
  void trySendToAConnectionThePeerEndedReturnsFalse() throws Exception {
    PacketHandler closeAtOnce = (conn, packet) -> {
      packet.release();
      conn.close();
    };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, closeAtOnce);
        PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, DISCARD);
        Packet p = goldenHi()) {
      conn.send(p);
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS); // A callback connection closes at the end.
      assertFalse(conn.trySend(p));
    }
  }

  @Test
  void trySendToAConnectionThatFailedReturnsFalseAndSendThrowsTheCause() throws Exception {
    for (PacketHandler handler : new PacketHandler[] {null, DISCARD}) {
      try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
          PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), PacketConfig.DEFAULT, handler);
          Socket peer = raw.accept();
          Packet p = goldenHi()) {
        peer.getOutputStream().write(io.github.packetconn.testing.Golden.ascii("GET / HTTP/1.1\r\n\r\n"));
        if (handler == null) assertThrows(java.net.ProtocolException.class, conn::receive);
        io.github.packetconn.testing.Await.failureOf(conn.closeFuture());
        assertFalse(conn.trySend(p));
        String message = assertThrows(IllegalStateException.class, () -> conn.send(p)).getMessage();
        assertTrue(message.startsWith("closed: java.net.ProtocolException: packet size 542393671"), message);
      }
    }
  }

  @Test
  void trySendToAClosingConnectionReturnsFalseAndSendThrows() throws Exception {
    PacketConfig config = PacketConfig.builder().closeTimeout(WAIT).build();
    for (PacketHandler handler : new PacketHandler[] {null, DISCARD}) {
      try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
          PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), config, handler);
          Socket peer = raw.accept(); // Never reads: the close cannot finish.
          Packet big = Packet.of(new byte[256 << 10])) {
        assertTrue(peer.isConnected());
        io.github.packetconn.testing.Traffic.sendUntilFull(conn, i -> big);
        CompletableFuture<Void> closing = conn.closeAsync();
        assertFalse(conn.isOpen());
        assertFalse(closing.isDone(), "the peer reads nothing, so the close waits");
        assertFalse(conn.trySend(big), "closing");
        assertEquals("closed", assertThrows(IllegalStateException.class, () -> conn.send(big)).getMessage());
        assertEquals(
            "closed",
            assertThrows(IllegalStateException.class, () -> conn.send(big, Duration.ofSeconds(1))).getMessage());
        conn.abort();
      }
    }
  }

  @Test
  void sendAndTimedSendToAClosedConnectionStillThrowClosed() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        Packet p = goldenHi()) {
      for (PacketConn conn : clientsOfBothStyles(server)) {
        conn.close();
        assertEquals("closed", assertThrows(IllegalStateException.class, () -> conn.send(p)).getMessage());
        assertEquals(
            "closed", assertThrows(IllegalStateException.class, () -> conn.send(p, Duration.ZERO)).getMessage());
      }
    }
  }

  @Test
  void trySendOfAReleasedPacketToAClosedConnectionStillThrows() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null);
      conn.close();
      Packet p = goldenHi();
      p.release();
      assertThrows(IllegalStateException.class, () -> conn.trySend(p)); // A bug of the caller's.
    }
  }

  /**
   * A handler relays each packet to a connection that has closed, then echoes it: the relay is
   * refused quietly and the talker, which did nothing wrong, keeps its connection.
   */
  @Test
  void aHandlerBroadcastingToAClosedConnectionKeepsItsOwn() throws Exception {
    CompletableFuture<PacketConn> first = new CompletableFuture<>();
    List<Boolean> relayed = new CopyOnWriteArrayList<>();
    PacketHandler relay =
        new PacketHandler() {
          @Override
          public void onOpen(PacketConn conn) {
            first.complete(conn); // The first to connect; later ones find it done.
          }

          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            try (packet) {
              for (PacketConn other : List.of(first.join(), conn)) {
                if (other != conn) relayed.add(other.trySend(packet));
              }
              conn.send(packet);
            }
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, relay)) {
      PacketConn gone = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null);
      PacketConn serverSideOfGone = first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      gone.close();
      serverSideOfGone.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      try (PacketConn talker = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null)) {
        io.github.packetconn.testing.Traffic.assertEchoes(talker);
        io.github.packetconn.testing.Traffic.assertEchoes(talker);
        assertEquals(List.of(false, false), relayed, "both relays refused quietly");
        assertTrue(talker.isOpen());
        assertEquals(null, talker.closeCause());
      }
    }
  }
}
