package io.github.packetconn;

import static io.github.packetconn.testing.Golden.EMPTY;
import static io.github.packetconn.testing.Golden.EMPTY_CRC;
import static io.github.packetconn.testing.Golden.HI;
import static io.github.packetconn.testing.Golden.HI_CRC;
import static io.github.packetconn.testing.Golden.TYPED;
import static io.github.packetconn.testing.Golden.bytes;
import static io.github.packetconn.testing.Golden.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.Frames;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
  /** Decodes {@code bytes} fed in chunks of {@code chunk} bytes; returns the payloads in hex. */
  static List<String> decode(byte[] bytes, int chunk, boolean crc, int max) throws Exception {
    FrameDecoder decoder = new FrameDecoder(max, crc);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < bytes.length; i += chunk) {
      ByteBuffer in =
          ByteBuffer.wrap(bytes, i, Math.min(chunk, bytes.length - i)).slice().order(ByteOrder.LITTLE_ENDIAN);
      decoder.decode(
          in,
          collect(out));
      assertFalse(in.hasRemaining(), "a decoder consumes all it is given");
    }
    decoder.endOfStream();
    return out;
  }

  /** A sink that adds each packet's payload in hex to {@code out} and releases it. */
  static FrameDecoder.Sink collect(List<String> out) {
    return p -> {
      try (p) {
        out.add(hex(p));
      }
      return true;
    };
  }

  @Test
  void goldenFramesDecode() throws Exception {
    assertEquals(List.of("cdab7856341202006869"), decode(bytes(HI), 1000, false, 1 << 20));
    assertEquals(List.of("cdab7856341202006869"), decode(bytes(HI_CRC), 1000, true, 1 << 20));
    assertEquals(List.of(""), decode(bytes(EMPTY), 1000, false, 1 << 20));
    assertEquals(List.of(""), decode(bytes(EMPTY_CRC), 1000, true, 1 << 20));
    assertEquals(List.of(TYPED.substring(8)), decode(bytes(TYPED), 1000, false, 1 << 20));
  }

  @Test
  void receiveReassemblesOneByteWrites() throws Exception {
    byte[] stream = bytes(HI + EMPTY + TYPED + HI);
    List<String> expected = List.of("cdab7856341202006869", "", TYPED.substring(8), "cdab7856341202006869");
    assertEquals(expected, decode(stream, 1, false, 1 << 20));
    byte[] crcStream = bytes(HI_CRC + EMPTY_CRC + HI_CRC);
    assertEquals(
        List.of("cdab7856341202006869", "", "cdab7856341202006869"), decode(crcStream, 1, true, 1 << 20));
  }

  @Test
  void everySplitPointDecodesTheSame() throws Exception {
    for (boolean crc : new boolean[] {false, true}) {
      byte[] stream = crc ? bytes(HI_CRC + EMPTY_CRC + HI_CRC) : bytes(HI + EMPTY + TYPED);
      List<String> whole = decode(stream, stream.length, crc, 1 << 20);
      for (int a = 0; a <= stream.length; a++) {
        for (int b = a; b <= stream.length; b++) {
          FrameDecoder decoder = new FrameDecoder(1 << 20, crc);
          List<String> out = new ArrayList<>();
          for (int[] range : new int[][] {{0, a}, {a, b}, {b, stream.length}}) {
            ByteBuffer in =
                ByteBuffer.wrap(stream, range[0], range[1] - range[0]).slice().order(ByteOrder.LITTLE_ENDIAN);
            decoder.decode(
                in,
                collect(out));
          }
          decoder.endOfStream();
          assertEquals(whole, out, "crc=" + crc + " split at " + a + " and " + b);
        }
      }
    }
  }

  @Test
  void seededRandomFramesDecodeInRandomChunks() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    for (boolean crc : new boolean[] {false, true}) {
      ByteArrayOutputStream stream = new ByteArrayOutputStream();
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        byte[] payload = new byte[random.nextInt(i % 20 == 0 ? 200_000 : 300)];
        random.nextBytes(payload);
        expected.add(hex(payload));
        stream.writeBytes(Frames.encode(payload, crc));
      }
      byte[] all = stream.toByteArray();
      FrameDecoder decoder = new FrameDecoder(1 << 20, crc);
      List<String> out = new ArrayList<>();
      for (int i = 0; i < all.length; ) {
        int n = Math.min(all.length - i, 1 + random.nextInt(70_000));
        decoder.decode(
            ByteBuffer.wrap(all, i, n).slice().order(ByteOrder.LITTLE_ENDIAN),
            collect(out));
        i += n;
      }
      assertEquals(expected, out, "seed " + seed + " crc " + crc);
    }
  }

  @Test
  void lengthAboveMaximumIsProtocolException() {
    ProtocolException e =
        assertThrows(ProtocolException.class, () -> decode(bytes("0b000000" + "00".repeat(11)), 100, false, 10));
    assertEquals("packet size 11 exceeds maxPacketSize 10", e.getMessage());
    e = assertThrows(ProtocolException.class, () -> decode(bytes("ffffffff"), 100, false, 10));
    assertEquals("packet size 4294967295 exceeds maxPacketSize 10", e.getMessage());
  }

  @Test
  void lengthExactlyMaximumIsAccepted() throws Exception {
    List<String> out = decode(bytes("0a000000" + "ab".repeat(10)), 3, false, 10);
    assertEquals(List.of("ab".repeat(10)), out);
  }

  @Test
  void foreignProtocolsAreNamed() {
    String[][] cases = {
      {"GET / HTTP/1.1\r\n", "packet size 542393671 exceeds maxPacketSize 33554432; the bytes \"GET \" start an HTTP request: is an HTTP client talking to this port?"},
      {"POST /x", "; the bytes \"POST\" start an HTTP request"},
      {"HEAD /", "; the bytes \"HEAD\" start an HTTP request"},
      {"PUT /a", "; the bytes \"PUT \" start an HTTP request"},
      {"DELETE /a", "; the bytes \"DELE\" start an HTTP request"},
      {"PATCH /a", "; the bytes \"PATC\" start an HTTP request"},
      {"OPTIONS *", "; the bytes \"OPTI\" start an HTTP request"},
      {"CONNECT a:1", "; the bytes \"CONN\" start an HTTP request"},
      {"PRI * HTTP/2.0", "; the bytes \"PRI \" start an HTTP/2 preface: is an HTTP/2 client talking to this port?"},
      {"SSH-2.0-OpenSSH", "; the bytes \"SSH-\" start an SSH banner: is an SSH client talking to this port?"},
    };
    for (String[] c : cases) {
      ProtocolException e =
          assertThrows(
              ProtocolException.class,
              () -> decode(c[0].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 100, false, Packet.DEFAULT_MAX_SIZE));
      assertTrue(e.getMessage().contains(c[1]), e.getMessage());
    }
    ProtocolException tls =
        assertThrows(ProtocolException.class, () -> decode(bytes("160301020000"), 100, false, Packet.DEFAULT_MAX_SIZE));
    assertEquals(
        "packet size 33620758 exceeds maxPacketSize 33554432; the bytes 16 03 01 start a TLS record:"
            + " is a TLS client talking to a plain packetconn port?",
        tls.getMessage());
  }

  @Test
  void shortTlsClientHelloIsNamedAndAPacketThatOnlyLooksLikeOneIsNot() throws Exception {
    // 16 03 01 00 c8 | 01 00 00 c4 03 03: a ClientHello record of 200 bytes, length 66326 to us.
    ProtocolException e =
        assertThrows(
            ProtocolException.class,
            () -> decode(bytes("16030100c8010000c40303"), 3, false, Packet.DEFAULT_MAX_SIZE));
    assertEquals(
        "the first frame (66326 bytes) is a TLS ClientHello (16 03 01 00 c8 01 ...): is a TLS client"
            + " talking to a plain packetconn port?",
        e.getMessage());
    // The same header with a payload that is not a ClientHello is an ordinary frame.
    byte[] frame = new byte[4 + 66326];
    System.arraycopy(bytes("1603010000"), 0, frame, 0, 5);
    List<String> packets = decode(frame, 1000, false, Packet.DEFAULT_MAX_SIZE);
    assertEquals(1, packets.size());
    assertEquals(2 * 66326, packets.get(0).length());
    // Only the first frame is checked: later frames are the peer's data, whatever they hold.
    byte[] two = new byte[8 + 66326];
    System.arraycopy(bytes("16030100c8010000c40303"), 0, two, 4, 11);
    assertEquals(2, decode(two, 1000, false, Packet.DEFAULT_MAX_SIZE).size());
  }

  @Test
  void crcMismatchIsProtocolException() {
    byte[] frame = bytes(HI_CRC);
    frame[5] ^= 1; // Flip one payload bit.
    ProtocolException e = assertThrows(ProtocolException.class, () -> decode(frame, 100, true, 100));
    assertTrue(
        e.getMessage().startsWith("CRC mismatch on a frame of 10 bytes: received 61041d55, computed "),
        e.getMessage());
    assertTrue(e.getMessage().endsWith(" (do both peers have crc enabled?)"), e.getMessage());
  }

  @Test
  void crcPeerTalkingToPlainPeerIsDetected() {
    // A CRC-less reader sees the CRC of frame 1 as the length of frame 2: far beyond the limit.
    ProtocolException e =
        assertThrows(ProtocolException.class, () -> decode(bytes(HI_CRC + HI_CRC), 100, false, 1 << 20));
    assertEquals(
        "packet size 1627659605 exceeds maxPacketSize 1048576"
            + " (does the peer have crc enabled while this side does not?)",
        e.getMessage());
    // A CRC reader of plain frames reads the next length as a CRC: a mismatch.
    assertThrows(ProtocolException.class, () -> decode(bytes(HI + HI), 100, true, 1 << 20));
  }

  @Test
  void endOfStreamInsideFrameIsEOFException() {
    String stream = HI_CRC;
    String[] expected = {
      null,
      "after 1 of 4 length bytes",
      "after 2 of 4 length bytes",
      "after 3 of 4 length bytes",
      "after 0 of 10 payload bytes",
    };
    byte[] all = bytes(stream);
    for (int cut = 1; cut < all.length; cut++) {
      byte[] prefix = java.util.Arrays.copyOf(all, cut);
      EOFException e = assertThrows(EOFException.class, () -> decode(prefix, 1, true, 100), "cut " + cut);
      String where =
          cut < expected.length
              ? expected[cut]
              : cut < 14
                  ? "after " + (cut - 4) + " of 10 payload bytes"
                  : "after the payload of 10 bytes and " + (cut - 14) + " of 4 CRC bytes";
      assertEquals("end of stream inside a frame, " + where, e.getMessage(), "cut " + cut);
    }
  }

  @Test
  void hugeHeaderWithTrickleAllocatesWhatArrived() throws Exception {
    FrameDecoder decoder = new FrameDecoder(Packet.DEFAULT_MAX_SIZE, false);
    ByteBuffer header = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, Packet.DEFAULT_MAX_SIZE);
    decoder.decode(header, p -> true);
    decoder.decode(ByteBuffer.wrap(new byte[1000]).order(ByteOrder.LITTLE_ENDIAN), p -> true);
    assertTrue(decoder.inFrame());
    assertEquals(2048, decoder.partialCapacity(), "the size class of what arrived, not of the header");
    EOFException e = assertThrows(EOFException.class, decoder::endOfStream);
    assertEquals("end of stream inside a frame, after 1000 of 33554432 payload bytes", e.getMessage());
  }

  @Test
  void largeFrameArrivingFastIsCopiedIntoItsArrayOnce() throws Exception {
    int length = 1_000_000;
    byte[] frame = new byte[4 + length];
    new Random(7).nextBytes(frame);
    ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(0, length);
    FrameDecoder decoder = new FrameDecoder(Packet.DEFAULT_MAX_SIZE, false);
    List<Packet> got = new ArrayList<>();
    int chunk = 64 << 10; // One read buffer at a time, as from a socket.
    decoder.decode(ByteBuffer.wrap(frame, 0, chunk).order(ByteOrder.LITTLE_ENDIAN), got::add);
    assertEquals(1 << 20, decoder.partialCapacity(), "the frame's own size class at once: no regrowth");
    for (int at = chunk; at < frame.length; at += chunk) {
      int n = Math.min(chunk, frame.length - at);
      decoder.decode(ByteBuffer.wrap(frame, at, n).order(ByteOrder.LITTLE_ENDIAN), got::add);
    }
    assertEquals(1, got.size());
    try (Packet p = got.get(0)) {
      assertArrayEquals(java.util.Arrays.copyOfRange(frame, 4, frame.length), p.toByteArray());
    }
  }

  @Test
  void sinkReturningFalseStopsDecoding() throws Exception {
    FrameDecoder decoder = new FrameDecoder(100, false);
    ByteBuffer in = ByteBuffer.wrap(bytes(HI + HI)).order(ByteOrder.LITTLE_ENDIAN);
    List<Packet> got = new ArrayList<>();
    decoder.decode(in, p -> got.add(p) && false);
    assertEquals(1, got.size());
    assertEquals(14, in.remaining());
    got.get(0).release();
  }
}
