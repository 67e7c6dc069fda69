package io.github.packetconn.testing;

import static io.github.packetconn.testing.Await.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;

/** The loopback address tests bind, and raw sockets for the peers that misbehave. */
public final class Loopback {
  /** The loopback address, any free port: what every TCP test binds. */
  public static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

  private Loopback() {}

  /** {@return the port of a TCP address} */
  public static int port(SocketAddress address) {
    return ((InetSocketAddress) address).getPort();
  }

  /** {@return a plain listening socket with a backlog of one: a peer for one client, raw bytes and all} */
  public static ServerSocket listener() throws IOException {
    return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
  }

  /** {@return a plain socket connected to {@code server}: a peer that sends whatever bytes it likes} */
  public static Socket socket(PacketServer server) throws IOException {
    return new Socket(InetAddress.getLoopbackAddress(), server.port());
  }

  /** Reads until the peer closed: end of stream, or a reset if it closed with our bytes unread. */
  public static void assertClosedByPeer(Socket socket) throws IOException {
    socket.setSoTimeout((int) WAIT.toMillis());
    try {
      assertEquals(-1, socket.getInputStream().read(), "the server closed the connection");
    } catch (SocketException e) {
      assertEquals("Connection reset", e.getMessage());
    }
  }
}
