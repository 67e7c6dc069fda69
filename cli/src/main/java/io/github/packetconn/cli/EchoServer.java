package io.github.packetconn.cli;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * A {@link PacketServer} that sends every packet back to its sender, counting the echoes.
 *
 * <p>Both of the library's server styles are available, to compare them: {@link Style#CALLBACK}
 * echoes from a {@link PacketHandler} on the I/O thread, {@link Style#BLOCKING} from a {@link
 * ConnectionHandler} that loops over each connection on its own virtual thread.
 *
 * <pre>{@code
 * try (EchoServer server =
 *     EchoServer.start(address, PacketConfig.DEFAULT, Style.CALLBACK, System.err::println)) {
 *   ... // clients connect to server.localAddress()
 *   System.out.println(server.echoed() + " packets echoed");
 * }
 * }</pre>
 *
 * <p>Safe for use from any thread.
 */
final class EchoServer implements Closeable {
  /** How the server receives packets. */
  enum Style {
    /** A {@link PacketHandler} called on the I/O thread for each packet. */
    CALLBACK("PacketHandler on the I/O threads"),
    /** A {@link ConnectionHandler} running a blocking loop on a virtual thread per connection. */
    BLOCKING("ConnectionHandler, a virtual thread per connection");

    private final String description;

    Style(String description) {
      this.description = description;
    }

    /** {@return the name used on the command line, such as {@code callback}} */
    String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** {@return the library API this style uses, for reports} */
    String description() {
      return description;
    }
  }

  private final LongAdder echoed = new LongAdder();
  private final Consumer<String> log; // Told, in one line, about each connection that failed.
  private final PacketServer server;

  private EchoServer(
      InetSocketAddress address, PacketConfig config, Style style, Consumer<String> log)
      throws IOException {
    this.log = log;
    server =
        switch (style) {
          case CALLBACK -> PacketServer.bind(address, config, new EchoHandler());
          case BLOCKING -> PacketServer.bind(address, config, (ConnectionHandler) this::serve);
        };
  }

  /**
   * Starts listening on {@code address} (port 0 picks a free port); {@code log} is told about each
   * connection that fails, such as a peer that resets or breaks the protocol.
   *
   * @throws IOException if the address cannot be bound, with the address in the message
   */
  static EchoServer start(
      InetSocketAddress address, PacketConfig config, Style style, Consumer<String> log)
      throws IOException {
    try {
      return new EchoServer(address, config, style, log);
    } catch (IOException e) {
      throw new IOException("cannot listen on " + Options.text(address) + ": " + e, e);
    }
  }

  /** The callback style. */
  private final class EchoHandler implements PacketHandler {
    @Override
    public void onPacket(PacketConn conn, Packet packet) {
      try (packet) {
        conn.send(packet);
      }
      echoed.increment();
    }

    @Override
    public void onClose(PacketConn conn, Throwable cause) {
      if (cause != null) failed(conn, cause);
    }
  }

  /** The blocking style. */
  private void serve(PacketConn conn) {
    try {
      for (Packet packet : conn) {
        try (packet) {
          conn.send(packet);
        }
        echoed.increment();
      }
    } catch (UncheckedIOException | IllegalStateException e) {
      if (conn.isOpen()) throw e; // Not a failed connection: a bug, for PacketServer to log.
      // The connection failed (the peer reset or broke the protocol) and is closed already. Report
      // it in one line as the callback style does, not as a handler failure with a stack trace.
    }
    Throwable cause = conn.closeCause();
    if (cause != null) failed(conn, cause);
  }

  private void failed(PacketConn conn, Throwable cause) {
    log.accept("connection from " + Options.text(conn.remoteAddress()) + " failed: " + cause);
  }

  /** {@return the packets echoed so far} */
  long echoed() {
    return echoed.sum();
  }

  /** {@return the bound address, with the actual port} */
  InetSocketAddress localAddress() {
    return (InetSocketAddress) server.localAddress(); // Bound to a port: see bind().
  }

  /** {@return the number of open connections} */
  int connections() {
    return server.connections().size();
  }

  /** {@return a future that completes once {@link #close()} has finished} */
  CompletableFuture<Void> closeFuture() {
    return server.closeFuture();
  }

  /** Stops accepting and closes every connection gracefully. Calling it again does nothing. */
  @Override
  public void close() throws IOException {
    server.close();
  }
}
