package io.github.packetconn.examples.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketLeaks;
import io.github.packetconn.PacketServer;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChatExampleTest {
  private static final int TALKERS = 4; // Each also reads what the others say.
  private static final int MESSAGES = 500; // Each, of 4 KiB: 8 MB for the slow reader, more than its socket takes.
  private static final Duration RECEIVE = Duration.ofSeconds(20);

  /**
   * Four clients talk and read; a fifth stops reading. The four get every message of the others, in
   * order; the fifth is dropped once it has been unwritable for the stall limit, and sees a reset.
   */
  @Test
  void healthyReadersGetEveryMessageAndASlowOneIsDropped() throws Exception {
    assertTrue(PacketLeaks.enabled(), "run with -Dpacketconn.leakCheck=true (the POM sets it)");
    PacketLeaks.forget();
    ChatServer chat = new ChatServer(Duration.ofMillis(500));
    PacketConfig small = PacketConfig.builder().sendQueueBytes(64 << 10).build(); // Falls behind sooner.
    try (PacketServer server =
            PacketServer.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), small, chat);
        Socket slow = new Socket()) {
      slow.setReceiveBufferSize(4096); // Reads nothing, and its socket holds little.
      slow.connect(server.localAddress());
      List<PacketConn> clients = new ArrayList<>();
      for (int i = 0; i < TALKERS; i++) clients.add(PacketConn.connect("127.0.0.1", server.port()));
      awaitRoomSize(chat, TALKERS + 1);

      List<Throwable> failures = new CopyOnWriteArrayList<>();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < TALKERS; i++) {
        PacketConn client = clients.get(i);
        int id = i;
        threads.add(Thread.ofVirtual().start(() -> talk(client, id)));
        threads.add(Thread.ofVirtual().start(() -> {
          try {
            readEverything(client, id);
          } catch (Throwable t) {
            failures.add(t);
          }
        }));
      }
      for (Thread t : threads) t.join();
      assertEquals(List.of(), failures);

      assertEquals(1, chat.room.aborted(), "the slow reader was dropped");
      assertEquals(TALKERS, chat.room.size());
      SocketException reset =
          assertThrows(SocketException.class, () -> slow.getInputStream().transferTo(OutputStream.nullOutputStream()));
      assertEquals("Connection reset", reset.getMessage(), "after the messages its socket held");
      for (PacketConn client : clients) {
        assertNull(client.closeCause());
        client.close();
      }
    }
    PacketLeaks.assertNone(Duration.ofSeconds(5));
  }

  private static void talk(PacketConn client, int id) {
    byte[] text = new byte[4096 - 8];
    for (int seq = 0; seq < MESSAGES; seq++) {
      try (Packet message = Packet.allocate(4096).writeInt(id).writeInt(seq).writeBytes(text)) {
        client.send(message);
      }
    }
  }

  /** Receives every message of the other talkers, checking each one's order. */
  private static void readEverything(PacketConn client, int id) throws Exception {
    int[] next = new int[TALKERS];
    for (int n = 0; n < (TALKERS - 1) * MESSAGES; n++) {
      try (Packet message = client.receive(RECEIVE)) {
        if (message == null) throw new AssertionError("reader " + id + ": ended after " + n + " messages");
        int from = message.readInt();
        assertTrue(from != id, "a talker's own message came back");
        assertEquals(next[from]++, message.readInt(), "reader " + id + ", from " + from);
      }
    }
  }

  private static void awaitRoomSize(ChatServer chat, int size) {
    long deadline = System.nanoTime() + RECEIVE.toNanos();
    while (chat.room.size() != size) {
      if (System.nanoTime() - deadline > 0) throw new AssertionError("room: " + chat.room);
      LockSupport.parkNanos(1_000_000); // Polls the condition; the deadline bounds it.
    }
  }
}
