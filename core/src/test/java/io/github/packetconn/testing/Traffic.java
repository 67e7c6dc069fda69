package io.github.packetconn.testing;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Golden.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * What tests send and what they check comes back, over a connection or a whole server; the
 * scenarios here run over TCP and Unix domain sockets alike.
 */
public final class Traffic {
  private Traffic() {}

  /** {@return a receiving client of {@code server}} */
  public static PacketConn connect(PacketServer server, PacketConfig config) throws IOException {
    return PacketConn.connect(server.localAddress(), config, null);
  }

  /** Sends one packet holding {@code value}. */
  public static void sendInt(PacketConn conn, int value) {
    try (Packet p = Packet.allocate().writeInt(value)) {
      conn.send(p);
    }
  }

  /**
   * Sends the packets {@code next} makes for 0, 1, 2... until the queue stays full for 200 ms: by
   * then every buffer on the way is full too. Returns how many were sent.
   */
  public static int sendUntilFull(PacketConn conn, IntFunction<Packet> next) {
    int sent = 0;
    while (true) {
      Packet p = next.apply(sent);
      if (!conn.trySend(p) && !conn.send(p, Duration.ofMillis(200))) return sent;
      assertTrue(++sent < 1_000_000, "the send queue never filled up");
    }
  }

  /** Receives until the end of the stream: packets numbered 0 to {@code count - 1}, in order. */
  public static void assertReceivesInOrder(PacketConn conn, int count) {
    int n = 0;
    for (Packet p : conn) {
      try (p) {
        assertEquals(n++, p.readInt());
      }
    }
    assertEquals(count, n);
  }

  /** Sends the golden packet and checks the echo. */
  public static void assertEchoes(PacketConn conn) throws IOException {
    try (Packet hi = goldenHi()) {
      conn.send(hi);
    }
    try (Packet echo = conn.receive(WAIT)) {
      assertEquals("cdab7856341202006869", hex(echo));
    }
  }

  /** Connects a fresh client to {@code server}, checks one echo and closes it. */
  public static void assertFreshClientEchoes(PacketServer server, PacketConfig config) throws IOException {
    try (PacketConn fresh = connect(server, config)) {
      assertEchoes(fresh);
    }
  }

  /**
   * Sends {@code count} seeded random packets (mostly small, one in ten up to maxPacketSize) from
   * one thread while this one checks every echo; the seed is in the failure message.
   */
  public static void echoRandomPackets(PacketServer server, PacketConfig config, int count) throws Exception {
    long seed = System.nanoTime();
    try (PacketConn conn = connect(server, config)) {
      CompletableFuture<Void> sent =
          CompletableFuture.runAsync(
              () -> {
                Random random = new Random(seed);
                for (int i = 0; i < count; i++) {
                  try (Packet p = Packet.allocate()) {
                    p.writeBytes(payload(random, i, config.maxPacketSize()));
                    conn.send(p);
                  }
                }
              });
      Random random = new Random(seed);
      for (int i = 0; i < count; i++) {
        byte[] expected = payload(random, i, config.maxPacketSize());
        try (Packet echo = conn.receive(WAIT)) {
          assertArrayEquals(expected, echo.toByteArray(), "seed " + seed + " packet " + i);
        }
      }
      sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** Mostly small payloads, one in ten up to the maximum; the first is empty, the second maximal. */
  private static byte[] payload(Random random, int index, int max) {
    int size =
        switch (index) {
          case 0 -> 0;
          case 1 -> max;
          default -> random.nextInt(index % 10 == 0 ? max + 1 : 2049);
        };
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }

  /** A client sends 100,000 packets and closes at once: the server receives every one, in order. */
  public static void closeFlushesPendingPackets(SocketAddress address) throws Exception {
    int count = 100_000;
    CompletableFuture<Integer> received = new CompletableFuture<>();
    ConnectionHandler counter =
        conn -> {
          int n = 0;
          for (Packet p; (p = conn.receive(WAIT)) != null; ) {
            assertEquals(n, p.readInt(), "in order");
            p.release();
            n++;
          }
          received.complete(n);
        };
    try (PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, counter)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      try (Packet p = Packet.allocate()) {
        for (int i = 0; i < count; i++) conn.send(p.clear().writeInt(i).writeBytes(new byte[20]));
      }
      conn.close();
      assertFalse(conn.isOpen());
      assertEquals(count, received.get(WAIT.toSeconds(), TimeUnit.SECONDS), "every packet, then end of stream");
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause());
    }
  }

  /** A server's handler sends 50,000 packets and returns: the client receives every one, in order. */
  public static void serverSideCloseFlushesPendingPackets(SocketAddress address) throws Exception {
    int count = 50_000;
    ConnectionHandler producer =
        conn -> {
          try (Packet p = Packet.allocate()) {
            for (int i = 0; i < count; i++) conn.send(p.clear().writeInt(i));
          }
          // Returning closes the connection gracefully.
        };
    try (PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, producer);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      assertReceivesInOrder(conn, count);
    }
  }
}
