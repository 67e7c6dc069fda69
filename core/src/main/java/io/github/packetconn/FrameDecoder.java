package io.github.packetconn;

import java.io.EOFException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Splits a byte stream into packets: {@code u32le length | payload | [u32le CRC-32]}.
 *
 * <p>Bytes may arrive in chunks of any size, split anywhere. A frame's packet grows with the bytes
 * that actually arrived: its header's claim is trusted only once the bytes received reach 1/{@value
 * Packet#TRUST} of it (until then the array is about twice what arrived), so a hostile 32 MiB header
 * followed by a trickle costs at most {@value Packet#TRUST} times the trickle. One decoder per
 * connection; not thread-safe.
 */
final class FrameDecoder {
  /** Receives each decoded packet, which it then owns; returns false to stop decoding. */
  interface Sink {
    boolean accept(Packet packet) throws Exception;
  }

  private final int maxPacketSize;
  private final MemoryBudget budget; // Counts the array of a frame left partly received.
  private final CRC32 crc; // Null when frames carry no CRC.
  private final byte[] lengthBytes = new byte[4];

  private int headerCount; // Length bytes seen so far, 0 to 3, while current is null.
  private int length; // Declared payload length, assembled little-endian.
  private Packet current; // The packet being filled; null between frames.
  private int trailerCount; // CRC bytes seen so far.
  private int trailer;
  private boolean decodedOne; // A frame has been decoded: a bad length now hints at a CRC mismatch.
  private long held; // Bytes of the budget taken for the current frame.
  private boolean maybeTls; // The first frame's header could start a TLS record: check its payload.

  FrameDecoder(int maxPacketSize, boolean crc) {
    this(maxPacketSize, crc, MemoryBudget.unlimited());
  }

  FrameDecoder(int maxPacketSize, boolean crc, MemoryBudget budget) {
    this.maxPacketSize = maxPacketSize;
    this.budget = budget;
    this.crc = crc ? new CRC32() : null;
  }

  /**
   * Consumes {@code in} (which must be little-endian) up to its limit, handing each complete packet
   * to {@code sink}. Stops early, leaving the rest of {@code in}, when the sink returns false.
   */
  void decode(ByteBuffer in, Sink sink) throws Exception {
    while (true) {
      if (current == null) {
        if (headerCount == 0 && in.remaining() >= 4) {
          length = in.getInt();
        } else {
          while (headerCount < 4 && in.hasRemaining()) {
            length |= (in.get() & 0xff) << (8 * headerCount++);
          }
          if (headerCount < 4) return;
          headerCount = 0;
        }
        begin(in.remaining());
      }
      int missing = length - current.size();
      if (missing > 0) {
        int n = Math.min(missing, in.remaining());
        current.append(in, n, length);
        if (maybeTls && current.size() >= TLS_CHECKED_BYTES) checkNotTls();
        if (n < missing) {
          hold();
          return;
        }
      }
      if (crc != null) {
        if (trailerCount == 0 && in.remaining() >= 4) {
          trailer = in.getInt();
        } else {
          while (trailerCount < 4 && in.hasRemaining()) {
            trailer |= (in.get() & 0xff) << (8 * trailerCount++);
          }
          if (trailerCount < 4) {
            hold();
            return;
          }
          trailerCount = 0;
        }
        checkCrc();
      }
      Packet packet = current;
      current = null;
      if (held != 0) unhold();
      decodedOne = true;
      length = 0;
      trailer = 0;
      if (!sink.accept(packet) || !in.hasRemaining()) return;
    }
  }

  /** Reports the end of the stream: an {@link EOFException} if it cut a frame. */
  void endOfStream() throws EOFException {
    if (current == null && headerCount == 0) return;
    String where;
    if (current == null) {
      where = headerCount + " of 4 length bytes";
    } else if (current.size() < length) {
      where = current.size() + " of " + length + " payload bytes";
    } else {
      where = "the payload of " + length + " bytes and " + trailerCount + " of 4 CRC bytes";
    }
    release();
    throw new EOFException("end of stream inside a frame, after " + where);
  }

  /** {@return true if part of a frame has arrived} */
  boolean inFrame() {
    return current != null || headerCount > 0;
  }

  /** {@return the capacity held for the partly received frame; for tests} */
  int partialCapacity() {
    return current == null ? 0 : current.capacity();
  }

  /**
   * Counts the array of the frame left partly received against the budget: frames decoded within
   * one read are never counted, so the budget costs nothing per packet.
   */
  private void hold() {
    int capacity = current.capacity();
    if (capacity > held) {
      budget.holdPartial(capacity - held);
      held = capacity;
    }
  }

  private void unhold() {
    budget.releasePartial(held);
    held = 0;
    budget.frameDone(this);
  }

  /** {@return the bytes this decoder counts against its budget now; for tests} */
  long held() {
    return held;
  }

  /** Releases the partly received packet, if any. */
  void release() {
    if (held != 0) unhold();
    if (current != null) {
      current.release();
      current = null;
    }
    headerCount = 0;
    trailerCount = 0;
    length = 0;
    trailer = 0;
  }

  private void begin(int available) throws ProtocolException {
    if (Integer.compareUnsigned(length, maxPacketSize) > 0) {
      int header = length;
      length = 0;
      String message = tooLarge(header, maxPacketSize);
      if (crc == null && decodedOne && foreignProtocol(header) == null) {
        message += " (does the peer have crc enabled while this side does not?)";
      }
      throw new ProtocolException(message);
    }
    // A TLS ClientHello shorter than 512 bytes spells a length below the limit; its payload tells.
    maybeTls = !decodedOne && length >= TLS_CHECKED_BYTES && tlsRecord(length);
    // Trust the header only as far as bytes have arrived; append() grows the rest as they come.
    current = Packet.allocate(Packet.trustedCapacity(Math.min(length, available), length), maxPacketSize);
  }

  private void checkCrc() throws ProtocolException {
    crc.reset();
    ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).putInt(0, length);
    crc.update(lengthBytes, 0, 4);
    crc.update(current.array(), 0, length);
    int computed = (int) crc.getValue();
    if (computed != trailer) {
      String message =
          String.format(
              "CRC mismatch on a frame of %d bytes: received %08x, computed %08x"
                  + " (do both peers have crc enabled?)",
              length, trailer, computed);
      release();
      throw new ProtocolException(message);
    }
  }

  private static final int TLS_CHECKED_BYTES = 7; // Record length, handshake type, length, version.

  /** {@return true if a length header's bytes are {@code 16 03 0x}: a TLS record's start} */
  private static boolean tlsRecord(int header) {
    return (header & 0xff) == 0x16 && (header >> 8 & 0xff) == 0x03 && (header >> 16 & 0xff) <= 4;
  }

  /**
   * Fails a first frame whose header and first payload bytes are a TLS ClientHello: {@code 16 03 0x
   * LL | LL 01 LL LL LL 03 0x}. A real packet starting so is possible but unlikely enough (one in
   * 2^40 of the frames of those lengths), and a TLS client on a plain port would otherwise wait
   * forever for a frame that never completes.
   */
  private void checkNotTls() throws ProtocolException {
    maybeTls = false;
    byte[] p = current.array();
    if (p[1] == 0x01 && p[5] == 0x03 && (p[6] & 0xff) <= 4) {
      String message =
          String.format(
              "the first frame (%d bytes) is a TLS ClientHello (16 03 %02x %02x %02x 01 ...):"
                  + " is a TLS client talking to a plain packetconn port?",
              length, length >> 16 & 0xff, length >>> 24, p[0]);
      release();
      throw new ProtocolException(message);
    }
  }

  /** Describes a length header above the limit, naming the protocol its bytes spell if known. */
  static String tooLarge(int header, int maxPacketSize) {
    String message =
        "packet size " + Integer.toUnsignedString(header) + " exceeds maxPacketSize " + maxPacketSize;
    String foreign = foreignProtocol(header);
    return foreign == null ? message : message + "; " + foreign;
  }

  /** Names the protocol a peer speaks when the first four bytes of a frame give it away. */
  static String foreignProtocol(int header) {
    byte[] b = {(byte) header, (byte) (header >> 8), (byte) (header >> 16), (byte) (header >>> 24)};
    if (b[0] == 0x16 && b[1] == 0x03 && b[2] >= 0 && b[2] <= 4) {
      return "the bytes 16 03 " + String.format("%02x", b[2]) + " start a TLS record:"
          + " is a TLS client talking to a plain packetconn port?";
    }
    String text = new String(b, StandardCharsets.ISO_8859_1);
    return switch (text) {
      case "GET ", "POST", "HEAD", "PUT ", "DELE", "PATC", "OPTI", "CONN", "TRAC" ->
          "the bytes \"" + text + "\" start an HTTP request: is an HTTP client talking to this port?";
      case "PRI " -> "the bytes \"PRI \" start an HTTP/2 preface: is an HTTP/2 client talking to this port?";
      case "SSH-" -> "the bytes \"SSH-\" start an SSH banner: is an SSH client talking to this port?";
      default -> null;
    };
  }
}
