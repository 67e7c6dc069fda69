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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link PacketServer} that sends every packet back to its sender, counting the echoes.
 *
 * <p>Both of the library's server styles are available, to compare them: {@link Style#CALLBACK}
 * echoes from a {@link PacketHandler} on the I/O thread, {@link Style#BLOCKING} from a {@link
 * ConnectionHandler} that loops over each connection on its own virtual thread.
 *
 * <pre>{@code
 * try (EchoServer server = EchoServer.start(address, PacketConfig.DEFAULT, Style.CALLBACK)) {
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
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@return the library API this style uses, for reports} */
    String description() {
      return description;
    }
  }

  private final LongAdder echoed = new LongAdder();
  private final PacketServer server;

  private EchoServer(InetSocketAddress address, PacketConfig config, Style style)
      throws IOException {
    PacketHandler echoEachPacket =
        (conn, packet) -> {
          try (packet) {
            conn.send(packet);
          }
          echoed.increment();
        };
    server =
        switch (style) {
          case CALLBACK -> PacketServer.bind(address, config, echoEachPacket);
          case BLOCKING -> PacketServer.bind(address, config, (ConnectionHandler) this::serve);
        };
  }

  /**
   * Starts listening on {@code address} (port 0 picks a free port).
   *
   * @throws IOException if the address cannot be bound, with the address in the message
   */
  static EchoServer start(InetSocketAddress address, PacketConfig config, Style style)
      throws IOException {
    try {
      return new EchoServer(address, config, style);
    } catch (IOException e) {
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
  }

  private void serve(PacketConn conn) {
    try {
      for (Packet packet : conn) {
        try (packet) {
          conn.send(packet);
        }
        echoed.increment();
      }
    } catch (UncheckedIOException e) {
      // The peer reset the connection or broke the protocol, and the connection is already closed
      // with that cause. Returning, rather than throwing, keeps PacketServer from logging a
      // handler failure with a stack trace for an ordinary client disconnect.
    }
  }

  /** {@return the packets echoed so far} */
  long echoed() {
    return echoed.sum();
  }

  /** {@return the bound address, with the actual port} */
  InetSocketAddress localAddress() {
    return server.localAddress();
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
