package io.github.packetconn.benchmarks;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketGroup;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ProtocolException;
import java.net.SocketAddress;

/**
 * packetconn's fan-out ({@link Fanout}'s protocol), written the way the README teaches: a {@link
 * PacketHandler} on the I/O threads, or a {@link ConnectionHandler} on a virtual thread per
 * connection, default configuration. A subscriber's hello adds it to a
 * {@link PacketGroup} that skips slow members; the publisher's handler sends each of its packets
 * to the group, which encodes it into every member's queue and never waits: a member that is not
 * writable misses the packet instead of holding up the others (the generator then reports a gap in
 * its sequence numbers; with the bench's window no member falls behind). Members leave when they
 * close.
 *
 * <p>The handler runs on the I/O threads, one connection's callbacks at a time; the group is
 * thread-safe, since the publisher's thread sends to members that other threads add.
 */
final class PacketconnFanoutServer implements EchoServer {
  private static final Object PUBLISHER = "publisher"; // A connection's attachment: its role.
  private static final Object SUBSCRIBER = "subscriber";

  private final PacketServer server;
  private final FailureLog failures;
  private final PacketGroup subscribers = PacketGroup.skippingSlowMembers();

  PacketconnFanoutServer(SocketAddress address, boolean blocking) throws IOException {
    failures = new FailureLog(blocking ? "packetconn-blocking" : "packetconn-callback");
    server =
        blocking
            ? PacketServer.bind(address, PacketConfig.DEFAULT, (ConnectionHandler) this::serve)
            : PacketServer.bind(address, PacketConfig.DEFAULT, new Handler());
  }

  /**
   * The blocking style: a virtual thread per connection reads the hello, then the publisher's
   * thread sends each packet it receives to the group, and a subscriber's waits for its end.
   */
  private void serve(PacketConn conn) {
    try {
      for (Packet packet : conn) {
        try (packet) {
          Object role = conn.attachment();
          if (role == PUBLISHER) {
            subscribers.send(packet);
          } else if (role == SUBSCRIBER) {
            throw new ProtocolException("a subscriber sent a packet after its hello");
          } else {
            hello(conn, packet);
          }
        }
      }
    } catch (ProtocolException e) {
      failures.connectionFailed(conn.remoteAddress(), e);
      conn.abort();
      return;
    } catch (UncheckedIOException | IllegalStateException e) {
      if (conn.isOpen()) throw e; // A bug, not a failed connection: let PacketServer log it.
    }
    Throwable cause = conn.closeCause();
    if (cause != null) failures.connectionFailed(conn.remoteAddress(), cause);
  }

  private final class Handler implements PacketHandler {
    @Override
    public void onPacket(PacketConn conn, Packet packet) throws ProtocolException {
      try (packet) {
        Object role = conn.attachment();
        if (role == PUBLISHER) {
          subscribers.send(packet); // A member it skips finds a gap in the sequence numbers.
        } else if (role == SUBSCRIBER) {
          throw new ProtocolException("a subscriber sent a packet after its hello");
        } else {
          hello(conn, packet);
        }
      }
    }

    @Override
    public void onClose(PacketConn conn, Throwable cause) {
      if (cause != null) failures.connectionFailed(conn.remoteAddress(), cause);
    }
  }

  /** Gives the connection the role its first packet names; a subscriber joins and is told so. */
  private void hello(PacketConn conn, Packet packet) throws ProtocolException {
    int first = packet.size() > 0 ? packet.payload().get(0) & 0xff : -1;
    int hello = packet.size() == 1 ? first : -1;
    if (hello == Fanout.PUBLISHER) {
      conn.attach(PUBLISHER);
    } else if (hello == Fanout.SUBSCRIBER) {
      conn.attach(SUBSCRIBER);
      subscribers.add(conn);
      try (Packet joined = Packet.allocate(1).writeByte(Fanout.SUBSCRIBER)) {
        conn.send(joined); // After add: whatever is published next reaches it too.
      }
    } else {
      throw new ProtocolException(
          "the first packet is no hello ('P' or 'S'): "
              + packet.size()
              + " bytes"
              + (first >= 0 ? ", the first " + Fanout.describe(first) : ""));
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
