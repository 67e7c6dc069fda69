package io.github.packetconn.benchmarks;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/**
 * The fan-out servers under test, and the protocol they share with the {@link FanoutGenerator}.
 *
 * <p>Packets are the usual frames (a 4-byte little-endian length, then the payload). A client's
 * first packet is a one-byte <b>hello</b> that gives its role: {@link #PUBLISHER} or {@link
 * #SUBSCRIBER}. The server answers a subscriber's hello with the same one-byte packet once the
 * subscriber is a member: from then on it gets every packet a publisher sends, in the order sent.
 * Each packet a publisher sends after its hello goes to every subscriber, and never back to a
 * publisher, which gets nothing at all. A subscriber sends nothing after its hello; anything else
 * (another first packet, a second packet from a subscriber) closes that connection.
 *
 * <pre>{@code
 * try (EchoServer server = Fanout.start("netty", new InetSocketAddress("127.0.0.1", 0))) {
 *   InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
 *   new FanoutGenerator(address, Workload.FANOUT_SMALL, 1).run(warmup, duration, listener);
 * }
 * }</pre>
 */
final class Fanout {
  /** The server kinds ({@code --kind}) that have a fan-out server, over TCP. */
  static final List<String> KINDS = List.of("packetconn-callback", "packetconn-blocking", "netty");

  /** The hello of a publisher. */
  static final byte PUBLISHER = 'P';

  /** The hello of a subscriber, and the server's answer once it is a member. */
  static final byte SUBSCRIBER = 'S';

  private Fanout() {}

  /**
   * Starts the fan-out server of {@code kind} on {@code address}.
   *
   * @throws IllegalArgumentException if {@code kind} has no fan-out server, or {@code address} is
   *     not a TCP address
   */
  static EchoServer start(String kind, SocketAddress address) throws Exception {
    if (!(address instanceof InetSocketAddress)) {
      throw new IllegalArgumentException("the fan-out servers listen on TCP only: " + address);
    }
    return switch (kind) {
      case "packetconn-callback" -> new PacketconnFanoutServer(address, false);
      case "packetconn-blocking" -> new PacketconnFanoutServer(address, true);
      case "netty" -> NettyFanoutServer.start(address);
      default ->
          throw new IllegalArgumentException(
              "no fan-out server of kind " + kind + " (one of " + String.join(", ", KINDS) + ")");
    };
  }

  /** {@return a hello, or the first byte of any other payload, for a message: 'P', 0x07} */
  static String describe(int value) {
    return value >= 0x20 && value < 0x7f
        ? "'" + (char) value + "'"
        : String.format(java.util.Locale.ROOT, "0x%02x", value);
  }
}
