package io.github.packetconn;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.channels.ServerSocketChannel;

/**
 * Socket failures that say which address: the JDK's {@code Connection refused} and {@code Address
 * already in use} do not, and a log with many peers then cannot tell which one failed.
 *
 * <p>Each failure keeps the JDK's exception type (callers test for {@link ConnectException} and
 * {@link BindException}) and becomes the cause of the named one. {@link SocketFile} does the same
 * for Unix domain socket paths.
 */
final class SocketErrors {
  private SocketErrors() {}

  /** Binds {@code server} to {@code address}, naming it if that fails. */
  static void bind(ServerSocketChannel server, SocketAddress address, int backlog) throws IOException {
    try {
      server.bind(address, backlog);
    } catch (SocketException e) {
      throw bindFailed(e, address);
    }
  }

  /** {@return {@code e} as "bind to 127.0.0.1:14572 failed: address already in use"} */
  static IOException bindFailed(IOException e, SocketAddress address) {
    return renamed(e, "bind to " + PacketConn.format(address) + " failed: " + jdkReason(e));
  }

  /**
   * {@return {@code e} as "connect to 127.0.0.1:14572 refused", or "connect to ... failed:" and the
   * JDK's reason for anything else (no route, a timeout the kernel gave up on)}
   */
  static IOException connectFailed(IOException e, SocketAddress address) {
    String to = "connect to " + PacketConn.format(address);
    String message = e.getMessage();
    boolean refused = e instanceof ConnectException && message != null && message.startsWith("Connection refused");
    return renamed(e, refused ? to + " refused" : to + " failed: " + jdkReason(e));
  }

  /**
   * {@return a new exception of {@code e}'s type where callers may test it, with {@code message}
   * and {@code e} as its cause}
   */
  static IOException renamed(IOException e, String message) {
    IOException named =
        switch (e) {
          case BindException b -> new BindException(message);
          case ConnectException c -> new ConnectException(message);
          case NoRouteToHostException n -> new NoRouteToHostException(message);
          case SocketException s -> new SocketException(message);
          default -> new IOException(message);
        };
    named.initCause(e);
    return named;
  }

  /** {@return the JDK's message in lower case, to follow a colon: "address already in use"} */
  private static String jdkReason(IOException e) {
    String message = e.getMessage();
    if (message == null || message.isEmpty()) return e.getClass().getName();
    boolean word = message.length() > 1 && Character.isLowerCase(message.charAt(1)); // Not "TCP".
    return word ? Character.toLowerCase(message.charAt(0)) + message.substring(1) : message;
  }
}
