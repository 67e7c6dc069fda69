package io.github.packetconn.benchmarks;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import io.github.packetconn.TlsConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.time.Duration;

/**
 * packetconn's echo, written the way the README teaches: a {@link PacketHandler} on the I/O thread,
 * or a {@link ConnectionHandler} looping on a virtual thread per connection. Default configuration:
 * 32 MiB maximum packet size, no CRC; the callback style also over TLS ({@link #callbackTls}).
 */
final class PacketconnEchoServer implements EchoServer {
  /** How long the timed blocking server's receives wait: far longer than any gap in a run. */
  private static final Duration RECEIVE_TIMEOUT = Duration.ofSeconds(30);

  private final PacketServer server;
  private final FailureLog failures;
  private final boolean timed; // The blocking style with receive(RECEIVE_TIMEOUT).

  private PacketconnEchoServer(SocketAddress address, boolean blocking, boolean timed) throws IOException {
    PacketConfig config = PacketConfig.DEFAULT;
    this.timed = timed;
    if (blocking) {
      failures = new FailureLog(timed ? "packetconn-blocking-timed" : "packetconn-blocking");
      server = PacketServer.bind(address, config, (ConnectionHandler) this::serve);
    } else {
      failures = new FailureLog("packetconn-callback");
      server = PacketServer.bind(address, config, new Echo());
    }
  }

  private PacketconnEchoServer(SocketAddress address, TlsConfig tls) throws IOException {
    timed = false;
    failures = new FailureLog("packetconn-callback-tls");
    server = PacketServer.bind(address, PacketConfig.builder().tls(tls).build(), new Echo());
  }

  /** Starts the callback style: echoes from a {@link PacketHandler} on the I/O thread. */
  static PacketconnEchoServer callback(SocketAddress address) throws IOException {
    return new PacketconnEchoServer(address, false, false);
  }

  /**
   * Starts the callback style over TLS: the default configuration plus {@link TlsConfig#server}
   * with the bench's key ({@link BenchTls}), TLS 1.3 and 1.2.
   */
  static PacketconnEchoServer callbackTls(SocketAddress address) throws IOException {
    return new PacketconnEchoServer(address, TlsConfig.server(BenchTls.serverContext()));
  }

  /** Starts the blocking style: a {@link ConnectionHandler} on a virtual thread per connection. */
  static PacketconnEchoServer blocking(SocketAddress address) throws IOException {
    return new PacketconnEchoServer(address, true, false);
  }

  /**
   * Starts the blocking style receiving with a timeout: {@code conn.receive(timeout)} in a loop
   * instead of {@code for (Packet p : conn)}, to price {@code receive(Duration)}.
   */
  static PacketconnEchoServer blockingTimed(SocketAddress address) throws IOException {
    return new PacketconnEchoServer(address, true, true);
  }

  private final class Echo implements PacketHandler {
    @Override
    public void onPacket(PacketConn conn, Packet packet) {
      try (packet) {
        conn.send(packet);
      }
    }

    @Override
    public void onClose(PacketConn conn, Throwable cause) {
      if (cause != null) failures.connectionFailed(conn.remoteAddress(), cause);
    }
  }

  private void serve(PacketConn conn) {
    try {
      if (timed) {
        for (Packet packet; (packet = receive(conn)) != null; ) {
          try (Packet p = packet) {
            conn.send(p);
          }
        }
      } else {
        for (Packet packet : conn) {
          try (packet) {
            conn.send(packet);
          }
        }
      }
    } catch (UncheckedIOException | IllegalStateException e) {
      if (conn.isOpen()) throw e; // A bug, not a failed connection: let PacketServer log it.
    }
    Throwable cause = conn.closeCause();
    if (cause != null) failures.connectionFailed(conn.remoteAddress(), cause);
  }

  /** {@return the next packet within {@link #RECEIVE_TIMEOUT}, or null at the end; failures unchecked} */
  private static Packet receive(PacketConn conn) {
    try {
      return conn.receive(RECEIVE_TIMEOUT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public int port() {
    return server.port();
  }

  @Override
  public void close() throws IOException {
    server.close();
    server.closeFuture().join();
    failures.summarize();
  }
}
