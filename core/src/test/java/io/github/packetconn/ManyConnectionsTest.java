package io.github.packetconn;

import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Handlers.BLOCKING_ECHO;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Memory.directMemoryUsed;
import static io.github.packetconn.testing.Memory.heapUsedAfterGc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Holds 2,000 idle connections in this JVM and measures what each one keeps on the heap and in
 * direct memory, for both handler styles. The 10,000-connection version, with the server in its own
 * JVM and RSS too, is {@code ./packetconn connections} (benchmarks/README.md).
 *
 * <p>Heap retained is heap used after a full GC with the connections open, minus the same before
 * them, divided by their number. It counts the server's side (the accepted {@code SocketChannel},
 * its selection key, the {@link PacketConn} and, in the blocking style, the parked virtual thread
 * and its stack) plus the test's raw client {@code SocketChannel}, which the test measures alone
 * and subtracts.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ManyConnectionsTest {
  static final int CONNECTIONS = 2_000;

  // Measured on JDK 25, G1, 2 CPUs (2,000 connections, server side, client channel subtracted):
  // callback 1,520-1,930 B and blocking 9,190 B of heap per idle connection, 0 B of direct memory.
  // A blocking connection owns its socket (SocketTransport): its virtual thread parks inside the
  // socket read, a deeper stack than the old wait on a queue, and holds the 2 KiB buffer it reads
  // into (4,690-5,020 B when it waited on the I/O thread). The bounds leave about 2x.
  static final long CALLBACK_HEAP_BOUND = 3_200;
  static final long BLOCKING_HEAP_BOUND = 18_000;
  // An idle connection pins no buffer: read buffers belong to the I/O threads or are lent to a
  // receiver for one read (a run may add one or two of 256 KiB to the pool), send chunks are pooled.
  // One 16 KiB chunk per connection would be 31 MiB here.
  static final long DIRECT_TOTAL_BOUND = 1 << 20;

  @Test
  void idleCallbackConnectionKeepsLittleHeapAndNoBuffer() throws Exception {
    assertFootprint(false, CALLBACK_HEAP_BOUND);
  }

  @Test
  void idleBlockingConnectionKeepsLittleHeapAndNoBuffer() throws Exception {
    assertFootprint(true, BLOCKING_HEAP_BOUND);
  }

  private static void assertFootprint(boolean blocking, long heapBound) throws Exception {
    long start = System.nanoTime();
    PacketServer server =
        blocking
            ? PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, BLOCKING_ECHO)
            : PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
    try (server) {
      closeAll(connect(server, 200)); // Warm-up: I/O threads, pools, classes.
      awaitNoConnections(server);
      long clientHeap = clientChannelHeap(); // What the test's own channels add.
      Footprint before = Footprint.afterGc();
      List<SocketChannel> clients = connect(server, CONNECTIONS);
      Footprint after;
      try {
        assertEquals(CONNECTIONS, server.connections().size());
        after = Footprint.afterGc();
      } finally {
        closeAll(clients);
      }
      awaitNoConnections(server);
      long heap = (after.heap - before.heap) / CONNECTIONS - clientHeap;
      long direct = (after.direct - before.direct) / CONNECTIONS;
      System.out.printf(
          "ManyConnectionsTest %s: %,d idle connections retain %,d B of heap each (server side; the"
              + " client channel's %,d B subtracted) and %,d B of direct memory; %d ms%n",
          blocking ? "blocking" : "callback", CONNECTIONS, heap, clientHeap, direct,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      assertTrue(heap < heapBound, "heap per idle connection " + heap + " B >= bound " + heapBound);
      long directTotal = after.direct - before.direct;
      assertTrue(directTotal < DIRECT_TOTAL_BOUND, "direct memory grew by " + directTotal + " B");
    }
  }

  /**
   * Connects {@code n} raw clients; each sends one packet (its number) and reads the echo, so every
   * server-side connection has read, decoded, handled and written once before it goes idle.
   */
  private static List<SocketChannel> connect(PacketServer server, int n) throws IOException {
    List<SocketChannel> clients = new ArrayList<>(n);
    ByteBuffer frame = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    try {
      for (int i = 0; i < n; i++) {
        SocketChannel client = SocketChannel.open(server.localAddress());
        clients.add(client);
        frame.clear().putInt(4).putInt(i).flip();
        while (frame.hasRemaining()) client.write(frame);
        frame.clear();
        while (frame.hasRemaining()) {
          if (client.read(frame) < 0) throw new IOException("connection " + i + " ended early");
        }
        assertEquals(4, frame.getInt(0), "echo length of connection " + i);
        assertEquals(i, frame.getInt(4), "echo of connection " + i);
      }
      return clients;
    } catch (IOException | RuntimeException | Error e) {
      closeAll(clients);
      throw e;
    }
  }

  /** {@return the heap one connected raw client channel retains, measured on a plain listener} */
  private static long clientChannelHeap() throws IOException {
    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
      listener.bind(LOOPBACK, CONNECTIONS);
      List<SocketChannel> accepted = new ArrayList<>(CONNECTIONS);
      List<SocketChannel> clients = new ArrayList<>(CONNECTIONS);
      try {
        long before = heapUsedAfterGc();
        for (int i = 0; i < CONNECTIONS; i++) {
          clients.add(SocketChannel.open(listener.getLocalAddress()));
          accepted.add(listener.accept()); // Closed only after the measurement, not counted.
        }
        long withAccepted = heapUsedAfterGc();
        for (SocketChannel channel : accepted) channel.close();
        accepted.clear();
        long clientsOnly = heapUsedAfterGc();
        assertTrue(withAccepted > clientsOnly, "accepted channels retain heap");
        return (clientsOnly - before) / CONNECTIONS;
      } finally {
        closeAll(accepted);
        closeAll(clients);
      }
    }
  }

  private static void closeAll(List<SocketChannel> channels) throws IOException {
    for (SocketChannel channel : channels) channel.close();
  }

  /** Waits until the server has seen every client go. */
  private static void awaitNoConnections(PacketServer server) {
    awaitTrue(() -> server.connections().isEmpty(), () -> "still open: " + server.connections().size());
  }

  /** Heap used and direct memory used, after a full collection. */
  record Footprint(long heap, long direct) {
    static Footprint afterGc() {
      return new Footprint(heapUsedAfterGc(), directMemoryUsed());
    }
  }
}
