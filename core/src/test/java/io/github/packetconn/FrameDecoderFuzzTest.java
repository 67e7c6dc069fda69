package io.github.packetconn;

import static io.github.packetconn.testing.Golden.EMPTY;
import static io.github.packetconn.testing.Golden.EMPTY_CRC;
import static io.github.packetconn.testing.Golden.HI;
import static io.github.packetconn.testing.Golden.HI_CRC;
import static io.github.packetconn.testing.Golden.TYPED;
import static io.github.packetconn.testing.Golden.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.packetconn.testing.Choices;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * Fuzz tests of {@link FrameDecoder}: any bytes, any {@code maxPacketSize}, with or without CRC,
 * cut into any chunks, decode to exactly what a straightforward {@link #reference reference
 * decoder} makes of the whole stream, fail only with {@link ProtocolException} or {@link
 * EOFException} at the byte where the reference fails, never hold more for a partial frame than
 * the bytes that arrived for it justify, and leave nothing unreleased.
 *
 * <p>The fuzzer's input is read by {@link Choices}: the choices (crc, maxPacketSize, chunk sizes)
 * come from its end, the byte stream is the rest.
 *
 * <h2>Fuzzing</h2>
 *
 * <p>{@code mvn verify} runs each {@code @FuzzTest} in <b>regression mode</b>, on the empty input and
 * the checked-in seeds under {@code src/test/resources/io/github/packetconn/FrameDecoderFuzzTestInputs/<method>/}:
 * a few milliseconds. To fuzz for real (one method per run; a finding is written into that
 * directory, the growing corpus into {@code core/.cifuzz-corpus/}, which is not checked in):
 *
 * <pre>
 * JAZZER_FUZZ=1 mvn -B -pl core test -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dtest='FrameDecoderFuzzTest#decodesLikeTheReference' -Djazzer.max_duration=10m
 * </pre>
 *
 * <p>The seeds are written by {@link #seedCorpusIsUpToDate()}, which fails when the checked-in files
 * differ from {@link #seeds()}; to rewrite them after changing the seeds or the input layout:
 *
 * <pre>
 * mvn -B -pl core test -Dtest='FrameDecoderFuzzTest#seedCorpusIsUpToDate' -Dpacketconn.writeSeeds=true
 * </pre>
 */
class FrameDecoderFuzzTest {
  private static final int MAX_CHUNKS = 8;
  private static final int MAX_CHUNK = 4096;
  private static final int[] MAX_PACKET_SIZES = {0, 0, Packet.DEFAULT_MAX_SIZE, Integer.MAX_VALUE - 8};

  @FuzzTest
  void decodesLikeTheReference(FuzzedDataProvider data) throws Exception {
    Choices c = new Choices(data);
    boolean crc = c.flag();
    int mode = c.pick(0, MAX_PACKET_SIZES.length - 1);
    int maxPacketSize =
        switch (mode) {
          case 0 -> c.pick(1, 256);
          case 1 -> c.pick(1, 1 << 16);
          default -> MAX_PACKET_SIZES[mode];
        };
    int stopEvery = c.pick(0, 3); // The sink returns false on every n-th packet; 0: never.
    int[] chunks = new int[c.pick(1, MAX_CHUNKS)];
    for (int i = 0; i < chunks.length; i++) chunks[i] = c.pick(1, MAX_CHUNK);
    byte[] stream = c.rest();

    Reference expected = reference(stream, crc, maxPacketSize);
    String context = "crc=" + crc + " maxPacketSize=" + maxPacketSize + " chunks=" + java.util.Arrays.toString(chunks);
    FrameDecoder decoder = new FrameDecoder(maxPacketSize, crc);
    List<Packet> received = new ArrayList<>();
    FrameDecoder.Sink sink =
        packet -> {
          int index = received.size();
          received.add(packet);
          assertTrue(index < expected.complete, () -> "an extra packet " + packet + "; " + context);
          assertEquals(1, packet.refCount(), context);
          assertEquals(0, packet.readPosition(), context);
          assertArrayEquals(expected.frames.get(index).payload, packet.toByteArray(), "packet " + index + "; " + context);
          assertTrue(packet.release(), context);
          return stopEvery == 0 || (index + 1) % stopEvery != 0;
        };

    ProtocolException failure = null;
    int at = 0;
    feed:
    for (int i = 0; at < stream.length; i++) {
      int chunkStart = at;
      int end = Math.min(stream.length, at + chunks[i % chunks.length]);
      ByteBuffer in = ByteBuffer.wrap(stream, at, end - at).slice().order(ByteOrder.LITTLE_ENDIAN);
      while (true) {
        int start = chunkStart + in.position();
        try {
          decoder.decode(in, sink);
        } catch (ProtocolException e) {
          assertEquals(ProtocolException.class, e.getClass());
          assertTrue(
              start < expected.failAt && expected.failAt <= end,
              () -> "failed in [" + start + ", " + end + ") but the reference fails at " + expected.failAt + ": " + e + "; " + context);
          failure = e;
          break feed;
        }
        at = chunkStart + in.position();
        checkPartialFrame(decoder, expected, at, maxPacketSize, context);
        if (!in.hasRemaining()) break;
        assertTrue(stopEvery > 0, () -> "decode returned with " + in.remaining() + " bytes left; " + context);
      }
      // A call with nothing to decode changes nothing.
      int capacity = decoder.partialCapacity();
      decoder.decode(ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN), sink);
      assertEquals(capacity, decoder.partialCapacity(), context);
    }

    if (failure != null) {
      String message = failure.getMessage();
      assertTrue(message.startsWith(expected.failure), () -> "expected \"" + expected.failure + "...\", got " + message);
    } else {
      assertNull(expected.failure, () -> "the reference fails with \"" + expected.failure + "\"; " + context);
      try {
        decoder.endOfStream();
        assertNull(expected.truncated, () -> "no EOFException: " + expected.truncated + "; " + context);
      } catch (EOFException e) {
        assertEquals(EOFException.class, e.getClass());
        assertEquals("end of stream inside a frame, after " + expected.truncated, e.getMessage(), context);
        assertEquals(0, decoder.partialCapacity(), "endOfStream releases the partial frame");
      }
    }
    assertEquals(expected.complete, received.size(), context);
    decoder.release();
    assertFalse(decoder.inFrame(), context);
    assertEquals(0, decoder.partialCapacity(), context);
    for (Packet p : received) assertEquals(0, p.refCount(), context);
  }

  /** Checks what the decoder holds after {@code at} bytes, by what the reference says is there. */
  private static void checkPartialFrame(FrameDecoder decoder, Reference expected, int at, int maxPacketSize, String context) {
    Reference.Frame frame = expected.frameAt(at);
    if (frame == null || at == frame.start) {
      assertFalse(decoder.inFrame(), () -> "between frames at " + at + "; " + context);
      assertEquals(0, decoder.partialCapacity(), () -> "between frames at " + at + "; " + context);
      return;
    }
    assertTrue(decoder.inFrame(), () -> "inside the frame at " + frame.start + " after " + at + " bytes; " + context);
    if (at - frame.start < 4) {
      assertEquals(0, decoder.partialCapacity(), () -> "only the length header at " + at + "; " + context);
      return;
    }
    int arrived = Math.min(at - frame.start - 4, frame.length);
    int capacity = decoder.partialCapacity();
    long bound = capacityBound(arrived, frame.length, maxPacketSize);
    assertTrue(
        capacity >= arrived && capacity <= bound && capacity <= maxPacketSize,
        () -> "capacity " + capacity + " for " + arrived + " of " + frame.length + " bytes; bound " + bound + "; " + context);
  }

  /**
   * {@return the most a frame of {@code length} bytes may hold after {@code arrived} of them}: {@link
   * Packet#TRUST} times what arrived, at most the frame, in the array {@link BufferPool#take} gives
   * for that (its size class, or exactly that when the class exceeds maxPacketSize or the pool).
   */
  static long capacityBound(int arrived, int length, int maxPacketSize) {
    long trusted = Math.min((long) arrived * Packet.TRUST, length);
    long sizeClass = BufferPool.classCapacity((int) trusted);
    return sizeClass <= maxPacketSize && sizeClass <= BufferPool.MAX_POOLED_CAPACITY ? sizeClass : trusted;
  }

  /**
   * What the reference decoder makes of a whole stream: the frames it began, of which the first
   * {@code complete} are good, and where and how it fails.
   */
  record Reference(List<Frame> frames, int complete, int failAt, String failure, String truncated) {
    /** A frame that began at {@code start}; {@code end} is past its last byte, or MAX_VALUE if cut. */
    record Frame(int start, int length, int end, byte[] payload) {}

    /** {@return the frame that byte offset {@code at} is in or just after the start of, or null} */
    Frame frameAt(int at) {
      for (Frame f : frames) if (f.start <= at && at < f.end) return f;
      return null;
    }
  }

  /**
   * Decodes a whole stream the obvious way: frames one after another, each checked in full. {@code
   * failAt} is the byte offset whose arrival must raise the ProtocolException (the last length byte
   * of an oversized frame, or the last CRC byte of a bad one), {@code truncated} what EOFException
   * says of a cut last frame.
   */
  static Reference reference(byte[] stream, boolean crc, int maxPacketSize) {
    List<Reference.Frame> frames = new ArrayList<>();
    ByteBuffer in = ByteBuffer.wrap(stream).order(ByteOrder.LITTLE_ENDIAN);
    int trailer = crc ? 4 : 0;
    while (in.hasRemaining()) {
      int start = in.position();
      if (in.remaining() < 4) {
        frames.add(new Reference.Frame(start, 0, Integer.MAX_VALUE, null));
        return new Reference(frames, frames.size() - 1, -1, null, in.remaining() + " of 4 length bytes");
      }
      long length = in.getInt() & 0xffff_ffffL;
      if (length > maxPacketSize) {
        frames.add(new Reference.Frame(start, 0, Integer.MAX_VALUE, null));
        String failure = "packet size " + length + " exceeds maxPacketSize " + maxPacketSize;
        return new Reference(frames, frames.size() - 1, start + 4, failure, null);
      }
      int n = (int) length;
      if (frames.isEmpty() && in.remaining() >= 7 && tlsClientHello(stream, start)) {
        frames.add(new Reference.Frame(start, n, Integer.MAX_VALUE, null));
        return new Reference(frames, 0, start + 4 + 7, "the first frame (" + n + " bytes) is a TLS ClientHello", null);
      }
      if (in.remaining() < n + trailer) {
        frames.add(new Reference.Frame(start, n, Integer.MAX_VALUE, null));
        String where =
            in.remaining() < n
                ? in.remaining() + " of " + n + " payload bytes"
                : "the payload of " + n + " bytes and " + (in.remaining() - n) + " of 4 CRC bytes";
        return new Reference(frames, frames.size() - 1, -1, null, where);
      }
      byte[] payload = new byte[n];
      in.get(payload);
      if (crc) {
        CRC32 checksum = new CRC32();
        checksum.update(stream, start, 4 + n);
        if (in.getInt() != (int) checksum.getValue()) {
          frames.add(new Reference.Frame(start, n, in.position(), null));
          return new Reference(frames, frames.size() - 1, in.position(), "CRC mismatch on a frame of " + n + " bytes", null);
        }
      }
      frames.add(new Reference.Frame(start, n, in.position(), payload));
    }
    return new Reference(frames, frames.size(), -1, null, null);
  }

  /** {@return true if a stream starts with a TLS record header and a ClientHello: 16 03 0x LL LL 01 .. .. .. 03 0x} */
  private static boolean tlsClientHello(byte[] b, int at) {
    return b[at] == 0x16 && b[at + 1] == 0x03 && (b[at + 2] & 0xff) <= 4
        && b[at + 5] == 0x01 && b[at + 9] == 0x03 && (b[at + 10] & 0xff) <= 4;
  }

  // ---- seeds

  /** {@return the seed inputs by method and file name} */
  static Map<String, byte[]> seeds() {
    Map<String, byte[]> seeds = new TreeMap<>();
    byte[] golden = bytes(HI + EMPTY + TYPED);
    byte[] goldenCrc = bytes(HI_CRC + EMPTY_CRC + HI_CRC);
    String method = "decodesLikeTheReference/";
    seeds.put(method + "golden-frames", decodeSeed(golden, false, 1, 0, 4096));
    seeds.put(method + "golden-frames-one-byte-chunks-stop-each", decodeSeed(golden, false, 1, 1, 1));
    seeds.put(method + "crc-frames", decodeSeed(goldenCrc, true, 1, 0, 4096));
    seeds.put(method + "crc-frames-split-mid-trailer", decodeSeed(goldenCrc, true, 1, 2, 16, 2));
    seeds.put(method + "crc-mismatch", decodeSeed(flip(goldenCrc, 5), true, 1, 0, 3, 5));
    seeds.put(method + "split-mid-header", decodeSeed(golden, false, 1, 0, 2, 5, 3));
    seeds.put(method + "exactly-max-packet-size", decodeSeed(bytes("0a000000" + "ab".repeat(10)), false, 0, 0, 3));
    seeds.put(method + "above-max-packet-size", decodeSeed(bytes("0b000000" + "00".repeat(11)), false, 0, 0, 4096));
    seeds.put(method + "http-get", decodeSeed("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), false, 2, 0, 7));
    seeds.put(method + "tls-client-hello", decodeSeed(bytes("16030100f5010000f10303"), false, 2, 0, 4096));
    seeds.put(method + "hostile-header-then-trickle", decodeSeed(hostile(), false, 2, 0, 4, 1, 100));
    seeds.put(method + "cut-inside-payload", decodeSeed(bytes(HI.substring(0, 20)), false, 1, 0, 4096));
    seeds.put(method + "empty-stream", decodeSeed(new byte[0], true, 3, 0, 1));
    return seeds;
  }

  /**
   * Encodes the choices {@link #decodesLikeTheReference} reads: {@code sizeMode} 0 and 1 are a
   * maxPacketSize of 10 and 1000, 2 and 3 {@link #MAX_PACKET_SIZES}.
   */
  private static byte[] decodeSeed(byte[] stream, boolean crc, int sizeMode, int stopEvery, int... chunks) {
    Choices.Writer w = new Choices.Writer().flag(crc).pick(sizeMode, 0, MAX_PACKET_SIZES.length - 1);
    if (sizeMode == 0) w.pick(10, 1, 256);
    if (sizeMode == 1) w.pick(1000, 1, 1 << 16);
    w.pick(stopEvery, 0, 3).pick(chunks.length, 1, MAX_CHUNKS);
    for (int chunk : chunks) w.pick(chunk, 1, MAX_CHUNK);
    return w.rest(stream);
  }

  private static byte[] flip(byte[] bytes, int index) {
    byte[] copy = bytes.clone();
    copy[index] ^= 1;
    return copy;
  }

  /** A 32 MiB length header followed by 200 bytes of its payload. */
  private static byte[] hostile() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(bytes("00000002"));
    out.writeBytes(new byte[200]);
    return out.toByteArray();
  }

  @Test
  void seedCorpusIsUpToDate() throws IOException {
    Choices.checkSeeds(FrameDecoderFuzzTest.class, seeds());
  }
}
