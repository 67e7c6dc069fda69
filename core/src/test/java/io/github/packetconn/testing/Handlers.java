package io.github.packetconn.testing;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import java.util.concurrent.CompletableFuture;

/** Server handlers many tests share. A handler that records what happens is a {@link Recorder}. */
public final class Handlers {
  /** An echo on the I/O thread: sends every packet back. */
  public static final PacketHandler ECHO =
      (conn, packet) -> {
        try (packet) {
          conn.send(packet);
        }
      };

  /** An echo on a virtual thread per connection: receive, send back, until the end of stream. */
  public static final ConnectionHandler BLOCKING_ECHO =
      conn -> {
        for (Packet packet : conn) {
          try (packet) {
            conn.send(packet);
          }
        }
      };

  /**
   * Handles packets by their first int: 1 throws {@code IllegalStateException("handler bug")}, 2
   * aborts, 3 floods a peer that does not read with 32 MiB and closes (the close times out); any
   * other number is echoed, alone.
   */
  public static final PacketHandler MISCHIEF =
      (conn, packet) -> {
        int command;
        try (packet) {
          command = packet.readInt();
        }
        switch (command) {
          case 1 -> throw new IllegalStateException("handler bug");
          case 2 -> conn.abort();
          case 3 -> {
            try (Packet big = Packet.of(new byte[64 << 10])) {
              for (int i = 0; i < 512; i++) conn.send(big); // 32 MiB: more than the socket buffers.
            }
            conn.close(); // On the I/O thread: starts the close, whose deadline then passes.
          }
          default -> ECHO.onPacket(conn, Packet.allocate().writeInt(command));
        }
      };

  private Handlers() {}

  /** {@return an {@link #ECHO} that completes {@code failure} with the cause of a failed connection} */
  public static PacketHandler echoReportingFailure(CompletableFuture<Throwable> failure) {
    return new PacketHandler() {
      @Override
      public void onPacket(PacketConn conn, Packet packet) throws Exception {
        ECHO.onPacket(conn, packet);
      }

      @Override
      public void onClose(PacketConn conn, Throwable cause) {
        if (cause != null) failure.complete(cause);
      }
    };
  }
}
