package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * One packet: a growable payload of bytes with a read cursor, taken from a pool and returned to it
 * by reference counting.
 *
 * <p>Writers append at the end of the payload and return {@code this}, so calls chain. Readers
 * consume from the <b>read position</b>, which starts at 0 and never passes {@link #size()}. Every
 * multi-byte value is <b>little-endian</b>, as on the wire of go-packetconn; strings are
 * <b>UTF-8</b>. Length-prefixed bytes and strings carry a 16-bit ({@code writeShortPrefixed*}) or a
 * 32-bit ({@code writeIntPrefixed*}) unsigned length before the bytes. A write that would take the
 * payload past {@link #maxSize()}, or a read past {@link #size()}, throws {@link
 * IndexOutOfBoundsException} naming the positions, and changes nothing.
 *
 * <p>A new packet has a <b>reference count</b> of 1. {@link #retain()} adds one, {@link #release()}
 * takes one away, and the last release returns the storage to the pool; any later use throws {@link
 * IllegalStateException}. A packet that is never released is collected by the GC like any object:
 * forgetting a release costs pooling, never memory. See the package documentation for who releases
 * what.
 *
 * <pre>{@code
 * try (Packet p = Packet.allocate()) {
 *   p.writeShort(0xABCD).writeInt(0x12345678).writeShortPrefixedString("hi");
 *   conn.send(p); // send() takes its own reference; the try block releases ours
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> A packet has one owner at a time, and the owner may be any thread: a packet
 * received on an I/O thread may be handed to a worker (through an executor, a queue or a future,
 * which make the payload visible to it), and from then on the worker owns it and must release it,
 * once, when done; the I/O thread must not touch it again. {@link #retain()} and {@link #release()}
 * are atomic, so holders of separate references may release them on different threads in any
 * order, and the last release returns the storage to the pool from whichever thread it runs on.
 * Everything else (writes, reads and the read position) is not thread-safe: one thread at a time.
 * To let two threads read the same packet at once, give each a copy ({@code
 * Packet.of(p.toByteArray())}). See the package documentation for who releases what.
 */
public final class Packet implements AutoCloseable {
  /** The default and go-packetconn's maximum payload size, 32 MiB. */
  public static final int DEFAULT_MAX_SIZE = 32 << 20;

  private static final VarHandle SHORT = view(short[].class);
  private static final VarHandle INT = view(int[].class);
  private static final VarHandle LONG = view(long[].class);
  /**
   * What this handle points to: the pooled storage while live, {@link PacketStorage#RELEASED} after
   * the last release. The handle itself is never reused, so a stale reference to a released packet
   * throws instead of reaching the storage's next owner; it is one reference wide (16 bytes), the
   * only allocation per received packet.
   */
  private PacketStorage storage;

  private Packet(PacketStorage storage) {
    this.storage = storage;
  }

  /**
   * Returns an empty packet with room for 128 bytes and a maximum size of 32 MiB.
   *
   * @return a new packet whose one reference is the caller's to release
   */
  public static Packet allocate() {
    return allocate(BufferPool.MIN_CAPACITY, DEFAULT_MAX_SIZE);
  }

  /**
   * Returns an empty packet with room for {@code capacity} bytes and a maximum size of 32 MiB, or
   * of {@code capacity} if that is more.
   *
   * @param capacity bytes the payload holds before it first grows; 0 or more
   * @return a new packet whose one reference is the caller's to release
   * @throws IllegalArgumentException if {@code capacity} is negative
   */
  public static Packet allocate(int capacity) {
    return allocate(capacity, Math.max(capacity, DEFAULT_MAX_SIZE));
  }

  /**
   * Returns an empty packet with room for {@code capacity} bytes that may grow up to {@code
   * maxSize} bytes.
   *
   * @param capacity bytes the payload holds before it first grows; 0 or more
   * @param maxSize the size past which writes throw, at least {@code capacity}
   * @return a new packet whose one reference is the caller's to release
   * @throws IllegalArgumentException if {@code capacity} is negative or above {@code maxSize}
   */
  public static Packet allocate(int capacity, int maxSize) {
    if (capacity < 0) throw new IllegalArgumentException("capacity < 0: " + capacity);
    if (maxSize < capacity) {
      throw new IllegalArgumentException("maxSize(" + maxSize + ") < capacity(" + capacity + ")");
    }
    PacketStorage storage = BufferPool.take(capacity, maxSize);
    if (PacketLeaks.ENABLED) PacketLeaks.allocated(storage);
    return new Packet(storage);
  }

  /**
   * Returns a new packet whose payload is a copy of {@code bytes}.
   *
   * @param bytes the payload; later changes to the array do not reach the packet
   * @return a new packet whose one reference is the caller's to release
   */
  public static Packet of(byte[] bytes) {
    return allocate(bytes.length).writeBytes(bytes);
  }

  // ---- size and position

  /** {@return the payload size in bytes} */
  public int size() {
    PacketStorage s = storage;
    checkLive(s);
    return s.size;
  }

  /** {@return the number of bytes the payload can hold before it grows} */
  public int capacity() {
    PacketStorage s = storage;
    checkLive(s);
    return s.array.length;
  }

  /** {@return the size past which writes throw} */
  public int maxSize() {
    PacketStorage s = storage;
    checkLive(s);
    return s.maxSize;
  }

  /** {@return the index of the next byte to read} */
  public int readPosition() {
    PacketStorage s = storage;
    checkLive(s);
    return s.readPosition;
  }

  /**
   * Moves the read position to {@code position}, to read again or skip ahead.
   *
   * @param position the index of the next byte to read, from 0 to {@link #size()}
   * @return this packet
   * @throws IndexOutOfBoundsException if {@code position} is negative or past the size
   */
  public Packet readPosition(int position) {
    PacketStorage s = storage;
    checkLive(s);
    if (position < 0 || position > s.size) {
      throw new IndexOutOfBoundsException("readPosition(" + position + ") outside size(" + s.size + ")");
    }
    s.readPosition = position;
    return this;
  }

  /** {@return the number of unread bytes: {@code size() - readPosition()}} */
  public int remaining() {
    PacketStorage s = storage;
    checkLive(s);
    return s.size - s.readPosition;
  }

  /** {@return true if there are unread bytes} */
  public boolean hasRemaining() {
    return remaining() > 0;
  }

  /**
   * Empties the payload and rewinds the read position; the capacity is kept.
   *
   * @return this packet
   */
  public Packet clear() {
    PacketStorage s = storage;
    checkLive(s);
    s.size = 0;
    s.readPosition = 0;
    return this;
  }

  /**
   * Skips {@code length} unread bytes.
   *
   * @param length bytes to skip, from 0 to {@link #remaining()}
   * @return this packet
   */
  public Packet skip(int length) {
    PacketStorage s = storage;
    checkReadable(length);
    s.readPosition += length;
    return this;
  }

  // ---- writes

  /**
   * Writes the low 8 bits of {@code value}.
   *
   * @param value a byte, signed or unsigned (Go's int8 or uint8); higher bits are ignored
   * @return this packet
   */
  public Packet writeByte(int value) {
    PacketStorage s = storage;
    ensureWritable(1);
    s.array[s.size++] = (byte) value;
    return this;
  }

  /**
   * Writes one byte: 1 for true, 0 for false.
   *
   * @param value the flag (Go's bool)
   * @return this packet
   */
  public Packet writeBoolean(boolean value) {
    return writeByte(value ? 1 : 0);
  }

  /**
   * Writes the low 16 bits of {@code value}, little-endian.
   *
   * @param value a short, or 0 to 65535 (Go's int16 or uint16); higher bits are ignored
   * @return this packet
   */
  public Packet writeShort(int value) {
    PacketStorage s = storage;
    ensureWritable(2);
    SHORT.set(s.array, s.size, (short) value);
    s.size += 2;
    return this;
  }

  /**
   * Writes four bytes, little-endian.
   *
   * @param value Go's int32, or the bits of a uint32 ({@code (int) unsigned})
   * @return this packet
   */
  public Packet writeInt(int value) {
    PacketStorage s = storage;
    ensureWritable(4);
    INT.set(s.array, s.size, value);
    s.size += 4;
    return this;
  }

  /**
   * Writes eight bytes, little-endian.
   *
   * @param value Go's int64, or the bits of a uint64
   * @return this packet
   */
  public Packet writeLong(long value) {
    PacketStorage s = storage;
    ensureWritable(8);
    LONG.set(s.array, s.size, value);
    s.size += 8;
    return this;
  }

  /**
   * Writes the IEEE 754 bits of {@code value} (Go's float32), little-endian.
   *
   * @param value any float; a NaN keeps its exact bits
   * @return this packet
   */
  public Packet writeFloat(float value) {
    return writeInt(Float.floatToRawIntBits(value));
  }

  /**
   * Writes the IEEE 754 bits of {@code value} (Go's float64), little-endian.
   *
   * @param value any double; a NaN keeps its exact bits
   * @return this packet
   */
  public Packet writeDouble(double value) {
    return writeLong(Double.doubleToRawLongBits(value));
  }

  /**
   * Writes all of {@code bytes}, without a length: the reader must know how many to read.
   *
   * @param bytes copied into the payload
   * @return this packet
   */
  public Packet writeBytes(byte[] bytes) {
    return writeBytes(bytes, 0, bytes.length);
  }

  /**
   * Writes {@code length} bytes of {@code bytes} starting at {@code offset}.
   *
   * @param bytes the array to copy from
   * @param offset where in {@code bytes} the copy starts
   * @param length how many bytes to copy
   * @return this packet
   * @throws IndexOutOfBoundsException if the range lies outside {@code bytes}, or the payload would
   *     exceed {@link #maxSize()}
   */
  public Packet writeBytes(byte[] bytes, int offset, int length) {
    PacketStorage s = storage;
    checkLive(s);
    java.util.Objects.checkFromIndexSize(offset, length, bytes.length);
    ensureWritable(length);
    System.arraycopy(bytes, offset, s.array, s.size, length);
    s.size += length;
    return this;
  }

  /**
   * Writes the remaining bytes of {@code source}, advancing its position to its limit.
   *
   * @param source copied from its position to its limit; its byte order does not matter
   * @return this packet
   */
  public Packet writeBytes(ByteBuffer source) {
    PacketStorage s = storage;
    checkLive(s);
    int length = source.remaining();
    ensureWritable(length);
    source.get(s.array, s.size, length);
    s.size += length;
    return this;
  }

  /**
   * Writes {@code bytes} after a 16-bit length (Go's {@code WriteVarBytesH}).
   *
   * @param bytes at most 65535 of them
   * @return this packet
   * @throws IllegalArgumentException if there are more than 65535 bytes
   */
  public Packet writeShortPrefixedBytes(byte[] bytes) {
    checkShortPrefix(bytes.length, "bytes");
    ensureWritable(2L + bytes.length); // All or nothing: never a length without its bytes.
    return writeShort(bytes.length).writeBytes(bytes);
  }

  /**
   * Writes {@code bytes} after a 32-bit length (Go's {@code WriteVarBytesI}).
   *
   * @param bytes as many as fit within {@link #maxSize()} after the 4 length bytes
   * @return this packet
   */
  public Packet writeIntPrefixedBytes(byte[] bytes) {
    ensureWritable(4L + bytes.length); // All or nothing: never a length without its bytes.
    return writeInt(bytes.length).writeBytes(bytes);
  }

  /**
   * Writes {@code value} as UTF-8 after a 16-bit byte count (Go's {@code WriteVarStrH}).
   *
   * @param value a string of at most 65535 bytes in UTF-8
   * @return this packet
   * @throws IllegalArgumentException if the string takes more than 65535 bytes in UTF-8
   */
  public Packet writeShortPrefixedString(String value) {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    checkShortPrefix(utf8.length, "string");
    ensureWritable(2L + utf8.length); // All or nothing: never a length without its bytes.
    return writeShort(utf8.length).writeBytes(utf8);
  }

  /**
   * Writes {@code value} as UTF-8 after a 32-bit byte count (Go's {@code WriteVarStrI}).
   *
   * @param value a string whose UTF-8 bytes fit within {@link #maxSize()} after the 4 length bytes
   * @return this packet
   */
  public Packet writeIntPrefixedString(String value) {
    return writeIntPrefixedBytes(value.getBytes(StandardCharsets.UTF_8));
  }

  // ---- reads

  /**
   * Reads one byte.
   *
   * @return the byte, from -128 to 127 (Go's int8)
   */
  public byte readByte() {
    PacketStorage s = storage;
    checkReadable(1);
    return s.array[s.readPosition++];
  }

  /**
   * Reads one byte, unsigned.
   *
   * @return the byte, from 0 to 255 (Go's uint8)
   */
  public int readUnsignedByte() {
    return readByte() & 0xff;
  }

  /**
   * Reads one byte as a flag.
   *
   * @return false for 0, true for any other byte, as in Go
   */
  public boolean readBoolean() {
    return readByte() != 0;
  }

  /**
   * Reads two bytes, little-endian.
   *
   * @return the value, from -32768 to 32767 (Go's int16)
   */
  public short readShort() {
    PacketStorage s = storage;
    checkReadable(2);
    short value = (short) SHORT.get(s.array, s.readPosition);
    s.readPosition += 2;
    return value;
  }

  /**
   * Reads two bytes, little-endian, unsigned.
   *
   * @return the value, from 0 to 65535 (Go's uint16)
   */
  public int readUnsignedShort() {
    return readShort() & 0xffff;
  }

  /**
   * Reads four bytes, little-endian.
   *
   * @return the value (Go's int32)
   */
  public int readInt() {
    PacketStorage s = storage;
    checkReadable(4);
    int value = (int) INT.get(s.array, s.readPosition);
    s.readPosition += 4;
    return value;
  }

  /**
   * Reads four bytes, little-endian, unsigned.
   *
   * @return the value, from 0 to 2<sup>32</sup>-1 (Go's uint32)
   */
  public long readUnsignedInt() {
    return readInt() & 0xffff_ffffL;
  }

  /**
   * Reads eight bytes, little-endian.
   *
   * @return the value (Go's int64); for Go's uint64 use the {@code Long.*Unsigned} methods on it
   */
  public long readLong() {
    PacketStorage s = storage;
    checkReadable(8);
    long value = (long) LONG.get(s.array, s.readPosition);
    s.readPosition += 8;
    return value;
  }

  /**
   * Reads a float (Go's float32), little-endian.
   *
   * @return the float with the four bytes as its IEEE 754 bits
   */
  public float readFloat() {
    return Float.intBitsToFloat(readInt());
  }

  /**
   * Reads a double (Go's float64), little-endian.
   *
   * @return the double with the eight bytes as its IEEE 754 bits
   */
  public double readDouble() {
    return Double.longBitsToDouble(readLong());
  }

  /**
   * Reads {@code length} bytes into a new array.
   *
   * @param length bytes to read, from 0 to {@link #remaining()}
   * @return a new array holding them
   */
  public byte[] readBytes(int length) {
    PacketStorage s = storage;
    checkReadable(length);
    byte[] bytes = java.util.Arrays.copyOfRange(s.array, s.readPosition, s.readPosition + length);
    s.readPosition += length;
    return bytes;
  }

  /**
   * Reads exactly {@code destination.length} bytes into {@code destination}.
   *
   * @param destination the array to fill, all of it
   * @return this packet
   */
  public Packet readBytes(byte[] destination) {
    return readBytes(destination, 0, destination.length);
  }

  /**
   * Reads exactly {@code length} bytes into {@code destination} at {@code offset}.
   *
   * @param destination the array to copy into
   * @param offset where in {@code destination} the first byte goes
   * @param length how many bytes to read
   * @return this packet
   * @throws IndexOutOfBoundsException if the range lies outside {@code destination}, or fewer than
   *     {@code length} bytes remain
   */
  public Packet readBytes(byte[] destination, int offset, int length) {
    PacketStorage s = storage;
    java.util.Objects.checkFromIndexSize(offset, length, destination.length);
    checkReadable(length);
    System.arraycopy(s.array, s.readPosition, destination, offset, length);
    s.readPosition += length;
    return this;
  }

  /**
   * Reads bytes written by {@link #writeShortPrefixedBytes} (Go's {@code ReadVarBytesH}).
   *
   * @return a new array of as many bytes as the 16-bit length says
   */
  public byte[] readShortPrefixedBytes() {
    PacketStorage s = storage;
    int start = s.readPosition;
    int length = readUnsignedShort();
    return readPrefixed(start, length);
  }

  /**
   * Reads bytes written by {@link #writeIntPrefixedBytes} (Go's {@code ReadVarBytesI}).
   *
   * @return a new array of as many bytes as the 32-bit length says
   */
  public byte[] readIntPrefixedBytes() {
    PacketStorage s = storage;
    int start = s.readPosition;
    int length = readInt();
    return readPrefixed(start, length);
  }

  /**
   * Reads a string written by {@link #writeShortPrefixedString} (Go's {@code ReadVarStrH}).
   *
   * @return the string decoded from as many UTF-8 bytes as the 16-bit length says
   */
  public String readShortPrefixedString() {
    int start = storage.readPosition;
    return readPrefixedString(start, readUnsignedShort());
  }

  /**
   * Reads a string written by {@link #writeIntPrefixedString} (Go's {@code ReadVarStrI}).
   *
   * @return the string decoded from as many UTF-8 bytes as the 32-bit length says
   */
  public String readIntPrefixedString() {
    int start = storage.readPosition;
    return readPrefixedString(start, readInt());
  }

  // ---- views

  /** {@return a read-only little-endian view of the whole payload, sharing this packet's storage} */
  public ByteBuffer payload() {
    PacketStorage s = storage;
    checkLive(s);
    return ByteBuffer.wrap(s.array, 0, s.size).slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** {@return a read-only little-endian view of the unread bytes, sharing this packet's storage} */
  public ByteBuffer unreadPayload() {
    PacketStorage s = storage;
    checkLive(s);
    return ByteBuffer.wrap(s.array, s.readPosition, s.size - s.readPosition)
        .slice()
        .asReadOnlyBuffer()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** {@return a copy of the whole payload} */
  public byte[] toByteArray() {
    PacketStorage s = storage;
    checkLive(s);
    return java.util.Arrays.copyOf(s.array, s.size);
  }

  // ---- reference counting

  /** {@return the current reference count; 0 once released} */
  public int refCount() {
    return storage.refCount();
  }

  /**
   * Adds one reference, for a second holder (another thread, a cache, a later send); each call
   * needs a matching {@link #release()}. Atomic: safe on any thread that holds a reference.
   *
   * @return this packet
   * @throws IllegalStateException if the packet was already released
   */
  public Packet retain() {
    storage.retain();
    return this;
  }

  /**
   * Drops one reference; the last one returns the storage to the pool. Atomic: holders of separate
   * references may release on different threads, in any order. A second release of the last
   * reference throws when it comes after the first; two threads releasing it at the same instant
   * (a race in the caller, like any unsynchronized use of one packet by two threads) are not
   * caught, and may leave the storage to two later packets at once.
   *
   * @return true if this call released the packet
   * @throws IllegalStateException if the packet was already released
   */
  public boolean release() {
    PacketStorage s = storage;
    if (!s.release()) return false;
    // Before the pool can hand s to anyone else.
    storage = PacketLeaks.ENABLED ? PacketLeaks.released(s) : PacketStorage.RELEASED;
    BufferPool.give(s);
    return true;
  }

  /** Releases this packet, so that {@code try (Packet p = ...)} gives back what it took. */
  @Override
  public void close() {
    release();
  }

  /** {@return the size, read position and the first bytes in hex, e.g. {@code Packet[size=3 0a0b0c]}} */
  @Override
  public String toString() {
    PacketStorage s = storage;
    if (refCount() <= 0) return "Packet[released]";
    int shown = Math.min(s.size, 16);
    String hex = HexFormat.of().formatHex(s.array, 0, shown);
    return "Packet[size=" + s.size + (s.readPosition > 0 ? " readPosition=" + s.readPosition : "") + " "
        + hex + (shown < s.size ? "…" : "") + "]";
  }

  // ---- internals shared with the codec

  /** Returns the backing array; bytes {@code [0, size)} are the payload. */
  byte[] array() {
    PacketStorage s = storage;
    return s.array;
  }

  /**
   * Appends {@code length} bytes from {@code source} to a frame of {@code frameLength} bytes that is
   * arriving. The declared length is trusted only as far as bytes back it: the array jumps to the
   * whole frame once {@code 1 / TRUST} of it has arrived and doubles with the arrivals before that.
   * So a hostile header costs at most {@code TRUST} times what was sent, and a large frame arriving
   * fast is copied into its array once (at most {@code 2 / TRUST} of it is copied again).
   */
  void append(ByteBuffer source, int length, int frameLength) {
    PacketStorage s = storage;
    if (length > s.array.length - s.size) grow(trustedCapacity((long) s.size + length, frameLength));
    source.get(s.array, s.size, length);
    s.size += length;
  }

  /** How many times the bytes received so far a frame's declared length may reserve; see append. */
  static final int TRUST = 32;

  /** {@return the capacity to hold {@code arrived} bytes of a frame of {@code frameLength}} */
  static int trustedCapacity(long arrived, int frameLength) {
    return (int) (arrived * TRUST >= frameLength ? frameLength : arrived * 2);
  }

  private void ensureWritable(long length) {
    PacketStorage s = storage;
    if (length <= s.array.length - s.size) return;
    checkLive(s);
    long needed = (long) s.size + length;
    if (needed > s.maxSize) {
      throw new IndexOutOfBoundsException(
          "size(" + s.size + ") + length(" + length + ") exceeds maxSize(" + s.maxSize + ")");
    }
    grow(Math.min(Math.max(needed, 2L * s.array.length), s.maxSize)); // Double: amortised O(1).
  }

  /** Moves the payload to an array of at least {@code capacity} bytes, at most maxSize. */
  private void grow(long capacity) {
    PacketStorage s = storage;
    PacketStorage bigger = BufferPool.take((int) Math.min(capacity, s.maxSize), s.maxSize);
    System.arraycopy(s.array, 0, bigger.array, 0, s.size);
    byte[] smaller = s.array; // Swap arrays, so this packet keeps its storage (see PacketStorage).
    s.array = bigger.array;
    bigger.array = smaller;
    BufferPool.give(bigger);
  }

  private void checkReadable(int length) {
    PacketStorage s = storage;
    if (length <= 0 || length > s.size - s.readPosition) { // Zero too: a released packet must throw.
      checkLive(s);
      if (length == 0) return;
      throw new IndexOutOfBoundsException(
          "readPosition(" + s.readPosition + ") + length(" + length + ") exceeds size(" + s.size + ")");
    }
  }

  private byte[] readPrefixed(int start, int length) {
    checkPrefix(start, length);
    return readBytes(length);
  }

  /** Decodes the string in place: one copy, not a byte array and then a string. */
  private String readPrefixedString(int start, int length) {
    checkPrefix(start, length);
    PacketStorage s = storage;
    String value = new String(s.array, s.readPosition, length, StandardCharsets.UTF_8);
    s.readPosition += length;
    return value;
  }

  private void checkPrefix(int start, int length) {
    PacketStorage s = storage;
    int after = s.size - s.readPosition;
    if (length < 0 || length > after) {
      s.readPosition = start; // Leave the cursor where it was: the prefix is not consumed either.
      throw new IndexOutOfBoundsException(
          "length prefix " + Integer.toUnsignedString(length) + " at readPosition(" + start
              + ") exceeds the " + after + " bytes after it (size " + s.size + ")");
    }
  }

  private static void checkLive(PacketStorage s) {
    if (s.refCount <= 0) throw s.released("refCount: 0");
  }

  private static void checkShortPrefix(int length, String what) {
    if (length > 0xffff) {
      throw new IllegalArgumentException(
          what + " length " + length + " exceeds 65535, the most a 16-bit prefix can hold");
    }
  }

  private static VarHandle view(Class<?> arrayType) {
    return MethodHandles.byteArrayViewVarHandle(arrayType, ByteOrder.LITTLE_ENDIAN);
  }
}
