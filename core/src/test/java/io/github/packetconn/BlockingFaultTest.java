package io.github.packetconn;

import static io.github.packetconn.BlockingFixtures.PROMPTLY;
import static io.github.packetconn.BlockingFixtures.assertFailedWith;
import static io.github.packetconn.BlockingFixtures.assertWithin;
import static io.github.packetconn.BlockingFixtures.awaitDrained;
import static io.github.packetconn.BlockingFixtures.blockingClient;
import static io.github.packetconn.BlockingFixtures.millisSince;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Await.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.BlockingFixtures.BlockingRecorder;
import io.github.packetconn.BlockingFixtures.RawPair;
import io.github.packetconn.BlockingFixtures.Receiver;
import io.github.packetconn.BlockingFixtures.Sender;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The blocking style on its own path ({@link SocketTransport}) under the peer faults the loop was
 * tested against ({@link PeerFaultTest}, {@link SafetyTest}): a connection that only sends learns
 * of the peer's end, a blocked receiver learns why the stream ended, with the same exceptions and
 * messages as on the loop. Both sides are covered: blocking clients facing raw sockets, and a
 * {@link ConnectionHandler}'s connections facing bad clients.
 *
 * <p>The class passes with {@code -Dpacketconn.blockingTransport=loop} too, on the loop's path.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BlockingFaultTest {
  // ---- a connection that only sends learns of the peer's end

  /**
   * How the raw peer ends, and what Linux then tells the writer: a reset that comes alone is
   * ECONNRESET; one that comes after the peer's FIN (the socket is in CLOSE_WAIT) is EPIPE.
   */
  enum PeerEnd {
    CLOSE_WITH_BYTES_UNREAD("Connection reset by peer"), // The kernel answers the close with a reset.
    READ_ALL_THEN_CLOSE("Broken pipe"), // A FIN; the next bytes we write draw a reset.
    RESET("Connection reset by peer"); // SO_LINGER 0.

    final String writeError;

    PeerEnd(String writeError) {
      this.writeError = writeError;
    }
  }

  /**
   * Sends {@code p} again and again, each once the one before is written (so the writer meets the
   * peer's end at once), until a send is refused; fails after {@link BlockingFixtures#PROMPTLY}.
   */
  static IllegalStateException sendUntilRefused(PacketConn conn, Packet p) {
    long deadline = System.nanoTime() + PROMPTLY.toNanos();
    for (int sent = 0; ; sent++) {
      try {
        conn.send(p);
      } catch (IllegalStateException refused) {
        return refused;
      }
      assertTrue(System.nanoTime() - deadline < 0, "still open after " + PROMPTLY + " and " + sent + " sends: " + conn);
      awaitDrained(conn);
    }
  }

  /** Checks that a send was refused because writing met the peer's end, {@code writeError}. */
  static void assertRefusedForWriteError(PacketConn conn, IllegalStateException refused, String writeError) {
    Throwable cause = conn.closeCause();
    assertEquals(IOException.class, cause.getClass(), "closeCause: " + cause);
    assertEquals(writeError, cause.getMessage());
    assertEquals("closed: java.io.IOException: " + writeError, refused.getMessage());
    assertFailedWith(conn, cause);
  }

  @ParameterizedTest
  @EnumSource(PeerEnd.class)
  void connectionThatOnlySendsLearnsOfTheRawPeersEnd(PeerEnd end) throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT);
        Packet p = Packet.of(new byte[1000])) {
      pair.conn().send(p);
      awaitDrained(pair.conn());
      if (end == PeerEnd.READ_ALL_THEN_CLOSE) {
        ByteBuffer frame = ByteBuffer.allocate(1004);
        while (frame.hasRemaining()) assertTrue(pair.peer().read(frame) > 0);
      }
      if (end == PeerEnd.RESET) {
        pair.reset();
      } else {
        pair.peer().close();
      }
      long start = System.nanoTime();
      IllegalStateException refused = sendUntilRefused(pair.conn(), p);
      assertWithin(PROMPTLY, millisSince(start), "refused");
      assertRefusedForWriteError(pair.conn(), refused, end.writeError);
    }
  }

  @Test
  void senderBlockedOnAFullQueueLearnsThatThePeerReset() throws Exception {
    PacketConfig config = PacketConfig.builder().sendQueueBytes(1 << 20).build();
    try (RawPair pair = RawPair.open(config);
        Packet p = Packet.of(new byte[64 << 10])) {
      io.github.packetconn.testing.Traffic.sendUntilFull(pair.conn(), i -> p); // The peer never reads: every buffer is full.
      Sender sender = Sender.blocked(pair.conn(), p);
      assertTrue(pair.conn().isOpen());
      pair.reset();
      Throwable thrown = sender.outcome(PROMPTLY);
      IllegalStateException refused = assertInstanceOf(IllegalStateException.class, thrown, "the blocked sender");
      assertRefusedForWriteError(pair.conn(), refused, "Connection reset by peer");
    }
  }

  /**
   * A server whose handler returns closes gracefully: it shuts its output, then reads and drops what
   * comes until our end or its closeTimeout. A client that never receives never reads that end: it
   * learns when the server's linger ends, with EPIPE (the reset follows the FIN). With the default
   * closeTimeout that is 10 s of packets the server drops.
   */
  @Test
  void connectionThatOnlySendsLearnsThatTheServersHandlerClosedWhenItsLingerEnds() throws Exception {
    PacketConfig serverConfig = PacketConfig.builder().closeTimeout(Duration.ofSeconds(1)).build();
    ConnectionHandler closesAfterOne = conn -> conn.receive().release();
    try (PacketServer server = PacketServer.bind(LOOPBACK, serverConfig, closesAfterOne);
        PacketConn conn = blockingClient(server.localAddress(), PacketConfig.DEFAULT);
        Packet p = Packet.of(new byte[1000])) {
      long start = System.nanoTime();
      IllegalStateException refused = sendUntilRefused(conn, p);
      long elapsed = millisSince(start);
      assertTrue(elapsed >= 1000, "refused after " + elapsed + " ms, before the server's linger ended");
      assertRefusedForWriteError(conn, refused, "Broken pipe");
    }
  }

  // ---- a blocked receiver learns why the stream ended

  @Test
  void receiverBlockedWhenThePeerResetsGetsConnectionReset() throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      Receiver receiver = Receiver.blocked(pair.conn());
      pair.reset();
      Throwable thrown = receiver.failure();
      assertInstanceOf(SocketException.class, thrown);
      assertEquals("Connection reset", thrown.getMessage());
      assertFailedWith(pair.conn(), thrown);
      assertSame(thrown, assertThrows(SocketException.class, pair.conn()::receive), "and to every later receive");
    }
  }

  @Test
  void receiverGetsThePacketsBeforeAResetThenTheReset() throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      Receiver receiver = Receiver.blocked(pair.conn());
      byte[] hi = io.github.packetconn.testing.Golden.bytes(io.github.packetconn.testing.Golden.HI);
      pair.write(hi);
      try (Packet first = receiver.packet()) {
        assertEquals("cdab7856341202006869", io.github.packetconn.testing.Golden.hex(first));
      }
      pair.write(Arrays.copyOf(hi, 7)); // Half a frame in the socket, then the reset.
      pair.reset();
      SocketException thrown = assertThrows(SocketException.class, pair.conn()::receive);
      assertEquals("Connection reset", thrown.getMessage());
      assertFailedWith(pair.conn(), thrown);
    }
  }

  /** A frame cut by the peer's end after every byte it can be cut after, behind two whole ones. */
  @Test
  void frameCutAtEverySplitPointFailsTheBlockedReceiverWithTheExactMessage() throws Exception {
    for (boolean crc : new boolean[] {false, true}) {
      PacketConfig config = PacketConfig.builder().crc(crc).build();
      byte[] frame = io.github.packetconn.testing.Golden.bytes(crc ? io.github.packetconn.testing.Golden.HI_CRC : io.github.packetconn.testing.Golden.HI);
      for (int k = 1; k < frame.length; k++) {
        String label = "crc=" + crc + " k=" + k;
        try (RawPair pair = RawPair.open(config)) {
          Receiver receiver = Receiver.blocked(pair.conn());
          byte[] bytes = Arrays.copyOf(frame, 2 * frame.length + k); // Two frames and k bytes of a third.
          System.arraycopy(frame, 0, bytes, frame.length, frame.length);
          System.arraycopy(frame, 0, bytes, 2 * frame.length, k);
          pair.write(bytes);
          pair.peer().shutdownOutput();
          try (Packet first = receiver.packet();
              Packet second = pair.conn().receive(WAIT)) {
            assertEquals("cdab7856341202006869", io.github.packetconn.testing.Golden.hex(first), label);
            assertEquals("cdab7856341202006869", io.github.packetconn.testing.Golden.hex(second), label);
          }
          EOFException thrown = assertThrows(EOFException.class, pair.conn()::receive, label);
          assertEquals(PeerFaultTest.cutAfter(k, crc), thrown.getMessage(), label);
          assertFailedWith(pair.conn(), thrown);
          // A failure ends the connection with a reset (WhatThePeerSeesTest), not a clean end.
          java.net.SocketException reset =
              assertThrows(java.net.SocketException.class, () -> pair.peer().read(ByteBuffer.allocate(1)), label);
          assertEquals("Connection reset", reset.getMessage(), label);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.github.packetconn.PeerFaultTest#foreignProtocols")
  void foreignProtocolFailsTheBlockedReceiverNamingTheProtocol(String name, byte[] bytes, String message)
      throws Exception {
    try (RawPair pair = RawPair.open(PacketConfig.DEFAULT)) {
      Receiver receiver = Receiver.blocked(pair.conn());
      pair.write(bytes);
      Throwable thrown = receiver.failure();
      assertInstanceOf(ProtocolException.class, thrown, name);
      assertEquals(message, thrown.getMessage());
      assertFailedWith(pair.conn(), thrown);
    }
  }

  // ---- a ConnectionHandler's connection facing bad clients

  @Test
  void crcMismatchFailsTheServersReceiverBothWays() throws Exception {
    PacketConfig crc = PacketConfig.builder().crc(true).build();
    for (boolean serverCrc : new boolean[] {false, true}) {
      BlockingRecorder recorder = new BlockingRecorder();
      try (PacketServer server = PacketServer.bind(LOOPBACK, serverCrc ? crc : PacketConfig.DEFAULT, recorder)) {
        // The server resets it, maybe before its second frame is written: its close would throw that.
        PacketConn client = blockingClient(server.localAddress(), serverCrc ? PacketConfig.DEFAULT : crc);
        int port = port(client.localAddress());
        PacketConn serverSide = recorder.opened(port);
        try (Packet hi = goldenHi()) {
          client.send(hi);
          client.send(hi); // Against a CRC server, its length is taken for the first frame's CRC.
        }
        Throwable thrown = recorder.ended(port);
        assertInstanceOf(ProtocolException.class, thrown);
        assertEquals(
            serverCrc
                ? "CRC mismatch on a frame of 10 bytes: received 0000000a, computed 61041d55"
                    + " (do both peers have crc enabled?)"
                : "packet size 1627659605 exceeds maxPacketSize 33554432 (does the peer have crc enabled"
                    + " while this side does not?)",
            thrown.getMessage());
        assertFailedWith(serverSide, thrown);
        try (PacketConn fresh = blockingClient(server.localAddress(), serverCrc ? crc : PacketConfig.DEFAULT)) {
          assertEchoes(fresh); // Only that connection ended.
        }
        client.abort();
      }
    }
  }

  @Test
  void clientResetMidFrameFailsTheServersReceiver() throws Exception {
    BlockingRecorder recorder = new BlockingRecorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder);
        PacketConn good = blockingClient(server.localAddress(), PacketConfig.DEFAULT)) {
      int port;
      PacketConn serverSide;
      try (SocketChannel raw = SocketChannel.open(server.localAddress())) {
        port = port(raw.getLocalAddress());
        serverSide = recorder.opened(port);
        raw.write(ByteBuffer.wrap(Arrays.copyOf(io.github.packetconn.testing.Golden.bytes(io.github.packetconn.testing.Golden.HI), 7)));
        raw.setOption(StandardSocketOptions.SO_LINGER, 0); // The close resets.
      }
      Throwable thrown = recorder.ended(port);
      assertInstanceOf(SocketException.class, thrown);
      assertEquals("Connection reset", thrown.getMessage());
      assertFailedWith(serverSide, thrown);
      assertEchoes(good);
    }
  }

  /**
   * A hostile length (30 MiB) then a trickle: the server's receiver holds what arrived, not what
   * the header promised, and the end of stream names both.
   */
  @Test
  void hostileLengthThenTrickleCostsTheServersReceiverATrickle() throws Exception {
    MemoryBudget budget = MemoryBudget.of(64 << 20);
    PacketConfig config = PacketConfig.builder().memoryBudget(budget).build();
    BlockingRecorder recorder = new BlockingRecorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, recorder);
        SocketChannel hostile = SocketChannel.open(server.localAddress())) {
      int port = port(hostile.getLocalAddress());
      PacketConn serverSide = recorder.opened(port);
      hostile.write(ByteBuffer.wrap(io.github.packetconn.testing.Golden.bytes("0000e001"))); // 31,457,280 bytes follow.
      for (int i = 0; i < 100; i++) hostile.write(ByteBuffer.wrap(new byte[] {(byte) i}));
      awaitTrue(() -> serverSide.stats().bytesIn() == 104, () -> serverSide.stats().toString());
      // Trusting the header would hold 30 MiB; 100 bytes may cost 32 times as much (the trust factor).
      assertTrue(budget.used() <= 32 * 100, budget.toString());
      assertTrue(serverSide.isOpen(), "a slow frame is not an error");
      hostile.shutdownOutput();
      Throwable thrown = recorder.ended(port);
      assertInstanceOf(EOFException.class, thrown);
      assertEquals("end of stream inside a frame, after 100 of 31457280 payload bytes", thrown.getMessage());
      assertFailedWith(serverSide, thrown);
      assertEquals(0, budget.used(), budget.toString());
    }
  }
}
