package io.github.packetconn.examples.typed;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;

/**
 * Packs a typed message, sends it, and unpacks the typed reply: a game client logging in.
 *
 * <p>The messages are an opcode followed by fields in a fixed order; both sides agree on the order,
 * exactly as a Go peer using go-packetconn's {@code WriteUint16}, {@code WriteVarStrH}... would.
 */
public final class TypedMessage {
  static final int LOGIN = 1;
  static final int WELCOME = 2;

  private TypedMessage() {}

  public static void main(String[] args) throws IOException {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    try (PacketServer server = PacketServer.bind(loopback, PacketConfig.DEFAULT, TypedMessage::serve);
        PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null)) {
      try (Packet login = Packet.allocate()) {
        login.writeShort(LOGIN)
            .writeLong(4_2000_0001L) // Player id.
            .writeShortPrefixedString("Zoë")
            .writeFloat(12.5f) // Position x, y.
            .writeFloat(-3.25f)
            .writeBoolean(true); // Wants the tutorial.
        System.out.println("client sends login, " + login.size() + " bytes: "
            + HexFormat.of().formatHex(login.toByteArray()));
        conn.send(login);
      }
      try (Packet welcome = conn.receive()) {
        if (welcome.readUnsignedShort() != WELCOME) throw new IOException("not a welcome: " + welcome);
        int session = welcome.readInt();
        String motd = welcome.readIntPrefixedString();
        System.out.println("client got welcome: session " + session + ", \"" + motd + "\"");
      }
    }
  }

  /** The server side: reads the login field by field and answers with a welcome. */
  private static void serve(PacketConn conn) throws IOException {
    for (Packet login : conn) {
      try (login; Packet welcome = Packet.allocate()) {
        if (login.readUnsignedShort() != LOGIN) throw new IOException("not a login: " + login);
        long player = login.readLong();
        String name = login.readShortPrefixedString();
        float x = login.readFloat();
        float y = login.readFloat();
        boolean tutorial = login.readBoolean();
        System.out.printf("server got login: player %d \"%s\" at (%.2f, %.2f), tutorial %b%n",
            player, name, x, y, tutorial);
        welcome.writeShort(WELCOME).writeInt(7).writeIntPrefixedString("Welcome, " + name + "!");
        conn.send(welcome);
      }
    }
  }
}
