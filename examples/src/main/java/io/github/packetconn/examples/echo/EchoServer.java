package io.github.packetconn.examples.echo;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketServer;
import java.io.IOException;

/** Echoes every packet back to its sender: go-packetconn's example server, in Java. */
public final class EchoServer {
  private EchoServer() {}

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 14572;
    try (PacketServer server = start(port)) {
      System.out.println("echo server listening on " + server.localAddress());
      server.closeFuture().join(); // Until the process is stopped.
    }
  }

  /** Starts the server: one virtual thread per connection, blocking calls. */
  static PacketServer start(int port) throws IOException {
    return PacketServer.bind(port, conn -> {
      System.out.println("client connected: " + conn.remoteAddress());
      for (Packet packet : conn) {
        try (packet) {
          System.out.println("recv packet: " + packet.size());
          conn.send(packet); // Send the packet back to the client.
        }
      }
      System.out.println("client disconnected: " + conn.remoteAddress());
    });
  }
}
