package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.GatheringByteChannel;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The codec internals ({@link FrameDecoder}, {@link SendQueue}) in frames per second: 63 frames of
 * 0 to 2 KiB, 64,764 bytes, about one 64 KiB socket read. Lives in the library's package to reach
 * them; the benchmarks run on the class path, never as modules.
 *
 * <p>Kept small on purpose: the internals change, and this class must follow.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class FrameCodecBenchmark {
  /** Frames per batch; sizes spread evenly over 0 to 2048 bytes so the batch fits 64 KiB. */
  static final int FRAMES = 63;

  private Packet[] packets; // The payloads, for encoding.
  private ByteBuffer frames; // The same payloads framed, for decoding; direct, as a socket read.
  private final FrameDecoder decoder = new FrameDecoder(Packet.DEFAULT_MAX_SIZE, false);
  private final SendQueue queue = new SendQueue(4 << 20, false, MemoryBudget.unlimited(), false, () -> {});
  private final Discard discard = new Discard();
  private long decodedBytes; // What the sink saw, returned so the work is not dead.
  private final FrameDecoder.Sink sink =
      packet -> {
        decodedBytes += packet.size();
        packet.release();
        return true;
      };

  @Setup
  public void setUp() {
    Random random = new Random(42);
    packets = new Packet[FRAMES];
    frames = ByteBuffer.allocateDirect(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < FRAMES; i++) {
      byte[] payload = new byte[i * 2048 / (FRAMES - 1)];
      random.nextBytes(payload);
      packets[i] = Packet.of(payload);
    }
    for (int i = FRAMES - 1; i > 0; i--) { // Shuffle, so sizes don't come in a predictable order.
      int j = random.nextInt(i + 1);
      Packet t = packets[i];
      packets[i] = packets[j];
      packets[j] = t;
    }
    for (Packet p : packets) frames.putInt(p.size()).put(p.payload());
    frames.flip();
  }

  @TearDown
  public void tearDown() {
    for (Packet p : packets) p.release();
  }

  /** Splits the batch into packets, each handed to a sink that releases it. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long decode() throws Exception {
    frames.rewind();
    decoder.decode(frames, sink);
    return decodedBytes;
  }

  /** Sends the batch into a send queue, then takes and writes the filled chunks. */
  @Benchmark
  @OperationsPerInvocation(FRAMES)
  public long encode() throws Exception {
    for (Packet p : packets) queue.offer(p, -1);
    return discard.drain(queue);
  }

  /** A channel that takes every byte and drops it, so chunks go back to their pool. */
  static final class Discard implements GatheringByteChannel {
    long written;

    /** Takes the queue's filled chunks and writes them all here, as its writer would. */
    long drain(SendQueue queue) throws java.io.IOException {
      queue.takeFilled();
      while (queue.hasWriting()) queue.write(this, Integer.MAX_VALUE);
      return written;
    }

    @Override
    public long write(ByteBuffer[] sources, int offset, int length) {
      long n = 0;
      for (int i = offset; i < offset + length; i++) {
        n += sources[i].remaining();
        sources[i].position(sources[i].limit());
      }
      written += n;
      return n;
    }

    @Override
    public long write(ByteBuffer[] sources) {
      return write(sources, 0, sources.length);
    }

    @Override
    public int write(ByteBuffer source) {
      int n = source.remaining();
      source.position(source.limit());
      written += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }
}
