package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The hand-written echo in one JVM: frames split anywhere, one past its buffer, a bad length. */
@Timeout(30)
class VirtualThreadEchoServerTest {
  private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

  @Test
  void echoesFramesWrittenOneByteAtATime() throws IOException {
    long seed = System.nanoTime();
    byte[] sent = frames(seed, 0, 17, 283);
    try (VirtualThreadEchoServer server = new VirtualThreadEchoServer(ANY_PORT);
        SocketChannel client = connect(server)) {
      for (byte b : sent) client.write(ByteBuffer.wrap(new byte[] {b})); // A read for each, mostly.
      assertArrayEquals(sent, read(client, sent.length), "seed " + seed);
    }
  }

  @Test
  void echoesAFrameLargerThanItsBufferAmongSmallOnes() throws IOException {
    long seed = System.nanoTime();
    byte[] sent = frames(seed, 10, 3 << 20, 10); // 48 times the 64 KiB buffer.
    try (VirtualThreadEchoServer server = new VirtualThreadEchoServer(ANY_PORT);
        SocketChannel client = connect(server)) {
      Thread writer =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      client.write(ByteBuffer.wrap(sent)); // Blocking: writes it all.
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  });
      assertArrayEquals(sent, read(client, sent.length), "seed " + seed);
      writer.join();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void negativeLengthClosesTheConnection() throws IOException {
    try (VirtualThreadEchoServer server = new VirtualThreadEchoServer(ANY_PORT);
        SocketChannel client = connect(server)) {
      ByteBuffer frame = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-2).putInt(0);
      client.write(frame.flip());
      assertEquals(-1, client.read(ByteBuffer.allocate(16)), "the server closed it");
    }
  }

  /** {@return frames of random payloads of {@code sizes}, from {@code seed}, one after another} */
  private static byte[] frames(long seed, int... sizes) {
    Random random = new Random(seed);
    ByteBuffer frames =
        ByteBuffer.allocate(4 * sizes.length + Arrays.stream(sizes).sum())
            .order(ByteOrder.LITTLE_ENDIAN);
    for (int size : sizes) {
      byte[] payload = new byte[size];
      random.nextBytes(payload);
      frames.putInt(size).put(payload);
    }
    return frames.array();
  }

  private static SocketChannel connect(VirtualThreadEchoServer server) throws IOException {
    SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", server.port()));
    client.setOption(StandardSocketOptions.TCP_NODELAY, true);
    return client;
  }

  private static byte[] read(SocketChannel client, int length) throws IOException {
    ByteBuffer echoed = ByteBuffer.allocate(length);
    while (echoed.hasRemaining()) {
      if (client.read(echoed) < 0) {
        throw new IOException("closed after " + echoed.position() + " of " + length + " bytes");
      }
    }
    return echoed.array();
  }
}
