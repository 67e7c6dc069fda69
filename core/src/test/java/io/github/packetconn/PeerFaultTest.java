package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.failureOf;
import static io.github.packetconn.testing.Golden.HI;
import static io.github.packetconn.testing.Golden.HI_CRC;
import static io.github.packetconn.testing.Golden.ascii;
import static io.github.packetconn.testing.Golden.bytes;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.assertClosedByPeer;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.Memory.allocatedBytes;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.assertFreshClientEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.Recorder;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A peer that sends bad bytes (another protocol, the other CRC setting, a cut frame, a hostile
 * length) ends only its own connection, with an exception that says what happened, and costs only
 * what it sent.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PeerFaultTest {
  // ---- 2. bad bytes end only that connection

  static Stream<Arguments> foreignProtocols() {
    byte[] tls = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03}; // 512-byte ClientHello.
    return Stream.of(
        Arguments.of(
            "HTTP/1.1",
            ascii("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            "packet size 542393671 exceeds maxPacketSize 33554432; the bytes \"GET \" start an HTTP"
                + " request: is an HTTP client talking to this port?"),
        Arguments.of(
            "TLS",
            tls,
            "packet size 33620758 exceeds maxPacketSize 33554432; the bytes 16 03 01 start a TLS"
                + " record: is a TLS client talking to a plain packetconn port?"),
        Arguments.of(
            "SSH",
            ascii("SSH-2.0-OpenSSH_9.6\r\n"),
            "packet size 759714643 exceeds maxPacketSize 33554432; the bytes \"SSH-\" start an SSH"
                + " banner: is an SSH client talking to this port?"),
        Arguments.of(
            "HTTP/2",
            ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            "packet size 541676112 exceeds maxPacketSize 33554432; the bytes \"PRI \" start an HTTP/2"
                + " preface: is an HTTP/2 client talking to this port?"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("foreignProtocols")
  void foreignProtocolClosesOnlyItsConnectionNamingTheProtocol(String name, byte[] bytes, String message)
      throws Exception {
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder);
        PacketConn before = connect(server, PacketConfig.DEFAULT)) {
      assertEchoes(before);
      try (Socket foreign = socket(server)) {
        PacketConn serverSide = recorder.opened(foreign.getLocalPort()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        foreign.getOutputStream().write(bytes);
        Throwable cause = recorder.closed(foreign.getLocalPort()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertInstanceOf(ProtocolException.class, cause, name);
        assertEquals(message, cause.getMessage());
        assertSame(cause, failureOf(serverSide.closeFuture()), "closeFuture");
        assertSame(cause, serverSide.closeCause(), "closeCause");
        assertClosedByPeer(foreign);
      }
      assertEchoes(before);
      assertEquals(1, recorder.closeCalls.get(), "onClose ran once, for the foreign connection only");
      assertFreshClientEchoes(server, PacketConfig.DEFAULT);
    }
  }

  /**
   * A TLS record shorter than 512 bytes: its header 16 03 01 00 (or 01) reads as a length of 66,326
   * (or 16,843,542), under maxPacketSize, so the server waits for a frame that never comes while the
   * TLS client waits for its ServerHello, and nobody says why.
   */
  @Test
  void shortTlsClientHelloIsDetectedToo() throws Exception {
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder)) {
      for (int lengthHigh : new int[] {0x00, 0x01}) {
        byte[] hello = new byte[5 + 0xc8];
        byte[] header = {0x16, 0x03, 0x01, (byte) lengthHigh, (byte) 0xc8, 0x01, 0x00, 0x00, (byte) 0xc4, 0x03, 0x03};
        System.arraycopy(header, 0, hello, 0, header.length);
        try (Socket tls = socket(server)) {
          tls.getOutputStream().write(hello);
          Throwable cause = recorder.closed(tls.getLocalPort()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
          assertInstanceOf(ProtocolException.class, cause);
          assertEquals(
              String.format(
                  "the first frame (%d bytes) is a TLS ClientHello (16 03 01 %02x c8 01 ...): is a TLS"
                      + " client talking to a plain packetconn port?",
                  0x16 | 0x03 << 8 | 0x01 << 16 | lengthHigh << 24,
                  lengthHigh),
              cause.getMessage());
        }
      }
    }
  }

  @Test
  void crcClientTalkingToPlainServerIsAProtocolException() throws Exception {
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder);
        PacketConn crcClient = connect(server, PacketConfig.builder().crc(true).build())) {
      try (Packet hi = goldenHi()) {
        crcClient.send(hi); // The plain server takes the trailer 551d0461 for the next length.
      }
      Throwable cause = recorder.closed(port(crcClient.localAddress())).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(ProtocolException.class, cause);
      assertEquals(
          "packet size 1627659605 exceeds maxPacketSize 33554432 (does the peer have crc enabled while"
              + " this side does not?)",
          cause.getMessage());
      assertFreshClientEchoes(server, PacketConfig.DEFAULT);
    }
  }

  @Test
  void plainClientTalkingToCrcServerIsAProtocolException() throws Exception {
    PacketConfig crc = PacketConfig.builder().crc(true).build();
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, crc, recorder);
        PacketConn plainClient = connect(server, PacketConfig.DEFAULT)) {
      try (Packet hi = goldenHi()) {
        plainClient.send(hi);
        plainClient.send(hi); // Its length, 0a000000, is taken for the first frame's CRC.
      }
      Throwable cause = recorder.closed(port(plainClient.localAddress())).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(ProtocolException.class, cause);
      assertEquals(
          "CRC mismatch on a frame of 10 bytes: received 0000000a, computed 61041d55"
              + " (do both peers have crc enabled?)",
          cause.getMessage());
      assertFreshClientEchoes(server, crc);
    }
  }

  // ---- 3. frames cut at every split point

  /** Where the decoder reports a frame of the golden packet cut after {@code k} bytes. */
  static String cutAfter(int k, boolean crc) {
    String where;
    if (k < 4) {
      where = k + " of 4 length bytes";
    } else if (k < 14) {
      where = (k - 4) + " of 10 payload bytes";
    } else {
      where = "the payload of 10 bytes and " + (k - 14) + " of 4 CRC bytes";
    }
    return "end of stream inside a frame, after " + where;
  }

  @Test
  void frameCutAtEverySplitPointFailsOnlyThatConnectionOnce() throws Exception {
    for (boolean crc : new boolean[] {false, true}) {
      PacketConfig config = PacketConfig.builder().crc(crc).build();
      byte[] frame = bytes(crc ? HI_CRC : HI);
      Recorder recorder = new Recorder();
      int connections = 0;
      try (PacketServer server = PacketServer.bind(LOOPBACK, config, recorder)) {
        for (boolean reset : new boolean[] {false, true}) {
          for (int k = 1; k < frame.length; k++) {
            String label = "crc=" + crc + " reset=" + reset + " k=" + k;
            Socket raw = socket(server);
            connections++;
            int port = raw.getLocalPort();
            // Accepted and registered before the cut, so the server sees this very connection end.
            PacketConn serverSide = recorder.opened(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            raw.getOutputStream().write(frame, 0, k);
            if (reset) {
              raw.setSoLinger(true, 0);
              raw.close();
            } else {
              raw.shutdownOutput();
            }
            Throwable cause = recorder.closed(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            if (reset) {
              assertInstanceOf(IOException.class, cause, label);
              assertFalse(cause instanceof EOFException, label + ": " + cause);
            } else {
              assertInstanceOf(EOFException.class, cause, label);
              assertEquals(cutAfter(k, crc), cause.getMessage(), label);
              assertClosedByPeer(raw);
              raw.close();
            }
            assertSame(cause, failureOf(serverSide.closeFuture()), label);
            recorder.forget(port);
          }
        }
        assertFreshClientEchoes(server, config);
        connections++;
        awaitTrue(() -> server.connections().isEmpty(), server::toString);
        assertEquals(connections, recorder.closeCalls.get(), "onClose ran once per connection, crc=" + crc);
      }
    }
  }

  // ---- 4. a hostile length, then a trickle

  @Test
  void hostileLengthThenTrickleCostsATrickle() throws Exception {
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder);
        PacketConn good = connect(server, PacketConfig.DEFAULT);
        Socket hostile = socket(server)) {
      PacketConn serverSide = recorder.opened(hostile.getLocalPort()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertEchoes(good); // Warm up the pools the echoes use.
      long[] ioThreads =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> t.getName().startsWith("packetconn-io-"))
              .mapToLong(Thread::threadId)
              .toArray();
      long allocatedBefore = allocatedBytes(ioThreads);
      OutputStream out = hostile.getOutputStream();
      out.write(bytes("0000e001")); // 30 MiB, under maxPacketSize.
      out.flush();
      for (int i = 0; i < 100; i++) {
        out.write(i);
        out.flush();
        assertEchoes(good);
      }
      long allocated = allocatedBytes(ioThreads) - allocatedBefore;
      // A decoder that trusted the header would have allocated 30 MiB; 100 bytes cost at most 3,200
      // (the trust factor is 32), the rest is 100 echoes and the selector.
      assertTrue(allocated < 1 << 20, "the I/O threads allocated " + allocated + " bytes during the trickle");
      assertTrue(serverSide.isOpen(), "a slow frame is not an error");
      assertFalse(recorder.closed(hostile.getLocalPort()).isDone());

      hostile.shutdownOutput();
      Throwable cause = recorder.closed(hostile.getLocalPort()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(EOFException.class, cause);
      assertEquals("end of stream inside a frame, after 100 of 31457280 payload bytes", cause.getMessage());
      assertEchoes(good);
    }
  }
}
