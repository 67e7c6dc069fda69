package io.github.packetconn;

import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * How a {@link PacketConn} gets its socket and its {@link Transport}: connects the socket (within
 * {@link PacketConfig#connectTimeout()} over TCP, or to a Unix socket file), sets its options, puts
 * TLS over it, chooses the transport, and waits for a client's TLS handshake.
 *
 * <p>Thread rule: static methods, run on the thread that connects, wraps or accepts.
 */
final class Connector {
  private Connector() {}

  /** Connects to {@code address}: see {@link PacketConn#connect(SocketAddress, PacketConfig, PacketHandler)}. */
  static PacketConn connect(SocketAddress address, PacketConfig config, PacketHandler handler) throws IOException {
    Objects.requireNonNull(config, "config");
    UnixDomainSocketAddress unix = address instanceof UnixDomainSocketAddress u ? u : null;
    SocketChannel channel = unix != null ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
    try {
      if (config.tls() != null && !config.tls().isClient()) {
        throw new IllegalArgumentException("a server's TlsConfig in a client's PacketConfig: " + config.tls());
      }
      if (unix == null) {
        connect(channel, address, config.connectTimeout());
      } else {
        SocketFile.connect(channel, unix);
      }
      PacketConn conn = new PacketConn(channel, config, handler, null, address).start();
      if (conn.transport().tls() != null && EventLoop.current() == null) awaitHandshake(conn);
      return conn;
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel, e);
      throw e;
    }
  }

  /**
   * Connects {@code channel}, in blocking mode, waiting at most {@code timeout}; the caller closes
   * the channel if this throws.
   */
  private static void connect(SocketChannel channel, SocketAddress address, Duration timeout)
      throws IOException {
    // The socket adaptor's timed connect polls the connecting socket; 0 would mean no timeout.
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    try {
      channel.socket().connect(address, millis);
    } catch (SocketTimeoutException e) {
      SocketTimeoutException timedOut =
          new SocketTimeoutException(
              "connect to " + (address instanceof InetSocketAddress a ? PacketConn.format(a) : address)
                  + " timed out after " + millis + " ms (connectTimeout)");
      timedOut.initCause(e);
      throw timedOut;
    } catch (java.net.SocketException e) {
      throw SocketErrors.connectFailed(e, address); // "connect to 127.0.0.1:14572 refused"
    }
  }

  /** Waits for the TLS handshake, so that connect() reports its failure. */
  private static void awaitHandshake(PacketConn conn) throws IOException {
    try {
      conn.transport().established().get();
    } catch (ExecutionException e) {
      throw Transport.asIOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      conn.abort();
      throw new InterruptedIOException("interrupted during the TLS handshake");
    }
  }

  /**
   * {@return true if a connection with {@code handler} (null: blocking style) owns its socket in
   * blocking mode ({@link SocketTransport}) rather than living on an I/O thread}
   */
  static boolean ownsSocket(PacketConfig config, PacketHandler handler) {
    return handler == null && config.tls() == null && SocketTransport.ENABLED;
  }

  /**
   * Sets the options of {@code conn}'s connected {@code channel} and makes the transport that moves
   * its bytes; {@code target} is the address connected to (the TLS peer's name), or null for the
   * channel's remote address.
   */
  static Transport transport(
      PacketConn conn,
      SocketChannel channel,
      PacketConfig config,
      PacketHandler handler,
      ReceiveQueue inbox,
      Consumer<PacketConn> onClosed,
      SocketAddress target)
      throws IOException {
    SocketAddress remote = conn.remoteAddress();
    if (remote instanceof InetSocketAddress) { // Unix domain sockets have no Nagle to turn off.
      channel.setOption(StandardSocketOptions.TCP_NODELAY, config.tcpNoDelay());
      if (config.tcpKeepAlive()) channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }
    if (ownsSocket(config, handler)) return new SocketTransport(conn, channel, config, inbox, onClosed);
    TlsConfig tlsConfig = config.tls();
    TlsChannel tls =
        tlsConfig == null
            ? null
            : new TlsChannel(
                channel, tlsConfig.newEngine(target != null ? target : remote), PacketConn.format(remote));
    return new LoopTransport(conn, channel, config, handler, inbox, onClosed, tls);
  }

  private static void closeQuietly(Closeable closeable, Throwable failure) {
    try {
      closeable.close();
    } catch (IOException e) {
      if (failure != null) failure.addSuppressed(e);
    }
  }
}
