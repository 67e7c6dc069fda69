package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java a blocking echo does per packet, without the socket: a read's worth of 100 frames of 0
 * to 64 bytes (the bench's {@code small} load) decoded into the receive queue, each packet taken,
 * sent into a send queue and released, then the queue's chunks written to a channel that drops
 * them. Beside it, what the hand-written virtual-thread server does with the same bytes: each
 * frame copied from the read buffer to a write buffer. The difference is the library's cost per
 * packet that no system call hides; see docs/design.md, "Where the rest of the gap is".
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
@State(Scope.Thread)
public class BlockingEchoBenchmark {
  static final int FRAMES = 100;

  private final ByteBuffer frames = ByteBuffer.allocate(FRAMES * 68).order(ByteOrder.LITTLE_ENDIAN);
  private final ByteBuffer replies = ByteBuffer.allocateDirect(FRAMES * 68).order(ByteOrder.LITTLE_ENDIAN);
  private final FrameDecoder decoder = new FrameDecoder(Packet.DEFAULT_MAX_SIZE, false);
  private final FrameCodecBenchmark.Discard discard = new FrameCodecBenchmark.Discard();
  private final SendQueue out = new SendQueue(4 << 20, false, MemoryBudget.unlimited(), false, () -> {});
  private final Packet[] held = new Packet[FRAMES]; // The payloads, for send().
  private ReceiveQueue inbox;

  @Setup
  public void setUp() {
    Random random = new Random(42);
    for (int i = 0; i < FRAMES; i++) {
      byte[] payload = new byte[random.nextInt(65)];
      random.nextBytes(payload);
      frames.putInt(payload.length).put(payload);
    }
    frames.flip();
    for (int i = 0; i < FRAMES; i++) held[i] = Packet.of(new byte[random.nextInt(65)]);
    FrameDecoder.Sink sink = packet -> {
      inbox.addPulled(packet);
      return true;
    };
    inbox = new ReceiveQueue(mayWait -> { // Each pull "reads" the same batch again.
      try {
        decoder.decode(frames.rewind(), sink);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      inbox.readable();
    }, true);
  }

  /** packetconn's blocking echo: take, send, release, per packet; one write per batch. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long packetconn() throws Exception {
    for (int i = 0; i < FRAMES; i++) {
      try (Packet p = inbox.take(-1)) {
        out.offer(p, -1);
      }
    }
    return discard.drain(out);
  }

  /** The receive side alone: each packet taken and released. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long receive() throws Exception {
    long n = 0;
    for (int i = 0; i < FRAMES; i++) {
      try (Packet p = inbox.take(-1)) {
        n += p.size();
      }
    }
    return n;
  }

  /** The send side alone: the same payloads sent from packets held throughout; one write per batch. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long send() throws Exception {
    for (Packet p : held) out.offer(p, -1);
    return discard.drain(out);
  }

  /**
   * A packet's storage taken from the pool and given back, as a receiver on a thread that is not an
   * I/O thread does per packet (the I/O threads have a cache of their own).
   */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public int allocateAndRelease() {
    int n = 0;
    for (int i = 0; i < FRAMES; i++) {
      Packet p = Packet.allocate(64);
      n += p.capacity();
      p.release();
    }
    return n;
  }

  /** The hand-written server's work on the same bytes: every frame copied to the write buffer. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long handWritten() {
    ByteBuffer in = frames.rewind();
    replies.clear();
    while (in.remaining() >= 4) {
      int length = in.getInt(in.position());
      int frame = 4 + length;
      replies.put(replies.position(), in, in.position(), frame);
      replies.position(replies.position() + frame);
      in.position(in.position() + frame);
    }
    replies.flip();
    return discard.write(replies);
  }
}
