package io.github.packetconn;

import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connect and bind failures name the address; the JDK's own messages do not. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SocketErrorsTest {
  /**
   * {@return a socket bound to a loopback port without listening: the port stays taken, and every
   * connect to it is refused at once}
   */
  static Socket refusingPort() throws IOException {
    Socket socket = new Socket();
    socket.bind(LOOPBACK);
    return socket;
  }

  @Test
  void refusedConnectByHostAndPortNamesTheAddress() throws Exception {
    try (Socket refusing = refusingPort()) {
      int port = refusing.getLocalPort();
      ConnectException e = assertThrows(ConnectException.class, () -> PacketConn.connect("127.0.0.1", port));
      assertEquals("connect to 127.0.0.1:" + port + " refused", e.getMessage());
      assertInstanceOf(ConnectException.class, e.getCause());
      assertEquals("Connection refused", e.getCause().getMessage());
      ConnectException configured =
          assertThrows(ConnectException.class, () -> PacketConn.connect("127.0.0.1", port, PacketConfig.DEFAULT));
      assertEquals("connect to 127.0.0.1:" + port + " refused", configured.getMessage());
    }
  }

  @Test
  void refusedConnectBySocketAddressNamesTheAddress() throws Exception {
    try (Socket refusing = refusingPort()) {
      InetSocketAddress address = (InetSocketAddress) refusing.getLocalSocketAddress();
      ConnectException e =
          assertThrows(ConnectException.class, () -> PacketConn.connect(address, PacketConfig.DEFAULT, ECHO));
      assertEquals("connect to 127.0.0.1:" + address.getPort() + " refused", e.getMessage());
      assertEquals("Connection refused", e.getCause().getMessage());
    }
  }

  @Test
  void bindToAPortInUseNamesTheAddress() throws Exception {
    try (PacketServer first = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      int port = first.port();
      BindException e =
          assertThrows(BindException.class, () -> PacketServer.bind(first.localAddress(), PacketConfig.DEFAULT, ECHO));
      assertEquals("bind to 127.0.0.1:" + port + " failed: address already in use", e.getMessage());
      assertInstanceOf(BindException.class, e.getCause());
      assertEquals("Address already in use", e.getCause().getMessage());
      BindException everywhere = assertThrows(BindException.class, () -> PacketServer.bind(port, ECHO));
      assertEquals("bind to 0.0.0.0:" + port + " failed: address already in use", everywhere.getMessage());
    }
  }

  @Test
  void otherFailuresKeepTheirTypeAndTheJdkReason() {
    InetSocketAddress address = new InetSocketAddress("10.0.0.7", 14572);
    IOException unreachable = SocketErrors.connectFailed(new NoRouteToHostException("No route to host"), address);
    assertInstanceOf(NoRouteToHostException.class, unreachable);
    assertEquals("connect to 10.0.0.7:14572 failed: no route to host", unreachable.getMessage());
    IOException timedOut = SocketErrors.connectFailed(new ConnectException("Connection timed out"), address);
    assertInstanceOf(ConnectException.class, timedOut);
    assertEquals("connect to 10.0.0.7:14572 failed: connection timed out", timedOut.getMessage());
    IOException bare = SocketErrors.bindFailed(new SocketException("TCP trouble"), address);
    assertEquals(SocketException.class, bare.getClass());
    assertEquals("bind to 10.0.0.7:14572 failed: TCP trouble", bare.getMessage());
  }
}
