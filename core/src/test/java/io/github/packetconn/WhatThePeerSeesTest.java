package io.github.packetconn;

import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the peer sees when a connection ends: after {@code close()} a clean end of stream; after
 * {@code abort()}, a handler's failure, a protocol error or a timeout, a reset, so that the peer's
 * {@code closeCause()} tells a failure from a graceful close. Each case for both ways a server
 * serves a connection (a {@link PacketHandler} on the I/O thread, a {@link ConnectionHandler} on a
 * virtual thread of its own), with a real peer connection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WhatThePeerSeesTest {
  /** The packet that asks the servers below to end the connection their way. */
  private static Packet end() {
    return Packet.allocate().writeInt(1);
  }

  /** A server of each style that ends a connection with {@code ending} on its first packet. */
  private interface Ending {
    void end(PacketConn conn) throws Exception;
  }

  private static PacketServer[] servers(PacketConfig config, Ending ending) throws IOException {
    PacketHandler callback = (conn, packet) -> {
      packet.release();
      ending.end(conn);
    };
    ConnectionHandler blocking = conn -> {
      Packet packet = conn.receive();
      if (packet == null) return;
      packet.release();
      ending.end(conn);
      conn.receive(); // Until the end, so that a close is not followed by the handler's own.
    };
    return new PacketServer[] {
      PacketServer.bind(LOOPBACK, config, callback), PacketServer.bind(LOOPBACK, config, blocking)
    };
  }

  /** Asserts that {@code peer}'s next receive fails with a reset, which becomes its close cause. */
  private static void assertReset(PacketConn peer, String why) {
    IOException e = assertThrows(IOException.class, () -> peer.receive(WAIT), why);
    assertInstanceOf(SocketException.class, e, why);
    assertEquals("Connection reset", e.getMessage(), why);
    assertSame(e, peer.closeCause(), why);
    assertSame(e, io.github.packetconn.testing.Await.failureOf(peer.closeFuture()), why);
  }

  private static void sendEnd(PacketConn peer) {
    try (Packet p = end()) {
      peer.send(p);
    }
  }

  @Test
  void closeIsACleanEndOfStream() throws Exception {
    for (PacketServer server : servers(PacketConfig.DEFAULT, PacketConn::close)) {
      try (server;
          PacketConn peer = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT)) {
        sendEnd(peer);
        assertNull(peer.receive(WAIT), "end of stream");
        assertNull(peer.closeCause());
      }
    }
  }

  @Test
  void abortIsAReset() throws Exception {
    for (PacketServer server : servers(PacketConfig.DEFAULT, PacketConn::abort)) {
      try (server;
          PacketConn peer = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT)) {
        sendEnd(peer);
        assertReset(peer, server.toString());
        io.github.packetconn.testing.Await.awaitStats(server, s -> s.closedAborted() == 1);
      }
    }
  }

  @Test
  void aHandlerFailureIsAReset() throws Exception {
    Ending fail = conn -> {
      throw new IllegalStateException("handler bug");
    };
    for (PacketServer server : servers(PacketConfig.DEFAULT, fail)) {
      try (server;
          PacketConn peer = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT)) {
        sendEnd(peer);
        assertReset(peer, server.toString());
        io.github.packetconn.testing.Await.awaitStats(server, s -> s.closedHandlerFailure() == 1);
      }
    }
  }

  @Test
  void aProtocolErrorIsAReset() throws Exception {
    PacketConfig small = PacketConfig.builder().maxPacketSize(1024).build();
    for (PacketServer server : servers(small, conn -> {})) {
      try (server;
          PacketConn peer = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT);
          Packet tooBig = Packet.of(new byte[2048])) {
        sendEnd(peer); // The blocking server receives this one, then waits for the next.
        peer.send(tooBig);
        assertReset(peer, server.toString());
        io.github.packetconn.testing.Await.awaitStats(server, s -> s.closedProtocolError() == 1);
      }
    }
  }

  @Test
  void aTimeoutIsAReset() throws Exception {
    PacketConfig impatient = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(200)).build();
    for (PacketServer server : servers(impatient, conn -> {})) {
      try (server;
          PacketConn peer = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT)) {
        sendEnd(peer); // Then silence: the server's readIdleTimeout ends it.
        assertReset(peer, server.toString());
        io.github.packetconn.testing.Await.awaitStats(server, s -> s.closedTimeout() == 1);
      }
    }
  }

  /** The peer that does the aborting can be a client, of either style, too. */
  @Test
  void aClientsAbortIsAResetForTheServer() throws Exception {
    io.github.packetconn.testing.Recorder recorder = new io.github.packetconn.testing.Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder)) {
      for (PacketHandler style : new PacketHandler[] {null, (c, p) -> p.release()}) {
        PacketConn client = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, style);
        int port = io.github.packetconn.testing.Loopback.port(client.localAddress());
        recorder.opened(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        client.abort();
        Throwable cause = recorder.closed(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertInstanceOf(SocketException.class, cause, (style == null ? "blocking" : "callback") + " client: " + cause);
        assertEquals("Connection reset", cause.getMessage());
      }
      io.github.packetconn.testing.Await.awaitStats(server, s -> s.closedIoError() == 2);
    }
  }

  /** A plain client on a TLS port learns at once that the server gave up, not after a timeout. */
  @Test
  void aPlainClientOnATlsPortSeesAReset() throws Exception {
    PacketConfig tls = io.github.packetconn.testing.TlsFixtures.withTls(TlsConfig.server(io.github.packetconn.testing.TlsFixtures.SERVER));
    try (PacketServer server = PacketServer.bind(LOOPBACK, tls, io.github.packetconn.testing.Handlers.ECHO);
        PacketConn plain = io.github.packetconn.testing.Traffic.connect(server, PacketConfig.DEFAULT)) {
      long start = System.nanoTime();
      sendEnd(plain); // Not a ClientHello: the server's handshake fails.
      assertReset(plain, "plain client");
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(millis < 5_000, millis + " ms");
    }
  }
}
