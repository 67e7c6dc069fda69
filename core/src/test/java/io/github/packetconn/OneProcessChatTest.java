package io.github.packetconn;

import static io.github.packetconn.testing.Await.awaitStats;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Traffic.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.packetconn.testing.LeakCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A chat server and its clients in one process, sharing one memory budget as they share {@link
 * MemoryBudget#shared()} by default: one client never reads, the others talk and read. The server's
 * queues towards the readers must never keep those readers from reading.
 */
@Tag(LeakCheck.LOAD) // Its pace is the point: it runs without the leak check's stack walks.
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OneProcessChatTest {
  private static final int CLIENTS = 50; // One of them silent.
  private static final int MESSAGES = 600; // Per talking client.
  private static final int SIZE = 1_000;
  private static final Duration DELIVERY = Duration.ofSeconds(20); // Measured: 3 to 4 s here.

  @Test
  void healthyReadersGetEveryMessageWhileASilentOneIsDropped() throws Exception {
    // What MemoryBudget.shared() is under -Xmx1g; the test JVM's own heap may be larger.
    MemoryBudget budget = MemoryBudget.of(256L << 20);
    PacketConfig serverConfig =
        PacketConfig.builder().memoryBudget(budget).writeStallTimeout(Duration.ofSeconds(2)).build();
    PacketConfig clientConfig = PacketConfig.builder().memoryBudget(budget).build();
    AtomicReference<PacketServer> serverRef = new AtomicReference<>();
    PacketHandler broadcast =
        (conn, packet) -> {
          try (packet) {
            for (PacketConn other : serverRef.get().connections()) {
              if (other == conn) continue;
              try {
                other.send(packet);
              } catch (IllegalStateException closed) {
                // The silent client, closed by its write-stall timeout since connections() was read.
              }
            }
          }
        };
    List<PacketConn> clients = new ArrayList<>();
    try (PacketServer server = PacketServer.bind(LOOPBACK, serverConfig, broadcast)) {
      serverRef.set(server);
      try {
        for (int i = 0; i < CLIENTS; i++) clients.add(connect(server, clientConfig));
        awaitTrue(() -> server.connections().size() == CLIENTS, server::toString);

        int expected = (CLIENTS - 2) * MESSAGES;
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        int[] received = new int[CLIENTS];
        Throwable[] failures = new Throwable[CLIENTS];
        for (int i = 1; i < CLIENTS; i++) { // Client 0 is silent.
          PacketConn client = clients.get(i);
          int id = i;
          threads.add(Thread.ofVirtual().start(() -> talk(client, id)));
          threads.add(
              Thread.ofVirtual()
                  .start(
                      () -> {
                        int[] next = new int[CLIENTS]; // Per talker, the next sequence number.
                        try {
                          while (received[id] < expected) {
                            try (Packet p = client.receive(DELIVERY)) {
                              if (p == null) throw new AssertionError("the stream ended: " + client.closeCause());
                              int from = p.readInt();
                              int seq = p.readInt();
                              assertEquals(next[from]++, seq, "client " + id + ", from " + from);
                              received[id]++;
                            }
                          }
                        } catch (Throwable t) {
                          failures[id] = t;
                        }
                      }));
        }
        for (Thread t : threads) t.join();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        List<String> shortReaders = new ArrayList<>();
        for (int i = 1; i < CLIENTS; i++) {
          if (received[i] != expected) shortReaders.add("client " + i + ": " + received[i] + " (" + failures[i] + ")");
        }
        assertEquals(
            List.of(),
            shortReaders.subList(0, Math.min(5, shortReaders.size())),
            shortReaders.size() + " readers short of " + expected + " after " + millis + " ms; " + budget);
        System.out.printf("OneProcessChatTest: %d readers got %d messages each in %d ms%n", CLIENTS - 1, expected, millis);
        awaitStats(server, s -> s.closedTimeout() == 1); // The silent client, by its stall.
        assertEquals(CLIENTS - 1, server.connections().size(), "only the silent client was dropped");
      } finally {
        for (PacketConn client : clients) client.abort();
      }
    }
  }

  private static void talk(PacketConn client, int id) {
    byte[] filler = new byte[SIZE - 8];
    for (int seq = 0; seq < MESSAGES; seq++) {
      try (Packet p = Packet.allocate(SIZE).writeInt(id).writeInt(seq).writeBytes(filler)) {
        client.send(p);
      }
    }
  }
}
