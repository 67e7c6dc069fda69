package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Handlers.BLOCKING_ECHO;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.echoRandomPackets;
import static io.github.packetconn.testing.Traffic.sendUntilFull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.packetconn.testing.Traffic;
import java.io.IOException;
import java.net.BindException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * The echo suite of {@link PacketConnTest} over Unix domain sockets, and what only they have: the
 * socket file, its path in addresses and messages.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UnixSocketTest {
  /** Puts temporary directories in /tmp: a socket's path must fit in ~100 bytes (sun_path). */
  static final class ShortTempDir implements TempDirFactory {
    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context)
        throws IOException {
      Path tmp = Path.of("/tmp");
      return Files.isDirectory(tmp) ? Files.createTempDirectory(tmp, "pc") : Files.createTempDirectory("pc");
    }
  }

  @TempDir(factory = ShortTempDir.class)
  Path dir;

  Path path;
  UnixDomainSocketAddress address;

  @BeforeEach
  void socketPath() {
    path = dir.resolve("echo.sock");
    address = UnixDomainSocketAddress.of(path);
  }

  @Test
  void echoesSeededRandomPacketsWithCallbackServer() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(256 << 10).build();
    try (PacketServer server = PacketServer.bind(address, config, ECHO)) {
      echoRandomPackets(server, config, 3000);
    }
  }

  @Test
  void echoesSeededRandomPacketsWithVirtualThreadServer() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(256 << 10).crc(true).build();
    try (PacketServer server = PacketServer.bind(address, config, BLOCKING_ECHO)) {
      echoRandomPackets(server, config, 3000);
    }
  }

  @Test
  @SuppressWarnings("try") // The server only has to be open.
  void pathOverloadsBindAndConnect() throws Exception {
    try (PacketServer server = PacketServer.bind(path, ECHO);
        PacketConn conn = PacketConn.connect(path);
        Packet hi = goldenHi()) {
      conn.send(hi);
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals(10, echo.size());
      }
    }
  }

  @Test
  void closeFlushesPendingPackets() throws Exception {
    Traffic.closeFlushesPendingPackets(address);
  }

  @Test
  void serverSideCloseFlushesPendingPackets() throws Exception {
    Traffic.serverSideCloseFlushesPendingPackets(address);
  }

  @Test
  void echoServerStopsReadingAFloodingClientThatDoesNotRead() throws Exception {
    PacketConfig small = PacketConfig.builder().sendQueueBytes(4 << 10).build();
    try (PacketServer server = PacketServer.bind(address, small, ECHO);
        PacketConn conn = connect(server, small);
        Packet p = Packet.allocate()) {
      int sent = sendUntilFull(conn, i -> p.clear().writeInt(i).writeBytes(new byte[200]));
      assertTrue(conn.queuedBytes() > 0, "the client's queue filled up");
      for (int i = 0; i < sent; i++) {
        try (Packet echo = conn.receive(WAIT)) {
          assertEquals(i, echo.readInt(), "every echo, in order, after the server resumed");
        }
      }
    }
  }

  @Test
  void serverCloseClosesItsConnectionsAndDeletesTheSocketFile() throws Exception {
    PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, ECHO);
    assertTrue(Files.exists(path), "bind creates the socket file");
    PacketConn conn = connect(server, PacketConfig.DEFAULT);
    try (Packet p = goldenHi()) {
      conn.send(p);
    }
    conn.receive(WAIT).release();
    server.close();
    assertFalse(Files.exists(path), "close deletes the socket file");
    assertNull(conn.receive(WAIT), "the server's close reaches the client as a clean end");
    conn.close();
    SocketException e =
        assertThrows(SocketException.class, () -> PacketConn.connect(address, PacketConfig.DEFAULT, null));
    assertEquals("cannot connect to " + path + ": No such file or directory", e.getMessage());
    server.close(); // Idempotent: the file is gone already.
  }

  @Test
  void addressesAndToStringShowThePath() throws Exception {
    try (PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      assertEquals(address, server.localAddress());
      assertEquals(address, conn.remoteAddress());
      assertEquals(UnixDomainSocketAddress.of(""), conn.localAddress(), "the client end has no name");
      assertEquals("PacketConn[unnamed -> " + path + ", open]", conn.toString());
      assertTrue(server.toString().startsWith("PacketServer[" + path + ", "), server.toString());
      IllegalStateException e = assertThrows(IllegalStateException.class, server::port);
      assertEquals("not a TCP server: " + path, e.getMessage());
    }
  }

  @Test
  @SuppressWarnings("try") // The server only has to be open.
  void wrapsAConnectedUnixChannel() throws Exception {
    try (PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = PacketConn.wrap(SocketChannel.open(address));
        Packet hi = goldenHi()) {
      conn.send(hi);
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals(10, echo.size());
      }
    }
  }

  @Test
  void staleSocketFileIsReplaced() throws Exception {
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(address); // Closing does not delete the file: as if the process had died.
    }
    assertTrue(Files.exists(path));
    try (PacketServer server = PacketServer.bind(address, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT);
        Packet hi = goldenHi()) {
      conn.send(hi);
      conn.receive(WAIT).release();
    }
    assertFalse(Files.exists(path));
  }

  @Test
  void bindRefusesAPathWhereAServerListens() throws Exception {
    try (PacketServer first = PacketServer.bind(address, PacketConfig.DEFAULT, ECHO)) {
      BindException e =
          assertThrows(BindException.class, () -> PacketServer.bind(address, PacketConfig.DEFAULT, ECHO));
      assertEquals("cannot bind " + path + ": a server is listening on it", e.getMessage());
      try (PacketConn conn = connect(first, PacketConfig.DEFAULT);
          Packet hi = goldenHi()) {
        conn.send(hi);
        conn.receive(WAIT).release(); // The first server still serves, on its own file.
      }
    }
  }

  @Test
  void bindRefusesAFileThatIsNotASocket() throws Exception {
    Files.writeString(path, "precious");
    BindException e = assertThrows(BindException.class, () -> PacketServer.bind(path, ECHO));
    assertEquals("cannot bind " + path + ": the file exists and is not a socket", e.getMessage());
    assertEquals("precious", Files.readString(path), "left alone");
  }

  @Test
  void bindInAMissingDirectoryNamesThePath() {
    Path missing = dir.resolve("missing").resolve("echo.sock");
    SocketException e = assertThrows(SocketException.class, () -> PacketServer.bind(missing, ECHO));
    assertEquals("cannot bind " + missing + ": No such file or directory", e.getMessage());
  }

  @Test
  void bindWithoutWritePermissionNamesThePath() throws Exception {
    Path readOnly = Files.createDirectory(dir.resolve("ro"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    assumeFalse(Files.isWritable(readOnly), "root writes anywhere");
    Path denied = readOnly.resolve("echo.sock");
    SocketException e = assertThrows(SocketException.class, () -> PacketServer.bind(denied, ECHO));
    assertEquals("cannot bind " + denied + ": Permission denied", e.getMessage());
  }

  @Test
  void pathTooLongIsRefusedWithThePath() {
    Path tooLong = dir.resolve("x".repeat(120));
    SocketException e = assertThrows(SocketException.class, () -> PacketServer.bind(tooLong, ECHO));
    assertEquals("cannot bind " + tooLong + ": Unix domain path too long", e.getMessage());
    assertFalse(Files.exists(tooLong));
  }

  @Test
  void tcpNoDelayIsIgnoredOnUnixSockets() throws Exception {
    PacketConfig nagle = PacketConfig.builder().tcpNoDelay(false).build();
    try (PacketServer server = PacketServer.bind(address, nagle, ECHO);
        PacketConn conn = connect(server, nagle);
        Packet hi = goldenHi()) {
      conn.send(hi);
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals(10, echo.size());
      }
    }
  }
}
