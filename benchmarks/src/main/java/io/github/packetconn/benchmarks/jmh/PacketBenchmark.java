package io.github.packetconn.benchmarks.jmh;

import io.github.packetconn.Packet;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The {@link Packet} API: a typed message written and read, allocate and release, and growth; each
 * next to what a plain little-endian {@link ByteBuffer} or the JDK would do. Run with {@code -prof
 * gc}: {@code gc.alloc.rate.norm} is the garbage per operation, which pooling should keep near 0.
 *
 * <p>The message is what a game or RPC protocol sends: an int opcode, a long id, a 16-bit-prefixed
 * string and an opaque body of {@code bodySize} bytes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PacketBenchmark {
  /** The fields of the message, in non-final fields so the JIT cannot fold them. */
  @State(Scope.Thread)
  public static class Message {
    @Param({"16", "1024"})
    public int bodySize;

    int opcode;
    long id;
    String name;
    byte[] body;
    byte[] bodyCopy; // Where reads put the body.
    Packet written; // The message, for the read benchmarks.
    int size; // Its size in bytes.
    ByteBuffer buffer; // Baseline: a reused heap buffer, little-endian, room for the message.

    @Setup
    public void setUp() {
      Random random = new Random(42);
      opcode = random.nextInt();
      id = random.nextLong();
      name = "player-" + random.nextInt(1000); // ASCII, as most protocol strings are.
      body = new byte[bodySize];
      random.nextBytes(body);
      bodyCopy = new byte[bodySize];
      written = Packet.allocate().writeInt(opcode).writeLong(id).writeShortPrefixedString(name)
          .writeBytes(body);
      size = written.size();
      buffer = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
      buffer.put(written.payload()).flip();
    }

    @TearDown
    public void tearDown() {
      written.release();
    }
  }

  /** Capacities to allocate: the default 128 B, a mid-size and a large (1 MiB) packet. */
  @State(Scope.Thread)
  public static class Sizes {
    @Param({"128", "65536", "1048576"})
    public int capacity;
  }

  /** The 1 KiB piece appended 64 times by the growth benchmarks. */
  @State(Scope.Thread)
  public static class Piece {
    byte[] kib = new byte[1024];

    @Setup
    public void setUp() {
      new Random(7).nextBytes(kib);
    }
  }

  // ---- typed writes

  @Benchmark
  public int writeMessage(Message m) {
    Packet p = Packet.allocate();
    p.writeInt(m.opcode).writeLong(m.id).writeShortPrefixedString(m.name).writeBytes(m.body);
    int size = p.size();
    p.release();
    return size;
  }

  /** As {@link #writeMessage}, into a packet allocated with the message's size: no growth. */
  @Benchmark
  public int writeMessagePresized(Message m) {
    Packet p = Packet.allocate(m.size);
    p.writeInt(m.opcode).writeLong(m.id).writeShortPrefixedString(m.name).writeBytes(m.body);
    int size = p.size();
    p.release();
    return size;
  }

  @Benchmark
  public int writeMessageByteBuffer(Message m) {
    ByteBuffer b = m.buffer.clear();
    byte[] utf8 = m.name.getBytes(StandardCharsets.UTF_8); // What writeShortPrefixedString must do too.
    b.putInt(m.opcode).putLong(m.id).putShort((short) utf8.length).put(utf8).put(m.body);
    return b.position();
  }

  // ---- typed reads

  @Benchmark
  public void readMessage(Message m, Blackhole bh) {
    Packet p = m.written.readPosition(0);
    bh.consume(p.readInt());
    bh.consume(p.readLong());
    bh.consume(p.readShortPrefixedString());
    p.readBytes(m.bodyCopy);
    bh.consume(m.bodyCopy);
  }

  @Benchmark
  public void readMessageByteBuffer(Message m, Blackhole bh) {
    ByteBuffer b = m.buffer.clear();
    bh.consume(b.getInt());
    bh.consume(b.getLong());
    int length = Short.toUnsignedInt(b.getShort());
    bh.consume(new String(b.array(), b.position(), length, StandardCharsets.UTF_8));
    b.position(b.position() + length).get(m.bodyCopy);
    bh.consume(m.bodyCopy);
  }

  // ---- allocate and release

  @Benchmark
  public int allocateRelease(Sizes s) {
    Packet p = Packet.allocate(s.capacity);
    int capacity = p.capacity();
    p.release();
    return capacity;
  }

  /** Baseline: a new array each time, left to the GC. */
  @Benchmark
  public byte[] allocateByteArray(Sizes s) {
    return new byte[s.capacity];
  }

  // ---- growth: 64 KiB appended 1 KiB at a time to a default (128 B) packet

  @Benchmark
  public int grow(Piece piece) {
    Packet p = Packet.allocate();
    for (int i = 0; i < 64; i++) p.writeBytes(piece.kib);
    int size = p.size();
    p.release();
    return size;
  }

  /** Baseline: the JDK's growable byte sink. */
  @Benchmark
  public int growByteArrayOutputStream(Piece piece) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    for (int i = 0; i < 64; i++) out.write(piece.kib, 0, piece.kib.length);
    return out.size();
  }
}
