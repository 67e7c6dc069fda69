package io.github.packetconn.examples.echo;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConn;
import java.io.IOException;

/** Sends one 1 KiB packet and prints the size of the reply: go-packetconn's example client. */
public final class EchoClient {
  private EchoClient() {}

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 14572;
    System.out.println("recv packet: " + roundTrip("localhost", port));
  }

  /** Sends 1024 zero bytes and returns the size of the echo. */
  static int roundTrip(String host, int port) throws IOException {
    try (PacketConn conn = PacketConn.connect(host, port);
        Packet packet = Packet.allocate()) {
      packet.writeBytes(new byte[1024]);
      conn.send(packet);
      try (Packet reply = conn.receive()) {
        return reply.size();
      }
    }
  }
}
