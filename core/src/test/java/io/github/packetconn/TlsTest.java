package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitStats;
import static io.github.packetconn.testing.Handlers.BLOCKING_ECHO;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Handlers.echoReportingFailure;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.TlsFixtures.ANONYMOUS;
import static io.github.packetconn.testing.TlsFixtures.CLIENT;
import static io.github.packetconn.testing.TlsFixtures.ELSEWHERE;
import static io.github.packetconn.testing.TlsFixtures.SERVER;
import static io.github.packetconn.testing.TlsFixtures.WRONG_CA;
import static io.github.packetconn.testing.TlsFixtures.withTls;
import static io.github.packetconn.testing.Traffic.echoRandomPackets;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real TLS over loopback, with the keys and certificates of {@link TlsFixtures}: a CA, a server and a
 * client certificate it signed, a server certificate for another host, and a CA that signed none of
 * them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsTest {
  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void echoesOverTlsWithBothHandlerStyles(String protocol) throws Exception {
    PacketConfig serverConfig = withTls(TlsConfig.server(SERVER).protocols(protocol));
    PacketConfig clientConfig = withTls(TlsConfig.client(ANONYMOUS).protocols(protocol));
    try (PacketServer callback = PacketServer.bind(LOOPBACK, serverConfig, ECHO);
        PacketServer blocking = PacketServer.bind(LOOPBACK, serverConfig, BLOCKING_ECHO)) {
      echoRandomPackets(callback, clientConfig, 500);
      echoRandomPackets(blocking, clientConfig, 500);
      try (PacketConn conn = PacketConn.connect(callback.localAddress(), clientConfig, null)) {
        SSLSession session = conn.tlsSession();
        assertNotNull(session, "connect() returns once the handshake is done");
        assertEquals(protocol, session.getProtocol());
      }
    }
  }

  @Test
  void plainConnectionsHaveNoSessionAndConfigsAreChecked() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null)) {
      assertNull(conn.tlsSession());
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> PacketServer.bind(LOOPBACK, withTls(TlsConfig.client(CLIENT)), ECHO));
    assertTrue(e.getMessage().startsWith("a client's TlsConfig in a server's PacketConfig"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> TlsConfig.client(CLIENT).clientAuth(TlsConfig.ClientAuth.NEED));
    assertThrows(IllegalStateException.class, () -> TlsConfig.server(SERVER).serverName("x"));
    assertEquals(
        "handshakeTimeout <= 0: PT0S",
        assertThrows(IllegalArgumentException.class, () -> TlsConfig.server(SERVER).handshakeTimeout(Duration.ZERO))
            .getMessage());
  }

  @Test
  void mutualTlsNeedsAClientCertificateTheServerTrusts() throws Exception {
    CompletableFuture<String> peer = new CompletableFuture<>();
    PacketHandler whoIsIt =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) throws Exception {
            try (packet) {
              peer.complete(conn.tlsSession().getPeerPrincipal().getName());
              conn.send(packet);
            }
          }
        };
    CompletableFuture<Throwable> refusal = new CompletableFuture<>();
    PacketHandler handler =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) throws Exception {
            whoIsIt.onPacket(conn, packet);
          }

          @Override
          public void onClose(PacketConn conn, Throwable cause) {
            if (cause != null) refusal.complete(cause);
          }
        };
    PacketConfig serverConfig = withTls(TlsConfig.server(SERVER).clientAuth(TlsConfig.ClientAuth.NEED));
    try (PacketServer server = PacketServer.bind(LOOPBACK, serverConfig, handler)) {
      try (PacketConn conn = PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(CLIENT)), null);
          Packet hello = Packet.of(new byte[] {1, 2, 3})) {
        conn.send(hello);
        try (Packet echo = conn.receive(WAIT)) {
          assertArrayEquals(new byte[] {1, 2, 3}, echo.toByteArray());
        }
        assertEquals("CN=packetconn test client", peer.get(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals("CN=localhost", conn.tlsSession().getPeerPrincipal().getName());
      }
      // Without a certificate the server refuses. TLS 1.3 finishes the client's side of the handshake
      // first, so the client learns it from the server's alert or hang-up, at connect or after.
      assertThrows(
          IOException.class,
          () -> {
            try (PacketConn conn =
                    PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(ANONYMOUS)), null);
                Packet hello = Packet.of(new byte[] {1})) {
              conn.send(hello);
              if (conn.receive(WAIT) == null) throw new IOException("hung up");
            }
          });
      Throwable cause = refusal.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(SSLHandshakeException.class, cause);
      assertTrue(cause.getMessage().contains("certificate"), cause.getMessage());
    }
  }

  @Test
  void aServerCertificateFromAnotherCaIsRefusedAtConnect() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(SERVER)), ECHO)) {
      SSLHandshakeException e =
          assertThrows(
              SSLHandshakeException.class,
              () -> PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(WRONG_CA)), null));
      assertTrue(e.getMessage().startsWith("TLS handshake with " + PacketConn.format(server.localAddress()) + " failed: "), e.getMessage());
      assertTrue(e.getMessage().contains("PKIX path"), e.getMessage());
    }
  }

  @Test
  void hostNameIsVerifiedAndSentForSni() throws Exception {
    CompletableFuture<Object> requested = new CompletableFuture<>();
    PacketHandler sni =
        (conn, packet) -> {
          try (packet) {
            requested.complete(((ExtendedSSLSession) conn.tlsSession()).getRequestedServerNames());
            conn.send(packet);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(ELSEWHERE)), sni)) {
      SSLHandshakeException e =
          assertThrows(
              SSLHandshakeException.class,
              () -> PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(ANONYMOUS)), null));
      assertTrue(e.getMessage().contains("No subject alternative names matching IP address 127.0.0.1"), e.getMessage());
      TlsConfig named = TlsConfig.client(ANONYMOUS).serverName("example.com");
      try (PacketConn conn = PacketConn.connect(server.localAddress(), withTls(named), null);
          Packet hello = Packet.of(new byte[] {7})) {
        conn.send(hello);
        conn.receive(WAIT).release();
      }
      assertEquals(java.util.List.of(new SNIHostName("example.com")), requested.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      TlsConfig unverified = TlsConfig.client(ANONYMOUS).hostnameVerification(false);
      try (PacketConn conn = PacketConn.connect(server.localAddress(), withTls(unverified), null)) {
        assertNotNull(conn.tlsSession(), "without verification, any certificate the trust store accepts");
      }
    }
  }

  @Test
  void plainClientOnATlsServerAndTlsClientOnAPlainServerFailClearly() throws Exception {
    CompletableFuture<Throwable> serverSaw = new CompletableFuture<>();
    try (PacketServer tlsServer =
        PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(SERVER)), echoReportingFailure(serverSaw))) {
      try (PacketConn plain = PacketConn.connect(tlsServer.localAddress(), PacketConfig.DEFAULT, null);
          Packet hello = Packet.of(new byte[] {1, 2, 3, 4, 5, 6, 7, 8})) {
        plain.send(hello);
        try {
          assertNull(plain.receive(WAIT), "the TLS server hangs up");
        } catch (IOException hungUp) {
          // Or resets: either way the plain client is not left waiting.
        }
      }
      Throwable cause = serverSaw.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(SSLHandshakeException.class, cause);
      assertTrue(cause.getMessage().endsWith("(is the peer speaking plain packetconn, without TLS?)"), cause.getMessage());
    }
    CompletableFuture<Throwable> plainSaw = new CompletableFuture<>();
    try (PacketServer plainServer =
        PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, echoReportingFailure(plainSaw))) {
      SSLHandshakeException e =
          assertThrows(
              SSLHandshakeException.class,
              () -> PacketConn.connect(plainServer.localAddress(), withTls(TlsConfig.client(ANONYMOUS)), null));
      // The plain server resets a connection whose first frame is a ClientHello: a protocol error.
      assertTrue(e.getMessage().startsWith("the peer reset the connection during the TLS handshake ("), e.getMessage());
      assertEquals("Connection reset", e.getCause().getMessage());
      Throwable cause = plainSaw.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(ProtocolException.class, cause);
      assertTrue(cause.getMessage().contains("is a TLS ClientHello"), cause.getMessage());
    }
  }

  /** {@return what a TLS server says of a plain peer, around the JDK's reason {@code jdk}} */
  static String plainPeerMessage(String peer, Throwable jdk) {
    assertTrue(jdk.getMessage().matches("(Unsupported or u|U)nrecognized SSL message.*"), jdk.getMessage());
    return "TLS handshake with " + peer + " failed: " + jdk.getMessage()
        + " (is the peer speaking plain packetconn, without TLS?)";
  }

  @Test
  void aPlainPeerIsReportedOnceInOneLogLine() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    try (CloseLines capture = CloseLines.capture();
        PacketServer server =
            PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(SERVER)), echoReportingFailure(failure));
        Socket plain = socket(server)) {
      plain.getOutputStream().write(new byte[] {3, 0, 0, 0, 1, 2, 3}); // A plain frame, at once.
      awaitStats(server, s -> s.closedIoError() == 1); // Counted after the line is logged.
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      String peer = "127.0.0.1:" + plain.getLocalPort();
      String message = plainPeerMessage(peer, cause.getCause());
      assertInstanceOf(SSLHandshakeException.class, cause);
      assertEquals(message, cause.getMessage());
      List<CloseLines.Line> lines = capture.about(plain.getLocalPort());
      assertEquals(1, lines.size(), lines.toString());
      assertEquals(
          "PacketConn[" + PacketConn.format(server.localAddress()) + " -> " + peer + ", closed] closed: "
              + "javax.net.ssl.SSLHandshakeException: " + message,
          lines.get(0).message());
    }
  }

  @Test
  void aPlainPeerWhoseBytesAreThereBeforeTheHandshakeIsReportedOnce() throws Exception {
    // The server's first handshake step reads them: the step that used to wrap the message twice.
    try (ServerSocketChannel listener = ServerSocketChannel.open().bind(LOOPBACK);
        SocketChannel plain = SocketChannel.open(listener.getLocalAddress());
        SocketChannel accepted = listener.accept()) {
      plain.write(ByteBuffer.wrap(new byte[] {3, 0, 0, 0, 1, 2, 3}));
      SocketAddress peer = accepted.getRemoteAddress();
      // Blocking: the handshake's first read waits for the frame, so begin() is where it fails.
      TlsChannel tls = new TlsChannel(accepted, TlsConfig.server(SERVER).newEngine(peer), PacketConn.format(peer));
      SSLHandshakeException e = assertThrows(SSLHandshakeException.class, tls::begin);
      assertEquals(plainPeerMessage(PacketConn.format(peer), e.getCause()), e.getMessage());
    }
  }

  @Test
  void aPeerThatNeverShakesHandsTimesOut() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    PacketConfig config = withTls(TlsConfig.server(SERVER).handshakeTimeout(Duration.ofMillis(200)));
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, echoReportingFailure(failure));
        Socket silent = socket(server)) {
      long start = System.nanoTime();
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertInstanceOf(SocketTimeoutException.class, cause);
      assertEquals(
          "TLS handshake with " + PacketConn.format((java.net.InetSocketAddress) silent.getLocalSocketAddress())
              + " not finished after 200 ms",
          cause.getMessage());
      assertTrue(millis >= 150, "fired after " + millis + " ms");
      assertEquals(
          "Connection reset",
          assertThrows(java.net.SocketException.class, () -> silent.getInputStream().read()).getMessage(),
          "the server reset the connection");
    }
  }

  @Test
  void aHandlerThatSendsAndReturnsAtOnceIsHeardAfterTheHandshake() throws Exception {
    // serve() closes the connection when the handler returns, maybe before the I/O thread has even
    // registered it: the packet waits for the handshake, then goes, then the closing alert.
    ConnectionHandler greet =
        conn -> {
          try (Packet p = Packet.of(new byte[] {42})) {
            conn.send(p);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(SERVER)), greet)) {
      for (int i = 0; i < 20; i++) {
        try (PacketConn conn = PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(ANONYMOUS)), null)) {
          try (Packet p = conn.receive(WAIT)) {
            assertArrayEquals(new byte[] {42}, p.toByteArray());
          }
          assertNull(conn.receive(WAIT), "then a clean end");
        }
      }
    }
  }

  @Test
  void gracefulCloseOverTlsLosesNothing() throws Exception {
    int count = 20_000;
    CompletableFuture<Integer> received = new CompletableFuture<>();
    ConnectionHandler counter =
        conn -> {
          int n = 0;
          for (Packet p : conn) {
            try (p) {
              assertEquals(n++, p.readInt());
            }
          }
          received.complete(n);
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, withTls(TlsConfig.server(SERVER)), counter)) {
      PacketConn conn = PacketConn.connect(server.localAddress(), withTls(TlsConfig.client(ANONYMOUS)), null);
      for (int i = 0; i < count; i++) {
        try (Packet p = Packet.allocate().writeInt(i).writeBytes(new byte[100])) {
          conn.send(p);
        }
      }
      conn.close();
      assertEquals(count, received.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause());
    }
  }
}
