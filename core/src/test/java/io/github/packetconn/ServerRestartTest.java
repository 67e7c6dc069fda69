package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Once {@link PacketServer#close()} returns, its address is free: a server restarted on a fixed port
 * (as test suites and in-process restarts do) binds at once, whichever way its last connection ended.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerRestartTest {
  private static final int ROUNDS = 100;

  /** How the one connection of a round ends before the server closes. */
  private enum Ending {
    CLIENT_CLOSES,
    HANDLER_CLOSES,
    HANDLER_ABORTS,
    HANDLER_THROWS
  }

  private static final PacketHandler HANDLER =
      (conn, packet) -> {
        Ending ending;
        try (packet) {
          ending = Ending.values()[packet.readInt()];
        }
        switch (ending) {
          case CLIENT_CLOSES -> {
            try (Packet reply = Packet.allocate().writeInt(ending.ordinal())) {
              conn.send(reply);
            }
          }
          case HANDLER_CLOSES -> conn.close();
          case HANDLER_ABORTS -> conn.abort();
          case HANDLER_THROWS -> throw new IllegalStateException("expected by ServerRestartTest");
        }
      };

  @Test
  void closedTcpServerFreesItsPortAtOnce() throws Exception {
    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), freePort());
    for (int round = 0; round < ROUNDS; round++) {
      Ending ending = Ending.values()[round % Ending.values().length];
      runRound(address, ending, round);
      int r = round;
      assertThrows( // No listener left behind: the socket is closed, not merely unregistered.
          ConnectException.class, () -> SocketChannel.open(address).close(), () -> "round " + r);
    }
  }

  @Test
  void closedUnixServerFreesItsPathAtOnce(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("restart.sock");
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
    for (int round = 0; round < ROUNDS / 4; round++) {
      runRound(address, Ending.values()[round % Ending.values().length], round);
      assertFalse(Files.exists(path), "round " + round + ": socket file left behind");
    }
  }

  /**
   * Binds {@code address}, which must succeed, has one client send one packet, waits for the
   * connection to end the given way, and closes the server.
   */
  private static void runRound(SocketAddress address, Ending ending, int round) throws Exception {
    PacketServer server;
    try {
      server = PacketServer.bind(address, PacketConfig.DEFAULT, HANDLER);
    } catch (IOException e) {
      throw new AssertionError("round " + round + " (after " + ending + "): bind failed: " + e, e);
    }
    try (server) {
      try (PacketConn client = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null)) {
        try (Packet request = Packet.allocate().writeInt(ending.ordinal())) {
          client.send(request);
        }
        if (ending == Ending.CLIENT_CLOSES) {
          try (Packet reply = client.receive(WAIT)) {
            assertEquals(ending.ordinal(), reply.readInt());
          }
        } else {
          drainUntilEnd(client); // The server ended it: a clean end, or a reset.
        }
      }
      awaitTrue(() -> server.connections().isEmpty(), () -> "round " + round + ": " + server);
    }
  }

  private static void drainUntilEnd(PacketConn client) {
    try {
      for (Packet p; (p = client.receive(WAIT)) != null; ) p.close();
    } catch (IOException e) {
      // A reset is an end too.
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocketChannel probe = ServerSocketChannel.open()) {
      probe.bind(LOOPBACK);
      return ((InetSocketAddress) probe.getLocalAddress()).getPort();
    }
  }
}
