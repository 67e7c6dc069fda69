package io.github.packetconn;

import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link PacketGroup}: members join and leave, leave by themselves when they close, every member gets
 * what is sent, from any thread, and a slow member is skipped or aborted as the group's policy says.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PacketGroupTest {
  /** Small queues, so that a member that reads nothing falls behind after little traffic. */
  static final PacketConfig SMALL = PacketConfig.builder().sendQueueBytes(64 << 10).build(); // Marks 16/32 KiB.

  /**
   * A server handler that puts every connection in {@code room} and remembers it by its peer's
   * port; packets go to {@code onPacket}, by default released.
   */
  static final class Room implements PacketHandler {
    final PacketGroup group;
    final Map<Integer, CompletableFuture<PacketConn>> joined = new ConcurrentHashMap<>();
    final List<Integer> sentTo = new CopyOnWriteArrayList<>(); // What each relay returned.

    Room(PacketGroup group) {
      this.group = group;
    }

    /** {@return the server's side of the client connection from local port {@code port}} */
    PacketConn serverSide(int port) throws Exception {
      return joined.computeIfAbsent(port, k -> new CompletableFuture<>()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    PacketConn serverSide(PacketConn client) throws Exception {
      return serverSide(io.github.packetconn.testing.Loopback.port(client.localAddress()));
    }

    @Override
    public void onOpen(PacketConn conn) {
      assertTrue(group.add(conn));
      joined.computeIfAbsent(io.github.packetconn.testing.Loopback.port(conn.remoteAddress()), k -> new CompletableFuture<>()).complete(conn);
    }

    @Override
    public void onPacket(PacketConn from, Packet packet) {
      try (packet) {
        sentTo.add(group.send(packet, from)); // Relays to everyone else.
      }
    }
  }

  private static PacketConn client(PacketServer server) throws IOException {
    return PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null);
  }

  private static Packet numbered(int n, int size) {
    return Packet.allocate(size).writeInt(n).writeBytes(new byte[size - 4]);
  }

  // ---- members

  @Test
  void membersJoinAndLeave() throws Exception {
    PacketGroup group = PacketGroup.skippingSlowMembers();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, io.github.packetconn.testing.Handlers.ECHO);
        PacketConn a = client(server);
        PacketConn b = client(server)) {
      assertTrue(group.add(a));
      assertFalse(group.add(a), "a member already");
      assertTrue(group.add(b));
      assertEquals(List.of(a, b), group.members());
      assertThrows(UnsupportedOperationException.class, () -> group.members().clear());
      assertTrue(group.contains(b));
      assertTrue(group.remove(a));
      assertFalse(group.remove(a), "not a member any more");
      assertEquals(1, group.size());
      assertFalse(group.contains(a));
      assertTrue(group.add(a), "may join again");
      assertEquals(List.of(b, a), group.members());
    }
  }

  @Test
  void membersLeaveByThemselvesWhenTheyCloseAnyWay() throws Exception {
    PacketGroup group = PacketGroup.closingSlowMembers(Duration.ofSeconds(5));
    PacketGroup other = PacketGroup.skippingSlowMembers();
    Room room = new Room(group);
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, room)) {
      PacketConn closes = client(server);
      PacketConn aborts = client(server);
      PacketConn stays = client(server);
      PacketConn serverSideOfAborts = room.serverSide(aborts);
      assertTrue(other.add(serverSideOfAborts));
      io.github.packetconn.testing.Await.awaitTrue(() -> group.size() == 3, group::toString);
      closes.close(); // The server's side sees the end and closes.
      io.github.packetconn.testing.Await.awaitTrue(() -> group.size() == 2, group::toString);
      serverSideOfAborts.abort(); // Closed on the server's side, in two groups.
      io.github.packetconn.testing.Await.awaitTrue(() -> group.size() == 1 && other.size() == 0, () -> group + ", " + other);
      assertEquals(List.of(room.serverSide(stays)), group.members());
      assertFalse(group.add(serverSideOfAborts), "a closed connection cannot join");
      assertEquals(1, group.size());
      aborts.abort();
      stays.close();
    }
  }

  @Test
  void aNegativeStallLimitIsRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PacketGroup.closingSlowMembers(Duration.ofSeconds(-1)));
    assertEquals("stallLimit < 0: PT-1S", e.getMessage());
  }

  // ---- delivery

  @Test
  void everyMemberGetsWhatIsSentFromAnyThread() throws Exception {
    for (PacketGroup group : new PacketGroup[] {PacketGroup.skippingSlowMembers(), PacketGroup.closingSlowMembers(WAIT)}) {
      Room room = new Room(group);
      try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, room)) {
        List<PacketConn> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) clients.add(client(server));
        for (PacketConn c : clients) room.serverSide(c);
        try (Packet p = numbered(7, 100)) {
          assertEquals(4, group.send(p), "from the test's thread");
        }
        for (PacketConn c : clients) {
          try (Packet p = c.receive(WAIT)) {
            assertEquals(7, p.readInt());
          }
        }
        try (Packet p = numbered(8, 100)) {
          clients.get(0).send(p); // The server's handler relays it to the others, on its I/O thread.
        }
        for (PacketConn c : clients.subList(1, 4)) {
          try (Packet p = c.receive(WAIT)) {
            assertEquals(8, p.readInt());
          }
        }
        assertEquals(List.of(3), room.sentTo);
        try (Packet p = numbered(9, 100)) {
          assertEquals(4, group.send(p), "the sender got none of its own, but the next one");
        }
        try (Packet p = clients.get(0).receive(WAIT)) {
          assertEquals(9, p.readInt());
        }
        for (PacketConn c : clients) c.close();
        assertEquals(0, group.skipped() + group.aborted(), group.toString());
      }
    }
  }

  /** A member whose close has begun but not ended is still listed; a send passes it over quietly. */
  @Test
  void aMemberThatIsClosingIsPassedOverQuietly() throws Exception {
    PacketConfig lingering = PacketConfig.builder().closeTimeout(WAIT).build();
    for (PacketGroup group : new PacketGroup[] {PacketGroup.skippingSlowMembers(), PacketGroup.closingSlowMembers(WAIT)}) {
      try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
          PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), lingering, null);
          Socket peer = raw.accept();
          Packet big = Packet.of(new byte[64 << 10])) {
        assertTrue(peer.isConnected()); // It reads nothing, so the close cannot finish.
        group.add(conn);
        io.github.packetconn.testing.Traffic.sendUntilFull(conn, i -> big);
        CompletableFuture<Void> closing = conn.closeAsync();
        assertFalse(closing.isDone());
        assertTrue(group.contains(conn), "still closing");
        assertEquals(0, group.send(big));
        assertEquals(0, group.skipped() + group.aborted(), "a closing member is neither skipped nor aborted");
        conn.abort();
      }
    }
  }

  @Test
  void sendNeverThrowsWhileMembersCloseUnderIt() throws Exception {
    for (PacketGroup group : new PacketGroup[] {PacketGroup.skippingSlowMembers(), PacketGroup.closingSlowMembers(WAIT)}) {
      Room room = new Room(group);
      try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, room)) {
        List<PacketConn> clients = new ArrayList<>();
        for (int i = 0; i < 16; i++) clients.add(client(server));
        List<PacketConn> members = new ArrayList<>();
        for (PacketConn c : clients) members.add(room.serverSide(c));
        AtomicInteger sends = new AtomicInteger();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          senders.add(
              Thread.ofPlatform().start(() -> {
                try (Packet p = numbered(1, 32)) {
                  while (group.size() > 0) {
                    group.send(p);
                    sends.incrementAndGet();
                  }
                } catch (Throwable e) {
                  failures.add(e);
                }
              }));
        }
        for (int i = 0; i < members.size(); i++) {
          int at = sends.get();
          io.github.packetconn.testing.Await.awaitTrue(() -> sends.get() > at + 10, sends::toString); // Amid the sends.
          if (i % 2 == 0) members.get(i).abort(); else clients.get(i).abort();
        }
        for (Thread t : senders) t.join(WAIT.toMillis());
        assertEquals(List.of(), failures);
        assertEquals(0, group.size());
        for (PacketConn c : clients) c.abort();
      }
    }
  }

  // ---- slow members

  /**
   * A member that reads nothing is skipped once it is unwritable, while a reader that keeps up gets
   * everything; when the slow one reads its backlog it gets packets again, with a gap.
   */
  @Test
  void aSkippingGroupSkipsASlowMemberUntilItIsWritableAgain() throws Exception {
    PacketGroup group = PacketGroup.skippingSlowMembers();
    Room room = new Room(group);
    try (PacketServer server = PacketServer.bind(LOOPBACK, SMALL, room);
        PacketConn healthy = client(server);
        Socket slow = new Socket()) {
      slow.setReceiveBufferSize(4096); // Little room in its socket: the server's queue fills soon.
      slow.connect(server.localAddress());
      PacketConn slowMember = room.serverSide(slow.getLocalPort());
      room.serverSide(healthy);
      int sent = 0;
      List<Integer> toSlow = new ArrayList<>(); // The packets queued for the slow member, in order.
      // Send until it has missed ten: it turns unwritable once its queue is past the high mark, and
      // may turn writable again for a while as its I/O thread drains the queue into the kernel's
      // buffers (which the kernel may grow), so a send may reach it or not; each says which.
      while (group.skipped() < 10) {
        try (Packet p = numbered(sent++, 1024)) {
          int delivered = group.send(p);
          if (delivered == 2) toSlow.add(sent - 1);
          assertTrue(delivered == 1 || delivered == 2, delivered + " members got packet " + (sent - 1));
        }
        try (Packet p = healthy.receive(WAIT)) { // In step: the healthy member is never behind.
          assertEquals(sent - 1, p.readInt());
        }
        assertTrue(sent < 100_000, "the slow member never turned unwritable");
      }
      assertEquals(10, group.skipped());
      assertEquals(sent - 10, toSlow.size(), "every packet reached the healthy member and all but ten the slow one");

      InputStream in = slow.getInputStream();
      for (int number : toSlow) { // Its backlog, in order.
        assertEquals(number, readFrame(in));
      }
      slowMember.whenWritable().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      try (Packet p = numbered(sent++, 1024)) {
        assertEquals(2, group.send(p), "writable again: resumed");
      }
      assertEquals(sent - 1, readFrame(in), "the ten it missed are skipped, not queued");
      assertEquals(10, group.skipped());
    }
  }

  /** Reads one frame of a {@link #numbered} packet from a raw socket; {@return its number} */
  private static int readFrame(InputStream in) throws IOException {
    byte[] header = in.readNBytes(8);
    int size = java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0);
    in.readNBytes(size - 4);
    return java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(4);
  }

  /**
   * A member that stays unwritable past the stall limit is aborted by the group's timer, also when
   * nothing is sent any more; the others keep everything.
   */
  @Test
  void aClosingGroupAbortsAMemberUnwritableForLongerThanTheLimit() throws Exception {
    PacketGroup group = PacketGroup.closingSlowMembers(Duration.ofMillis(200));
    Room room = new Room(group);
    try (PacketServer server = PacketServer.bind(LOOPBACK, SMALL, room);
        PacketConn healthy = client(server);
        Socket slow = new Socket()) {
      slow.setReceiveBufferSize(4096);
      slow.connect(server.localAddress());
      PacketConn slowMember = room.serverSide(slow.getLocalPort());
      room.serverSide(healthy);
      int sent = 0;
      long start = System.nanoTime();
      long deadline = start + WAIT.toNanos();
      // Send while the slow member is writable. Once it is not, nothing is sent: the timer alone
      // must find it. Its I/O thread may still drain the queue into the kernel's buffers, making it
      // writable again, until those are full too: then send more.
      while (slowMember.isOpen()) {
        assertTrue(System.nanoTime() - deadline < 0, "still open after " + WAIT + ": " + slowMember);
        if (!slowMember.isWritable()) {
          java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
          continue;
        }
        try (Packet p = numbered(sent++, 1024)) {
          assertTrue(group.send(p) >= 1, "the healthy member gets every packet");
        }
        try (Packet p = healthy.receive(WAIT)) {
          assertEquals(sent - 1, p.readInt());
        }
      }
      Throwable cause = io.github.packetconn.testing.Await.failureOf(slowMember.closeFuture());
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertInstanceOf(SocketTimeoutException.class, cause);
      assertTrue(
          cause.getMessage().matches(
              "not writable for [0-9]+ ms \\(the PacketGroup's stall limit is 200 ms\\) with [0-9]+ bytes queued;"
                  + " the peer reads too slowly"),
          cause.getMessage());
      assertTrue(millis >= 200, millis + " ms");
      assertEquals(1, group.aborted());
      assertEquals(List.of(room.serverSide(healthy)), group.members());
      try (Packet p = numbered(sent, 1024)) {
        assertEquals(1, group.send(p));
      }
      try (Packet p = healthy.receive(WAIT)) {
        assertEquals(sent, p.readInt());
      }
      assertEquals(0, group.skipped());
    }
  }

  /**
   * A thread that is not an I/O thread waits for a member's room as {@code send} does, but not past
   * the stall limit: the member is aborted and the sender goes on.
   */
  @Test
  void aClosingGroupLetsASenderWaitForAFullMemberNoLongerThanTheLimit() throws Exception {
    PacketGroup group = PacketGroup.closingSlowMembers(Duration.ofMillis(300));
    try (ServerSocket raw = new ServerSocket(0, 1, LOOPBACK.getAddress());
        PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), SMALL, null);
        Socket peer = raw.accept();
        Packet p = Packet.of(new byte[16 << 10])) {
      assertTrue(peer.isConnected());
      group.add(conn);
      int delivered = 0;
      while (conn.isOpen()) delivered += group.send(p); // Waits at the full queue, then aborts it.
      assertTrue(delivered > 0);
      Throwable cause = io.github.packetconn.testing.Await.failureOf(conn.closeFuture());
      assertInstanceOf(SocketTimeoutException.class, cause);
      assertTrue(cause.getMessage().endsWith("bytes queued; the peer reads too slowly"), cause.getMessage());
      assertEquals(1, group.aborted());
      assertEquals(0, group.size());
    }
  }

  /**
   * The chat room of the issue in small: talkers relay through a closing group from the server's
   * handler; the readers that keep reading get every message in order, the one that reads nothing
   * is aborted after the stall limit, and its stall holds the talkers back no longer than that.
   */
  @Test
  void healthyMembersGetEveryPacketRelayedByAHandlerWhileADeadOneIsAborted() throws Exception {
    int talkers = 4;
    int messages = 500; // Of 4 KiB: 8 MB for the dead member, more than its socket's buffers take (3 MB here).
    PacketGroup group = PacketGroup.closingSlowMembers(Duration.ofMillis(500));
    Room room = new Room(group);
    try (PacketServer server = PacketServer.bind(LOOPBACK, SMALL, room);
        Socket dead = new Socket()) {
      dead.setReceiveBufferSize(4096);
      dead.connect(server.localAddress());
      PacketConn deadMember = room.serverSide(dead.getLocalPort());
      List<PacketConn> clients = new ArrayList<>();
      for (int i = 0; i < talkers; i++) clients.add(client(server));
      for (PacketConn c : clients) room.serverSide(c);
      List<Thread> threads = new ArrayList<>();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      for (int i = 0; i < talkers; i++) {
        PacketConn c = clients.get(i);
        int id = i;
        threads.add(Thread.ofVirtual().start(() -> {
          for (int seq = 0; seq < messages; seq++) {
            try (Packet p = Packet.allocate(4096).writeInt(id).writeInt(seq).writeBytes(new byte[4088])) {
              c.send(p);
            }
          }
        }));
        threads.add(Thread.ofVirtual().start(() -> {
          int[] next = new int[talkers];
          try {
            for (int n = 0; n < (talkers - 1) * messages; n++) {
              try (Packet p = c.receive(WAIT)) {
                if (p == null) throw new AssertionError("ended: " + c.closeCause());
                int from = p.readInt();
                assertEquals(next[from]++, p.readInt(), "reader " + id + ", from " + from);
              }
            }
          } catch (Throwable t) {
            failures.add(t);
          }
        }));
      }
      for (Thread t : threads) t.join();
      assertEquals(List.of(), failures);
      assertInstanceOf(SocketTimeoutException.class, io.github.packetconn.testing.Await.failureOf(deadMember.closeFuture()));
      assertEquals(1, group.aborted());
      assertEquals(talkers, group.size());
      for (PacketConn c : clients) {
        assertNull(c.closeCause());
        c.close();
      }
    }
  }

  // ---- cost

  /**
   * Small packets are copied into each member's queue with nothing allocated; large ones are shared,
   * with one small record allocated per send (its slab and range), none per member.
   */
  @ParameterizedTest
  @ValueSource(ints = {64, 4096})
  void sendAllocatesNothingPerDelivery(int size) throws Exception {
    for (PacketGroup group : new PacketGroup[] {PacketGroup.skippingSlowMembers(), PacketGroup.closingSlowMembers(WAIT)}) {
      Room room = new Room(group);
      // Queues large enough that no delivery waits for room or finds a member unwritable however
      // slowly the readers run on a loaded machine: what is measured is the delivery alone.
      PacketConfig roomy =
          PacketConfig.builder().sendQueueBytes(64 << 20).writeWaterMarks(16 << 20, 32 << 20).build();
      try (PacketServer server = PacketServer.bind(LOOPBACK, roomy, room)) {
        List<PacketConn> clients = new ArrayList<>();
        for (int i = 0; i < 8; i++) clients.add(client(server));
        for (PacketConn c : clients) room.serverSide(c);
        AtomicInteger received = new AtomicInteger();
        List<Thread> readers = new ArrayList<>();
        for (PacketConn c : clients) {
          readers.add(Thread.ofVirtual().start(() -> {
            try {
              for (Packet p; (p = c.receive()) != null; ) {
                p.release();
                received.incrementAndGet();
              }
            } catch (IOException ignored) {
              // Closed at the end.
            }
          }));
        }
        long[] self = {Thread.currentThread().threadId()};
        int delivered = 0;
        int sends = 40_000;
        try (Packet p = numbered(0, size)) {
          for (int i = 0; i < 10_000; i++) delivered += group.send(p); // Warm up.
          io.github.packetconn.testing.Memory.allocatedBytes(self);
          long before = io.github.packetconn.testing.Memory.allocatedBytes(self);
          int counted = 0;
          for (int i = 0; i < sends; i++) {
            counted += group.send(p);
            if (i % 1000 == 999) { // Lets the readers catch up, so that no member falls behind.
              long until = System.nanoTime() + WAIT.toNanos();
              while (received.get() < delivered + counted && System.nanoTime() - until < 0) Thread.onSpinWait();
            }
          }
          long allocated = io.github.packetconn.testing.Memory.allocatedBytes(self) - before;
          delivered += counted;
          assertTrue(counted > sends * 4, counted + " deliveries of " + sends * 8 + ": " + group);
          // Any object per delivery is 16 bytes or more; what stays below 4 is lock queue nodes,
          // allocated only when this thread and the I/O thread contend (more on a loaded machine).
          long perSend = size > 1000 ? 32 : 0; // A shared frame's record: 24 bytes per send.
          assertTrue(
              allocated < 4L * counted + perSend * sends,
              allocated + " bytes allocated by " + counted + " deliveries of " + size + " B: " + group);
        }
        int expected = delivered;
        io.github.packetconn.testing.Await.awaitTrue(() -> received.get() == expected, () -> received + " of " + expected);
        for (PacketConn c : clients) c.close();
        for (Thread t : readers) t.join();
      }
    }
  }

  /**
   * A large packet is encoded once into a slab shared by the members' queues where they can share
   * it (same budget and CRC setting as the first member, written by an I/O thread or, for the
   * blocking-style connection, by its own writer thread), and copied into the others' (a member
   * with a CRC): every member gets every byte, and every slab goes back to the pool once written.
   */
  @Test
  void largePacketsAreEncodedOnceAndReachEveryMemberIntact() throws Exception {
    FrameSharer.retireAll();
    int slabsBefore = FrameSlab.taken();
    PacketGroup group = PacketGroup.closingSlowMembers(WAIT); // Waits for room: nobody misses one.
    List<PacketConn> members = new CopyOnWriteArrayList<>();
    PacketHandler join = new PacketHandler() {
      @Override
      public void onOpen(PacketConn conn) {
        group.add(conn);
        members.add(conn);
      }

      @Override
      public void onPacket(PacketConn conn, Packet packet) {
        packet.release();
      }
    };
    PacketConfig crc = PacketConfig.builder().crc(true).build();
    List<byte[]> gotByBlockingMember = new CopyOnWriteArrayList<>(); // What its peer received.
    CompletableFuture<Void> peerDone = new CompletableFuture<>();
    ConnectionHandler peer = conn -> {
      try {
        for (int i = 0; i < 120; i++) {
          try (Packet p = conn.receive(WAIT)) {
            gotByBlockingMember.add(p.readBytes(p.size()));
          }
        }
        peerDone.complete(null);
      } catch (Throwable t) {
        peerDone.completeExceptionally(t);
      }
    };
    try (PacketServer plain = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, join);
        PacketServer checked = PacketServer.bind(LOOPBACK, crc, join);
        PacketServer forBlocking = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, peer)) {
      List<PacketConn> readers = new ArrayList<>();
      for (int i = 0; i < 3; i++) readers.add(client(plain));
      readers.add(PacketConn.connect(checked.localAddress(), crc, null));
      PacketConn blockingMember = client(forBlocking); // Writes from a thread of its own.
      io.github.packetconn.testing.Await.awaitTrue(() -> members.size() == 4, () -> members + " joined");
      group.add(blockingMember);

      java.util.Random random = new java.util.Random(42);
      List<byte[]> sent = new ArrayList<>();
      List<List<byte[]>> got = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      for (PacketConn reader : readers) {
        List<byte[]> mine = new ArrayList<>();
        got.add(mine);
        threads.add(Thread.ofVirtual().start(() -> {
          try {
            for (int i = 0; i < 120; i++) {
              try (Packet p = reader.receive(WAIT)) {
                mine.add(p.readBytes(p.size()));
              }
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }));
      }
      for (int i = 0; i < 120; i++) {
        // Mostly shared sizes; a few small (copied) and a few larger than a slab (copied).
        int size = i % 10 == 3 ? random.nextInt(100) : i % 10 == 7 ? FrameSlab.SIZE + random.nextInt(1000)
            : 1_000 + random.nextInt(80_000);
        byte[] payload = new byte[size];
        random.nextBytes(payload);
        sent.add(payload);
        try (Packet p = Packet.of(payload)) {
          assertEquals(5, group.send(p));
        }
        if (i == 0) assertTrue(FrameSlab.taken() > slabsBefore, "the first packet went into a slab");
      }
      for (Thread t : threads) assertTrue(t.join(WAIT), "a reader got all 120");
      peerDone.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      got.add(gotByBlockingMember);
      for (int r = 0; r < got.size(); r++) {
        assertEquals(sent.size(), got.get(r).size(), "reader " + r);
        for (int i = 0; i < sent.size(); i++) {
          assertTrue(java.util.Arrays.equals(sent.get(i), got.get(r).get(i)), "reader " + r + ", packet " + i);
        }
      }
      FrameSharer.retireAll();
      io.github.packetconn.testing.Await.awaitTrue(
          () -> FrameSlab.taken() == slabsBefore, () -> FrameSlab.taken() - slabsBefore + " slabs still taken");
      for (PacketConn c : readers) c.close();
      blockingMember.close();
      assertEquals(0, group.aborted(), group.toString());
    }
  }
}
