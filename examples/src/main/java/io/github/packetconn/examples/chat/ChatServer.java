package io.github.packetconn.examples.chat;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketGroup;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.time.Duration;

/**
 * A chat room: each message a client sends goes to every other client. A client that stops reading
 * is dropped once it has been unwritable for the stall limit (five seconds here): until then the
 * room waits for it, so every reader gets every message, in order, and a dead reader holds the room
 * back for no longer than that. Its peer sees the connection reset.
 */
public final class ChatServer implements PacketHandler {
  final PacketGroup room;

  /** A room that drops a reader unwritable for longer than {@code stallLimit}; bind it to serve. */
  ChatServer(Duration stallLimit) {
    room = PacketGroup.closingSlowMembers(stallLimit);
  }

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 14574;
    try (PacketServer server = PacketServer.bind(port, new ChatServer(Duration.ofSeconds(5)))) {
      System.out.println("chat server listening on " + server.localAddress());
      server.closeFuture().join(); // Until the process is stopped.
    }
  }

  @Override
  public void onOpen(PacketConn conn) {
    room.add(conn); // Leaves by itself when it closes, whichever way.
  }

  @Override
  public void onPacket(PacketConn from, Packet message) {
    try (message) {
      room.send(message, from); // Everyone else; never throws for a reader that just left.
    }
  }
}
