package io.github.packetconn;

import static io.github.packetconn.testing.Golden.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.packetconn.testing.Choices;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Fuzz tests of {@link Packet}: any bytes read with any sequence of typed reads give what a
 * little-endian {@link ByteBuffer} gives at the same offsets, a read that does not fit throws
 * {@link IndexOutOfBoundsException} and leaves the read position where it was, and any sequence of
 * typed writes reads back as written. The fuzzer's input is read by {@link Choices}.
 *
 * <h2>Fuzzing</h2>
 *
 * <p>{@code mvn verify} runs each {@code @FuzzTest} on the checked-in seeds only (regression mode,
 * milliseconds). To fuzz one method for real, as {@link FrameDecoderFuzzTest} describes:
 *
 * <pre>
 * JAZZER_FUZZ=1 mvn -B -pl core test -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dtest='PacketFuzzTest#readsMatchByteBuffer' -Djazzer.max_duration=10m
 * </pre>
 *
 * <p>Rewrite the seeds with {@code -Dtest='PacketFuzzTest#seedCorpusIsUpToDate'
 * -Dpacketconn.writeSeeds=true}.
 */
class PacketFuzzTest {
  // Reads, by the number a choice picks.
  static final int READ_BYTE = 0, READ_UNSIGNED_BYTE = 1, READ_BOOLEAN = 2, READ_SHORT = 3;
  static final int READ_UNSIGNED_SHORT = 4, READ_INT = 5, READ_UNSIGNED_INT = 6, READ_LONG = 7;
  static final int READ_FLOAT = 8, READ_DOUBLE = 9, READ_BYTES = 10, READ_BYTES_INTO = 11;
  static final int READ_SHORT_PREFIXED_BYTES = 12, READ_INT_PREFIXED_BYTES = 13;
  static final int READ_SHORT_PREFIXED_STRING = 14, READ_INT_PREFIXED_STRING = 15, SKIP = 16;
  static final int SET_READ_POSITION = 17, READS = 18;
  private static final int ARG_MIN = -2, ARG_MAX = 1021;

  @FuzzTest
  void readsMatchByteBuffer(FuzzedDataProvider data) {
    Choices c = new Choices(data);
    int[][] ops = new int[c.pick(0, 63)][];
    for (int i = 0; i < ops.length; i++) {
      int op = c.pick(0, READS - 1);
      ops[i] =
          switch (op) {
            case READ_BYTES, SKIP, SET_READ_POSITION -> new int[] {op, c.pick(ARG_MIN, ARG_MAX)};
            case READ_BYTES_INTO -> new int[] {op, c.pick(0, 63), c.pick(-2, 65), c.pick(-2, 65)};
            default -> new int[] {op};
          };
    }
    byte[] payload = c.rest();

    Packet packet = Packet.of(payload);
    ByteBuffer reference = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    int size = payload.length;
    int position = 0;
    for (int[] op : ops) {
      String context = "op " + Arrays.toString(op) + " at readPosition " + position + " of " + size;
      int at = position;
      int width; // Bytes the read consumes, or -1 if it must throw.
      Object expected = null;
      Supplier<Object> read;
      switch (op[0]) {
        case READ_BYTE -> {
          width = fits(1, at, size);
          read = packet::readByte;
          if (width > 0) expected = reference.get(at);
        }
        case READ_UNSIGNED_BYTE -> {
          width = fits(1, at, size);
          read = packet::readUnsignedByte;
          if (width > 0) expected = reference.get(at) & 0xff;
        }
        case READ_BOOLEAN -> {
          width = fits(1, at, size);
          read = packet::readBoolean;
          if (width > 0) expected = reference.get(at) != 0;
        }
        case READ_SHORT -> {
          width = fits(2, at, size);
          read = packet::readShort;
          if (width > 0) expected = reference.getShort(at);
        }
        case READ_UNSIGNED_SHORT -> {
          width = fits(2, at, size);
          read = packet::readUnsignedShort;
          if (width > 0) expected = reference.getShort(at) & 0xffff;
        }
        case READ_INT -> {
          width = fits(4, at, size);
          read = packet::readInt;
          if (width > 0) expected = reference.getInt(at);
        }
        case READ_UNSIGNED_INT -> {
          width = fits(4, at, size);
          read = packet::readUnsignedInt;
          if (width > 0) expected = reference.getInt(at) & 0xffff_ffffL;
        }
        case READ_LONG -> {
          width = fits(8, at, size);
          read = packet::readLong;
          if (width > 0) expected = reference.getLong(at);
        }
        case READ_FLOAT -> {
          width = fits(4, at, size);
          read = packet::readFloat;
          if (width > 0) expected = reference.getFloat(at); // Float.equals compares bits, NaN too.
        }
        case READ_DOUBLE -> {
          width = fits(8, at, size);
          read = packet::readDouble;
          if (width > 0) expected = reference.getDouble(at);
        }
        case READ_BYTES -> {
          int n = op[1];
          width = n < 0 ? -1 : fits(n, at, size);
          read = () -> packet.readBytes(n);
          if (width >= 0) expected = Arrays.copyOfRange(payload, at, at + n);
        }
        case READ_BYTES_INTO -> {
          byte[] destination = new byte[op[1]];
          int offset = op[2];
          int n = op[3];
          boolean inside = offset >= 0 && n >= 0 && offset + n <= destination.length;
          width = inside ? fits(n, at, size) : -1;
          read =
              () -> {
                packet.readBytes(destination, offset, n);
                return destination;
              };
          if (width >= 0) {
            byte[] after = new byte[destination.length];
            System.arraycopy(payload, at, after, offset, n);
            expected = after;
          }
        }
        case READ_SHORT_PREFIXED_BYTES, READ_SHORT_PREFIXED_STRING, READ_INT_PREFIXED_BYTES, READ_INT_PREFIXED_STRING -> {
          boolean shortPrefix = op[0] == READ_SHORT_PREFIXED_BYTES || op[0] == READ_SHORT_PREFIXED_STRING;
          boolean string = op[0] == READ_SHORT_PREFIXED_STRING || op[0] == READ_INT_PREFIXED_STRING;
          int prefix = shortPrefix ? 2 : 4;
          width = -1;
          if (fits(prefix, at, size) > 0) {
            long n = shortPrefix ? reference.getShort(at) & 0xffff : reference.getInt(at); // Signed: a negative length is an error.
            if (n >= 0 && n <= size - at - prefix) {
              width = prefix + (int) n;
              byte[] bytes = Arrays.copyOfRange(payload, at + prefix, at + width);
              expected = string ? new String(bytes, StandardCharsets.UTF_8) : bytes;
            }
          }
          read =
              switch (op[0]) {
                case READ_SHORT_PREFIXED_BYTES -> packet::readShortPrefixedBytes;
                case READ_INT_PREFIXED_BYTES -> packet::readIntPrefixedBytes;
                case READ_SHORT_PREFIXED_STRING -> packet::readShortPrefixedString;
                default -> packet::readIntPrefixedString;
              };
        }
        case SKIP -> {
          int n = op[1];
          width = n < 0 ? -1 : fits(n, at, size);
          read = () -> packet.skip(n);
          expected = packet;
        }
        case SET_READ_POSITION -> {
          int target = op[1];
          width = target - at; // May move back.
          read = () -> packet.readPosition(target);
          expected = packet;
        }
        default -> throw new AssertionError(op[0]);
      }
      boolean ok = op[0] == SET_READ_POSITION ? op[1] >= 0 && op[1] <= size : width >= 0;
      if (ok) {
        Object actual = read.get();
        if (expected instanceof byte[] bytes) {
          assertArrayEquals(bytes, (byte[]) actual, context);
        } else {
          assertEquals(expected, actual, context);
        }
        position = at + width;
      } else {
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, read::get, context);
        assertEquals(IndexOutOfBoundsException.class, e.getClass(), context);
      }
      assertEquals(position, packet.readPosition(), context);
      assertEquals(size - position, packet.remaining(), context);
      assertEquals(size, packet.size(), context);
    }
    assertEquals(1, packet.refCount());
    assertTrue(packet.release());
    assertEquals(0, packet.refCount());
    assertThrows(IllegalStateException.class, packet::readByte);
  }

  /** {@return {@code n} if {@code n} bytes are readable at {@code at}, else -1} */
  private static int fits(int n, int at, int size) {
    return n <= size - at ? n : -1;
  }

  // Writes, by the number a choice picks.
  static final int WRITE_BYTE = 0, WRITE_BOOLEAN = 1, WRITE_SHORT = 2, WRITE_INT = 3, WRITE_LONG = 4;
  static final int WRITE_FLOAT = 5, WRITE_DOUBLE = 6, WRITE_BYTES = 7, WRITE_SHORT_PREFIXED_BYTES = 8;
  static final int WRITE_INT_PREFIXED_BYTES = 9, WRITE_SHORT_PREFIXED_STRING = 10;
  static final int WRITE_INT_PREFIXED_STRING = 11, WRITES = 12;

  @FuzzTest
  void typedWritesReadBack(FuzzedDataProvider data) {
    Choices c = new Choices(data);
    int capacity = c.pick(0, 255);
    int maxSize = capacity + c.pick(0, 1023);
    Packet packet = Packet.allocate(capacity, maxSize);
    List<Object[]> written = new ArrayList<>();
    int count = c.pick(0, 63);
    for (int i = 0; i < count; i++) {
      int kind = c.pick(0, WRITES - 1);
      Object value =
          switch (kind) {
            case WRITE_BYTE, WRITE_SHORT, WRITE_INT -> c.int32();
            case WRITE_BOOLEAN -> c.flag();
            case WRITE_LONG -> c.int64();
            case WRITE_FLOAT -> Float.intBitsToFloat(c.int32());
            case WRITE_DOUBLE -> Double.longBitsToDouble(c.int64());
            case WRITE_BYTES, WRITE_SHORT_PREFIXED_BYTES, WRITE_INT_PREFIXED_BYTES -> c.bytes(c.pick(0, 300));
            default -> utf16(c.bytes(2 * c.pick(0, 150)));
          };
      int width =
          switch (kind) {
            case WRITE_BYTE, WRITE_BOOLEAN -> 1;
            case WRITE_SHORT -> 2;
            case WRITE_INT, WRITE_FLOAT -> 4;
            case WRITE_LONG, WRITE_DOUBLE -> 8;
            case WRITE_BYTES -> ((byte[]) value).length;
            case WRITE_SHORT_PREFIXED_BYTES -> 2 + ((byte[]) value).length;
            case WRITE_INT_PREFIXED_BYTES -> 4 + ((byte[]) value).length;
            case WRITE_SHORT_PREFIXED_STRING -> 2 + ((String) value).getBytes(StandardCharsets.UTF_8).length;
            default -> 4 + ((String) value).getBytes(StandardCharsets.UTF_8).length;
          };
      int size = packet.size();
      String context = "write " + kind + " of " + width + " bytes at size " + size + ", maxSize " + maxSize;
      Runnable write =
          () -> {
            switch (kind) {
              case WRITE_BYTE -> packet.writeByte((int) value);
              case WRITE_BOOLEAN -> packet.writeBoolean((boolean) value);
              case WRITE_SHORT -> packet.writeShort((int) value);
              case WRITE_INT -> packet.writeInt((int) value);
              case WRITE_LONG -> packet.writeLong((long) value);
              case WRITE_FLOAT -> packet.writeFloat((float) value);
              case WRITE_DOUBLE -> packet.writeDouble((double) value);
              case WRITE_BYTES -> packet.writeBytes((byte[]) value);
              case WRITE_SHORT_PREFIXED_BYTES -> packet.writeShortPrefixedBytes((byte[]) value);
              case WRITE_INT_PREFIXED_BYTES -> packet.writeIntPrefixedBytes((byte[]) value);
              case WRITE_SHORT_PREFIXED_STRING -> packet.writeShortPrefixedString((String) value);
              default -> packet.writeIntPrefixedString((String) value);
            }
          };
      if (size + width <= maxSize) {
        write.run();
        written.add(new Object[] {kind, value});
        assertEquals(size + width, packet.size(), context);
      } else {
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, write::run, context);
        assertEquals(IndexOutOfBoundsException.class, e.getClass(), context);
        assertEquals(size, packet.size(), "a failed write writes nothing: " + context);
      }
    }
    for (Object[] w : written) {
      Object value = w[1];
      String context = "read back " + w[0] + " at readPosition " + packet.readPosition();
      switch ((int) w[0]) {
        case WRITE_BYTE -> assertEquals((byte) (int) value, packet.readByte(), context);
        case WRITE_BOOLEAN -> assertEquals(value, packet.readBoolean(), context);
        case WRITE_SHORT -> assertEquals((short) (int) value, packet.readShort(), context);
        case WRITE_INT -> assertEquals(value, packet.readInt(), context);
        case WRITE_LONG -> assertEquals(value, packet.readLong(), context);
        case WRITE_FLOAT -> assertEquals(value, packet.readFloat(), context);
        case WRITE_DOUBLE -> assertEquals(value, packet.readDouble(), context);
        case WRITE_BYTES -> assertArrayEquals((byte[]) value, packet.readBytes(((byte[]) value).length), context);
        case WRITE_SHORT_PREFIXED_BYTES -> assertArrayEquals((byte[]) value, packet.readShortPrefixedBytes(), context);
        case WRITE_INT_PREFIXED_BYTES -> assertArrayEquals((byte[]) value, packet.readIntPrefixedBytes(), context);
        // Unpaired surrogates become '?' in UTF-8, so a string reads back as its UTF-8 round trip.
        case WRITE_SHORT_PREFIXED_STRING -> assertEquals(viaUtf8((String) value), packet.readShortPrefixedString(), context);
        default -> assertEquals(viaUtf8((String) value), packet.readIntPrefixedString(), context);
      }
    }
    assertEquals(0, packet.remaining());
    assertTrue(packet.release());
    assertEquals(0, packet.refCount());
  }

  /** {@return the UTF-16 string whose code units are {@code bytes}, little-endian, lone surrogates and all} */
  static String utf16(byte[] bytes) {
    char[] chars = new char[bytes.length / 2];
    for (int i = 0; i < chars.length; i++) chars[i] = (char) ((bytes[2 * i] & 0xff) | bytes[2 * i + 1] << 8);
    return new String(chars);
  }

  private static String viaUtf8(String value) {
    return new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
  }

  // ---- seeds

  /** {@return the seed inputs by method and file name} */
  static Map<String, byte[]> seeds() {
    Map<String, byte[]> seeds = new TreeMap<>();
    String reads = "readsMatchByteBuffer/";
    seeds.put(reads + "golden-short-int-string",
        readSeed("cdab7856341202006869", new int[] {READ_SHORT}, new int[] {READ_INT}, new int[] {READ_SHORT_PREFIXED_STRING}));
    seeds.put(reads + "golden-bool-long-float-double-string",
        readSeed("01feffffffffffffff0000c03f000000000000d0bf0600000068c3a96c6c6f",
            new int[] {READ_BOOLEAN}, new int[] {READ_LONG}, new int[] {READ_FLOAT}, new int[] {READ_DOUBLE}, new int[] {READ_INT_PREFIXED_STRING}));
    seeds.put(reads + "unsigned",
        readSeed("fffffffffffffffe", new int[] {READ_UNSIGNED_BYTE}, new int[] {READ_UNSIGNED_SHORT}, new int[] {READ_UNSIGNED_INT}));
    seeds.put(reads + "read-past-end",
        readSeed("010203", new int[] {READ_INT}, new int[] {READ_SHORT}, new int[] {READ_SHORT}, new int[] {SKIP, 1}, new int[] {READ_BYTE}));
    seeds.put(reads + "prefix-past-end",
        readSeed("ff0041", new int[] {READ_SHORT_PREFIXED_BYTES}, new int[] {READ_INT_PREFIXED_STRING}, new int[] {READ_BYTE}));
    seeds.put(reads + "negative-int-prefix", readSeed("ffffffff41", new int[] {READ_INT_PREFIXED_BYTES}, new int[] {READ_INT}));
    seeds.put(reads + "positions-and-lengths",
        readSeed("0102030405060708",
            new int[] {SET_READ_POSITION, -1}, new int[] {SET_READ_POSITION, 9}, new int[] {SET_READ_POSITION, 6},
            new int[] {READ_BYTES, -1}, new int[] {READ_BYTES, 3}, new int[] {SET_READ_POSITION, 0},
            new int[] {READ_BYTES_INTO, 4, 1, 3}, new int[] {READ_BYTES_INTO, 4, 2, 3}, new int[] {SKIP, -1}, new int[] {SKIP, 5}));
    int[][] everyRead = new int[READS][];
    for (int op = 0; op < READS; op++) {
      everyRead[op] = switch (op) {
        case READ_BYTES, SKIP, SET_READ_POSITION -> new int[] {op, 0};
        case READ_BYTES_INTO -> new int[] {op, 0, 0, 0};
        default -> new int[] {op};
      };
    }
    seeds.put(reads + "empty-payload-every-read", readSeed("", everyRead));

    String writes = "typedWritesReadBack/";
    seeds.put(writes + "every-type", writeSeed(0, 1023, new byte[] {0x41, 0x00, 0x3d, (byte) 0xd8, 0x00, (byte) 0xde, 0x00, (byte) 0xd8}));
    seeds.put(writes + "past-max-size", writeSeed(4, 12, new byte[0]));
    return seeds;
  }

  private static byte[] readSeed(String payloadHex, int[]... ops) {
    Choices.Writer w = new Choices.Writer().pick(ops.length, 0, 63);
    for (int[] op : ops) {
      w.pick(op[0], 0, READS - 1);
      if (op.length == 2) w.pick(op[1], ARG_MIN, ARG_MAX);
      if (op.length == 4) w.pick(op[1], 0, 63).pick(op[2], -2, 65).pick(op[3], -2, 65);
    }
    return w.rest(bytes(payloadHex));
  }

  /** One write of every kind, with {@code text} as the UTF-16LE code units of the strings. */
  private static byte[] writeSeed(int capacity, int extra, byte[] text) {
    Choices.Writer w = new Choices.Writer().pick(capacity, 0, 255).pick(extra, 0, 1023).pick(WRITES, 0, 63);
    for (int kind = 0; kind < WRITES; kind++) {
      w.pick(kind, 0, WRITES - 1);
      switch (kind) {
        case WRITE_BYTE, WRITE_SHORT, WRITE_INT -> w.int32(0xfedcba98);
        case WRITE_BOOLEAN -> w.flag(true);
        case WRITE_LONG -> w.int64(-2);
        case WRITE_FLOAT -> w.int32(Float.floatToRawIntBits(1.5f));
        case WRITE_DOUBLE -> w.int64(Double.doubleToRawLongBits(Double.NaN));
        case WRITE_BYTES, WRITE_SHORT_PREFIXED_BYTES, WRITE_INT_PREFIXED_BYTES -> w.pick(3, 0, 300).bytes(new byte[] {1, 2, 3});
        default -> w.pick(text.length / 2, 0, 150).bytes(text);
      }
    }
    return w.rest(new byte[0]);
  }

  @Test
  void seedCorpusIsUpToDate() throws IOException {
    Choices.checkSeeds(PacketFuzzTest.class, seeds());
  }
}
