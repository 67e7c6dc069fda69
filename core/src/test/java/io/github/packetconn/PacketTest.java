package io.github.packetconn;

import static io.github.packetconn.testing.Golden.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PacketTest {
  @Test
  void goldenPayloadShortIntString() {
    try (Packet p = Packet.allocate()) {
      p.writeShort(0xABCD).writeInt(0x12345678).writeShortPrefixedString("hi");
      assertEquals("cdab7856341202006869", hex(p));
    }
  }

  @Test
  void goldenPayloadBoolLongFloatDoubleString() {
    try (Packet p = Packet.allocate()) {
      p.writeBoolean(true)
          .writeLong(-2)
          .writeFloat(1.5f)
          .writeDouble(-0.25)
          .writeIntPrefixedString("héllo");
      assertEquals("01feffffffffffffff0000c03f000000000000d0bf0600000068c3a96c6c6f", hex(p));
      assertEquals(31, p.size());
    }
  }

  @Test
  void writeIntIsLittleEndian() {
    try (Packet p = Packet.allocate().writeInt(0x0A0B0C0D)) {
      assertEquals("0d0c0b0a", hex(p));
    }
  }

  @Test
  void typedValuesRoundTrip() {
    try (Packet p = Packet.allocate()) {
      p.writeByte(-7)
          .writeBoolean(true)
          .writeBoolean(false)
          .writeShort(-12345)
          .writeInt(Integer.MIN_VALUE)
          .writeLong(Long.MAX_VALUE)
          .writeFloat(Float.NaN)
          .writeFloat(-0.0f)
          .writeDouble(Math.PI)
          .writeBytes(new byte[] {1, 2, 3})
          .writeBytes(new byte[] {9, 4, 5, 6, 9}, 1, 3)
          .writeBytes(ByteBuffer.wrap(new byte[] {7, 8}))
          .writeShortPrefixedBytes(new byte[] {10, 11})
          .writeIntPrefixedBytes(new byte[] {12})
          .writeShortPrefixedString("日本語 ✓")
          .writeIntPrefixedString("");
      assertEquals(-7, p.readByte());
      assertTrue(p.readBoolean());
      assertFalse(p.readBoolean());
      assertEquals(-12345, p.readShort());
      assertEquals(Integer.MIN_VALUE, p.readInt());
      assertEquals(Long.MAX_VALUE, p.readLong());
      assertTrue(Float.isNaN(p.readFloat()));
      assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(p.readFloat()));
      assertEquals(Math.PI, p.readDouble());
      assertArrayEquals(new byte[] {1, 2, 3}, p.readBytes(3));
      byte[] into = new byte[5];
      p.readBytes(into, 1, 3);
      assertArrayEquals(new byte[] {0, 4, 5, 6, 0}, into);
      byte[] two = new byte[2];
      p.readBytes(two);
      assertArrayEquals(new byte[] {7, 8}, two);
      assertArrayEquals(new byte[] {10, 11}, p.readShortPrefixedBytes());
      assertArrayEquals(new byte[] {12}, p.readIntPrefixedBytes());
      assertEquals("日本語 ✓", p.readShortPrefixedString());
      assertEquals("", p.readIntPrefixedString());
      assertFalse(p.hasRemaining());
      assertEquals(0, p.remaining());
    }
  }

  @Test
  void unsignedReads() {
    try (Packet p = Packet.allocate()) {
      p.writeByte(0xFF).writeShort(0xFFFE).writeInt(0xFFFFFFFD).writeLong(-1);
      assertEquals(255, p.readUnsignedByte());
      assertEquals(65534, p.readUnsignedShort());
      assertEquals(4294967293L, p.readUnsignedInt());
      assertEquals("18446744073709551615", Long.toUnsignedString(p.readLong()));
    }
  }

  @Test
  void readBooleanTreatsAnyNonZeroAsTrue() {
    try (Packet p = Packet.of(new byte[] {2, 0})) {
      assertTrue(p.readBoolean());
      assertFalse(p.readBoolean());
    }
  }

  @Test
  void shortPrefixHoldsExactly65535Bytes() {
    byte[] max = new byte[65535];
    Arrays.fill(max, (byte) 'x');
    try (Packet p = Packet.allocate()) {
      p.writeShortPrefixedBytes(max).writeShortPrefixedString(new String(max, 0, 65535));
      assertEquals(2 * (2 + 65535), p.size());
      assertEquals("ffff", HexFormat.of().formatHex(p.toByteArray(), 0, 2));
      assertArrayEquals(max, p.readShortPrefixedBytes());
      assertEquals(65535, p.readShortPrefixedString().length());
    }
  }

  @Test
  void shortPrefixRejects65536Bytes() {
    try (Packet p = Packet.allocate()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> p.writeShortPrefixedBytes(new byte[65536]));
      assertEquals("bytes length 65536 exceeds 65535, the most a 16-bit prefix can hold", e.getMessage());
      // Multi-byte characters count in UTF-8 bytes, not chars: 21846 × 3 bytes = 65538.
      String wide = "€".repeat(21846);
      e = assertThrows(IllegalArgumentException.class, () -> p.writeShortPrefixedString(wide));
      assertEquals("string length 65538 exceeds 65535, the most a 16-bit prefix can hold", e.getMessage());
      assertEquals(0, p.size(), "nothing written on failure");
    }
  }

  @Test
  void readPastEndThrows() {
    try (Packet p = Packet.allocate().writeInt(1).writeShort(2)) {
      p.readShort();
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, p::readLong);
      assertEquals("readPosition(2) + length(8) exceeds size(6)", e.getMessage());
      assertEquals(2, p.readPosition(), "a failed read moves nothing");
      assertThrows(IndexOutOfBoundsException.class, () -> p.readBytes(5));
      assertThrows(IndexOutOfBoundsException.class, () -> p.readBytes(-1));
    }
  }

  @Test
  void lengthPrefixBeyondPayloadThrowsAndKeepsPosition() {
    try (Packet p = Packet.allocate().writeInt(100).writeBytes(new byte[3])) {
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, p::readIntPrefixedBytes);
      assertEquals(
          "length prefix 100 at readPosition(0) exceeds the 3 bytes after it (size 7)", e.getMessage());
      assertEquals(0, p.readPosition());
    }
    try (Packet p = Packet.allocate().writeInt(-1)) {
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, p::readIntPrefixedString);
      assertEquals(
          "length prefix 4294967295 at readPosition(0) exceeds the 0 bytes after it (size 4)",
          e.getMessage());
    }
  }

  @Test
  void growsThroughSizeClassesAndKeepsContent() {
    Random random = new Random(42);
    byte[] expected = new byte[300_000];
    random.nextBytes(expected);
    try (Packet p = Packet.allocate()) {
      assertEquals(128, p.capacity());
      for (int i = 0; i < expected.length; i += 1000) {
        p.writeBytes(expected, i, Math.min(1000, expected.length - i));
      }
      assertEquals(512 << 10, p.capacity(), "doubling from 128 bytes");
      assertArrayEquals(expected, p.toByteArray());
    }
  }

  @Test
  void growingPastMaxSizeThrows() {
    try (Packet p = Packet.allocate(0, 10)) {
      p.writeLong(1);
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> p.writeInt(1));
      assertEquals("size(8) + length(4) exceeds maxSize(10)", e.getMessage());
      p.writeShort(1);
      assertEquals(10, p.size());
    }
    try (Packet p = Packet.allocate()) {
      assertThrows(
          IndexOutOfBoundsException.class, () -> p.writeBytes(new byte[Packet.DEFAULT_MAX_SIZE + 1]));
    }
  }

  @Test
  void prefixedWritePastMaxSizeWritesNothing() {
    // Found by PacketFuzzTest.typedWritesReadBack: the length prefix was written, then the bytes
    // failed, leaving a packet whose last length promised bytes it did not hold.
    try (Packet p = Packet.allocate(8, 16).writeLong(1)) {
      String message = "size(8) + length(55) exceeds maxSize(16)";
      assertEquals(message, assertThrows(IndexOutOfBoundsException.class, () -> p.writeShortPrefixedBytes(new byte[53])).getMessage());
      assertEquals(8, p.size());
      assertThrows(IndexOutOfBoundsException.class, () -> p.writeIntPrefixedBytes(new byte[5]));
      assertThrows(IndexOutOfBoundsException.class, () -> p.writeShortPrefixedString("1234567"));
      assertThrows(IndexOutOfBoundsException.class, () -> p.writeIntPrefixedString("12345"));
      assertEquals(8, p.size());
      p.writeShortPrefixedString("123456"); // Exactly fits.
      assertEquals(16, p.size());
    }
  }

  @Test
  void allocateRejectsBadSizes() {
    assertEquals(
        "capacity < 0: -1",
        assertThrows(IllegalArgumentException.class, () -> Packet.allocate(-1)).getMessage());
    assertEquals(
        "maxSize(5) < capacity(6)",
        assertThrows(IllegalArgumentException.class, () -> Packet.allocate(6, 5)).getMessage());
  }

  @Test
  void zeroLengthReadsOfAReleasedPacketThrow() {
    Packet p = Packet.allocate().writeInt(1);
    p.release();
    for (Runnable read : List.<Runnable>of(() -> p.skip(0), () -> p.readBytes(0), () -> p.readBytes(new byte[0]))) {
      IllegalStateException e = assertThrows(IllegalStateException.class, read::run);
      assertTrue(e.getMessage().startsWith("refCount: 0"), e.getMessage());
    }
    try (Packet live = Packet.allocate().writeInt(1)) {
      assertEquals(0, live.skip(0).readBytes(0).length, "a live packet reads nothing, without fuss");
    }
  }

  @Test
  void releaseTwiceThrows() {
    Packet p = Packet.allocate().writeInt(1);
    assertEquals(1, p.refCount());
    assertTrue(p.release());
    assertEquals(0, p.refCount());
    IllegalStateException e = assertThrows(IllegalStateException.class, p::release);
    assertTrue(e.getMessage().startsWith("refCount: 0 (released twice?)"), e.getMessage());
  }

  @Test
  void leakCheckNamesWhereUnreleasedPacketsWereAllocated() {
    assertTrue(PacketLeaks.enabled(), "surefire runs the tests with -Dpacketconn.leakCheck=true");
    PacketLeaks.assertNone();
    Packet[] kept = new Packet[2];
    for (int i = 0; i < kept.length; i++) kept[i] = allocateAndForget();
    assertEquals(2, PacketLeaks.count());
    AssertionError e = assertThrows(AssertionError.class, PacketLeaks::assertNone);
    assertTrue(e.getMessage().startsWith("2 packets not released, from 1 allocation site:"), e.getMessage());
    assertTrue(e.getMessage().contains("2 × allocated by thread \"" + Thread.currentThread().getName()), e.getMessage());
    assertTrue(e.getMessage().contains("PacketTest.allocateAndForget("), e.getMessage());
    for (Packet p : kept) p.release();
    PacketLeaks.assertNone(); // Deterministic: no GC involved either way.
  }

  private static Packet allocateAndForget() {
    return Packet.allocate().writeInt(7);
  }

  @Test
  void secondReleaseNamesTheFirstRelease() {
    Packet p = Packet.allocate();
    releaseHere(p);
    IllegalStateException e = assertThrows(IllegalStateException.class, p::release);
    assertTrue(e.getMessage().startsWith("refCount: 0 (released twice?); packet released on thread"), e.getMessage());
    StackTraceElement[] firstRelease = e.getCause().getStackTrace();
    assertTrue(
        java.util.Arrays.stream(firstRelease).anyMatch(f -> f.getMethodName().equals("releaseHere")),
        java.util.Arrays.toString(firstRelease));
    IllegalStateException use = assertThrows(IllegalStateException.class, p::readInt);
    assertSame(e.getCause(), use.getCause(), "every later use names the same release");
  }

  private static void releaseHere(Packet p) {
    p.release();
  }

  @Test
  void useAfterReleaseThrows() {
    Packet p = Packet.allocate().writeInt(1);
    p.release();
    for (Runnable use :
        new Runnable[] {
          p::readInt, p::readByte, () -> p.writeInt(1), () -> p.writeByte(1), p::size, p::remaining,
          p::toByteArray, p::payload, p::clear, p::retain, () -> p.writeBytes(new byte[0]),
          () -> p.readPosition(0), () -> p.skip(1)
        }) {
      IllegalStateException e = assertThrows(IllegalStateException.class, use::run);
      assertTrue(e.getMessage().startsWith("refCount: 0"), e.getMessage());
    }
    assertEquals("Packet[released]", p.toString());
  }

  @Test
  void staleHandleCannotReachTheStoragesNextOwner() {
    // The storage is pooled, the handle is not: after the release, the next packet may get the very
    // same array, and the stale handle must neither read nor change it.
    Packet stale = Packet.allocate(100).writeInt(1);
    byte[] array = stale.array();
    stale.release();
    java.util.List<Packet> fresh = new java.util.ArrayList<>();
    for (int i = 0; i < 64 && (fresh.isEmpty() || fresh.getLast().array() != array); i++) {
      fresh.add(Packet.allocate(100).writeInt(42));
    }
    assertSame(array, fresh.getLast().array(), "the released storage was not reused");
    assertThrows(IllegalStateException.class, () -> stale.writeInt(7));
    assertThrows(IllegalStateException.class, stale::readInt);
    assertThrows(IllegalStateException.class, stale::release);
    assertThrows(IllegalStateException.class, stale::retain);
    Packet owner = fresh.getLast();
    assertEquals(1, owner.refCount());
    assertEquals(42, owner.readInt());
    assertEquals(4, owner.size());
    fresh.forEach(Packet::release);
  }

  @Test
  void retainKeepsPacketAliveUntilLastRelease() {
    Packet p = Packet.allocate().writeInt(7);
    assertSame(p, p.retain());
    assertEquals(2, p.refCount());
    assertFalse(p.release());
    assertEquals(7, p.readInt());
    assertTrue(p.release());
  }

  @Test
  void pooledStorageIsReused() {
    // Other threads may use the shared pool meanwhile, so give back many arrays and expect one.
    java.util.Set<byte[]> given = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.List<Packet> packets = new java.util.ArrayList<>();
    for (int i = 0; i < 64; i++) packets.add(Packet.allocate(1000));
    for (Packet p : packets) {
      given.add(p.array());
      p.release();
    }
    boolean reused = false;
    for (int i = 0; i < 64; i++) {
      try (Packet p = Packet.allocate(900)) { // Same 1 KiB class.
        assertEquals(0, p.size(), "a reused packet starts empty");
        reused |= given.contains(p.array());
      }
    }
    assertTrue(reused, "no released array came back from the pool");
  }

  @Test
  void ofCopiesTheArray() {
    byte[] bytes = {1, 2, 3};
    try (Packet p = Packet.of(bytes)) {
      bytes[0] = 9;
      assertEquals("010203", hex(p));
      assertNotSame(bytes, p.array());
    }
  }

  @Test
  void viewsAreReadOnlyLittleEndianAndShareStorage() {
    try (Packet p = Packet.allocate().writeInt(0x01020304).writeShort(5)) {
      p.readInt();
      ByteBuffer all = p.payload();
      assertEquals(6, all.remaining());
      assertEquals(ByteOrder.LITTLE_ENDIAN, all.order());
      assertEquals(0x01020304, all.getInt(0));
      assertThrows(ReadOnlyBufferException.class, () -> all.put(0, (byte) 1));
      ByteBuffer unread = p.unreadPayload();
      assertEquals(2, unread.remaining());
      assertEquals(5, unread.getShort());
      assertEquals(4, p.readPosition(), "views do not move the cursor");
    }
  }

  @Test
  void readPositionAndClear() {
    try (Packet p = Packet.allocate().writeInt(1).writeInt(2)) {
      assertEquals(1, p.readInt());
      p.readPosition(0);
      assertEquals(1, p.readInt());
      p.skip(4);
      assertFalse(p.hasRemaining());
      IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> p.readPosition(9));
      assertEquals("readPosition(9) outside size(8)", e.getMessage());
      p.clear();
      assertEquals(0, p.size());
      assertEquals(0, p.readPosition());
      assertEquals(128, p.capacity(), "clear keeps capacity");
    }
  }

  @Test
  void toStringShowsSizeAndHexPrefix() {
    try (Packet p = Packet.of(new byte[] {0x0a, 0x0b, 0x0c})) {
      assertEquals("Packet[size=3 0a0b0c]", p.toString());
      p.readByte();
      assertEquals("Packet[size=3 readPosition=1 0a0b0c]", p.toString());
    }
    try (Packet p = Packet.of(new byte[20])) {
      assertEquals("Packet[size=20 " + "00".repeat(16) + "…]", p.toString());
    }
  }

  @Test
  void randomTypedRoundTrips() {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    for (int round = 0; round < 200; round++) {
      int count = random.nextInt(50);
      long[] values = new long[count];
      int[] kinds = new int[count];
      try (Packet p = Packet.allocate()) {
        for (int i = 0; i < count; i++) {
          kinds[i] = random.nextInt(4);
          values[i] = random.nextLong();
          switch (kinds[i]) {
            case 0 -> p.writeByte((int) values[i]);
            case 1 -> p.writeShort((int) values[i]);
            case 2 -> p.writeInt((int) values[i]);
            default -> p.writeLong(values[i]);
          }
        }
        for (int i = 0; i < count; i++) {
          long actual =
              switch (kinds[i]) {
                case 0 -> p.readByte();
                case 1 -> p.readShort();
                case 2 -> p.readInt();
                default -> p.readLong();
              };
          long expected =
              switch (kinds[i]) {
                case 0 -> (byte) values[i];
                case 1 -> (short) values[i];
                case 2 -> (int) values[i];
                default -> values[i];
              };
          assertEquals(expected, actual, "seed " + seed + " round " + round + " value " + i);
        }
      }
    }
  }
}
