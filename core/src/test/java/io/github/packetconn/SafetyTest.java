package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.failureOf;
import static io.github.packetconn.testing.Golden.ascii;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.listener;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a connection guarantees when it ends or is misused: a graceful close loses nothing, an abort
 * drops what is queued, misuse throws. Peers that send bad bytes are in {@link PeerFaultTest}, floods
 * and peers that do not read in {@link BackpressureTest}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SafetyTest {
  static final int THREADS = 4;
  static final long MILLION_WAIT = 80; // Seconds for a million packets: 4-9 s idle, far more when busy.
  static final int PER_THREAD = 250_000; // 1,000,000 packets in all.

  // ---- 1. a graceful close loses nothing; abort drops what is queued

  /** Sends PER_THREAD packets {@code (thread, seq, seq % 8 bytes)} from each of THREADS threads. */
  static void sendFromThreads(PacketConn conn) throws InterruptedException {
    List<Thread> senders = new ArrayList<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int t = 0; t < THREADS; t++) {
      int id = t;
      senders.add(
          Thread.ofPlatform()
              .name("sender-" + id)
              .start(
                  () -> {
                    try (Packet p = Packet.allocate()) {
                      for (int seq = 0; seq < PER_THREAD; seq++) {
                        conn.send(p.clear().writeInt(id).writeInt(seq).writeBytes(new byte[seq % 8]));
                      }
                    } catch (Throwable e) {
                      failure.compareAndSet(null, e);
                    }
                  }));
    }
    for (Thread sender : senders) sender.join();
    assertNull(failure.get(), "a sender failed");
  }

  /** Checks one packet from {@link #sendFromThreads}: the next of its thread, with its payload. */
  static void checkNext(int[] next, Packet p) {
    int id = p.readInt();
    int seq = p.readInt();
    if (seq != next[id]) throw new AssertionError("thread " + id + ": expected seq " + next[id] + ", got " + seq);
    if (p.remaining() != seq % 8) throw new AssertionError("thread " + id + " seq " + seq + ": " + p.remaining() + " bytes");
    next[id]++;
  }

  static int[] everyThreadDone() {
    int[] done = new int[THREADS];
    Arrays.fill(done, PER_THREAD);
    return done;
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS) // 4 million leak-check records; slow when the machine is busy.
  void closeAfterAMillionPacketsFromFourThreadsDeliversEveryOneInOrder() throws Exception {
    int[] next = new int[THREADS]; // Only the server connection's I/O thread touches it.
    CompletableFuture<Throwable> serverClosed = new CompletableFuture<>();
    PacketHandler checker =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            try (packet) {
              checkNext(next, packet); // Throwing aborts the connection with the AssertionError.
            }
          }

          @Override
          public void onClose(PacketConn conn, Throwable cause) {
            serverClosed.complete(cause); // After the client's end of stream: every packet was handled.
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, checker)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      sendFromThreads(conn);
      conn.close();
      assertNull(serverClosed.get(MILLION_WAIT, TimeUnit.SECONDS), "the server saw a clean end");
      assertArrayEquals(everyThreadDone(), next, "every packet of every thread");
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause());
    }
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS) // 4 million leak-check records; slow when the machine is busy.
  void serverCloseAfterAMillionPacketsFromFourThreadsDeliversEveryOneInOrder() throws Exception {
    CompletableFuture<PacketConn> serverSide = new CompletableFuture<>();
    ConnectionHandler producer =
        conn -> {
          serverSide.complete(conn);
          sendFromThreads(conn);
          conn.close(); // Waits until everything queued is written.
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, producer)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      int[] next = new int[THREADS];
      // Received on a thread of its own: the leak check records a stack trace per packet, and the
      // test thread's stack is ten times deeper than a fresh thread's.
      CompletableFuture<Void> received = new CompletableFuture<>();
      Thread.ofPlatform()
          .name("receiver")
          .start(
              () -> {
                try {
                  for (Packet p : conn) {
                    try (p) {
                      checkNext(next, p);
                    }
                  }
                  received.complete(null);
                } catch (Throwable e) {
                  received.completeExceptionally(e);
                }
              });
      received.get(MILLION_WAIT, TimeUnit.SECONDS);
      assertArrayEquals(everyThreadDone(), next, "every packet of every thread, then end of stream");
      conn.close(); // The server's side lingers, reading, until this side closes too.
      PacketConn sender = serverSide.get();
      sender.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(sender.closeCause());
    }
  }

  @Test
  void abortDropsQueuedPacketsAndLaterSendsThrow() throws Exception {
    CountDownLatch startReading = new CountDownLatch(1);
    CompletableFuture<Integer> receivedCount = new CompletableFuture<>();
    CompletableFuture<Object> receiverEnd = new CompletableFuture<>(); // "end" or the IOException.
    ConnectionHandler lateReader =
        conn -> {
          startReading.await();
          int n = 0;
          try {
            for (Packet p = conn.receive(WAIT); p != null; p = conn.receive(WAIT), n++) {
              try {
                assertEquals(n, p.readInt(), "in order");
              } finally {
                p.release();
              }
            }
            receiverEnd.complete("end");
          } catch (IOException e) {
            receiverEnd.complete(e);
          }
          receivedCount.complete(n);
        };
    PacketConfig bigQueue = PacketConfig.builder().sendQueueBytes(32 << 20).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, lateReader)) {
      PacketConn conn = connect(server, bigQueue);
      AtomicInteger sent = new AtomicInteger();
      CompletableFuture<Throwable> senderEnd = new CompletableFuture<>();
      Thread sender =
          Thread.ofPlatform()
              .start(
                  () -> {
                    try (Packet p = Packet.allocate()) {
                      while (true) {
                        conn.send(p.clear().writeInt(sent.get()).writeBytes(new byte[1020]));
                        sent.incrementAndGet();
                      }
                    } catch (Throwable e) {
                      senderEnd.complete(e);
                    }
                  });
      // The server does not read yet: past the socket buffers, 16 MiB wait in the send queue.
      awaitTrue(() -> conn.queuedBytes() > 16 << 20, () -> conn.queuedBytes() + " bytes queued");
      conn.abort();
      Throwable thrown = senderEnd.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      sender.join();
      assertInstanceOf(IllegalStateException.class, thrown, "the only exception a sender sees");
      assertEquals("closed", thrown.getMessage());
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause(), "an abort is not a failure");
      assertEquals(0, conn.queuedBytes(), "queued packets were dropped");
      conn.close(); // Does nothing now.
      try (Packet p = Packet.allocate()) {
        assertEquals("closed", assertThrows(IllegalStateException.class, () -> conn.send(p)).getMessage());
      }

      startReading.countDown();
      int received = receivedCount.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      int lost = sent.get() - received;
      assertTrue(lost > (8 << 20) / 1028, "sent " + sent.get() + ", received " + received);
      Object end = receiverEnd.get();
      assertTrue(end.equals("end") || end instanceof IOException, "receiver ended with " + end);
    }
  }

  // ---- 7. misuse

  @Test
  void sendAfterCloseThrowsClosedAndTrySendReturnsFalse() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        Packet p = goldenHi()) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      conn.close();
      assertEquals("closed", assertThrows(IllegalStateException.class, () -> conn.send(p)).getMessage());
      org.junit.jupiter.api.Assertions.assertFalse(conn.trySend(p), "trySend says no, as for a full queue");
      assertEquals(
          "closed",
          assertThrows(IllegalStateException.class, () -> conn.send(p, Duration.ofSeconds(1))).getMessage());
      assertEquals(1, p.refCount(), "a refused send leaves the caller's reference alone");
    }
  }

  @Test
  void sendAfterThePeerBrokeTheProtocolThrowsClosedWithTheCause() throws Exception {
    try (ServerSocket raw = listener();
        PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), PacketConfig.DEFAULT, null);
        Socket peer = raw.accept();
        Packet p = goldenHi()) {
      peer.getOutputStream().write(ascii("GET / HTTP/1.1\r\n\r\n"));
      assertThrows(ProtocolException.class, conn::receive);
      failureOf(conn.closeFuture());
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> conn.send(p));
      assertTrue(e.getMessage().startsWith("closed: java.net.ProtocolException: packet size 542393671"), e.getMessage());
    }
  }

  /**
   * Checks the error for using a released packet: {@code message}, and with the leak check on, where
   * the packet was released.
   */
  static void assertReleasedError(String message, IllegalStateException e) {
    if (PacketLeaks.enabled()) {
      assertTrue(e.getMessage().startsWith(message + "; packet released on thread \"main\" at "), e.getMessage());
    } else {
      assertEquals(message, e.getMessage());
    }
  }

  @Test
  void sendingAReleasedPacketThrowsAndQueuesNothing() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      Packet p = goldenHi();
      p.release();
      assertReleasedError("refCount: 0", assertThrows(IllegalStateException.class, () -> conn.send(p)));
      assertReleasedError("refCount: 0", assertThrows(IllegalStateException.class, () -> conn.trySend(p)));
      assertEquals(0, conn.queuedBytes());
      assertEchoes(conn); // Still usable.
    }
  }

  @Test
  void receivedPacketUsedAfterReleaseOrReleasedTwiceThrowsAndLaterPacketsAreIntact() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      try (Packet hi = goldenHi()) {
        conn.send(hi);
      }
      Packet echo = conn.receive(WAIT);
      assertTrue(echo.release());
      assertReleasedError("refCount: 0", assertThrows(IllegalStateException.class, echo::readInt));
      assertReleasedError("refCount: 0", assertThrows(IllegalStateException.class, echo::toByteArray));
      assertReleasedError("refCount: 0 (released twice?)", assertThrows(IllegalStateException.class, echo::release));
      // The pool was not corrupted: the next packets, which may reuse that storage, are whole.
      for (int i = 0; i < 100; i++) assertEchoes(conn);
      assertThrows(IllegalStateException.class, echo::readInt, "the stale handle stays dead");
    }
  }

  @Test
  void receiveOnACallbackConnectionThrowsOnBothSides() throws Exception {
    CompletableFuture<Throwable> serverSideReceive = new CompletableFuture<>();
    PacketHandler handler =
        new PacketHandler() {
          @Override
          public void onOpen(PacketConn conn) {
            try {
              conn.receive(Duration.ofMillis(1)).release();
              serverSideReceive.complete(null);
            } catch (Throwable e) {
              serverSideReceive.complete(e);
            }
          }

          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            packet.release();
          }
        };
    String message = "receive() is not available: this connection delivers packets to a PacketHandler";
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, handler);
        PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, (c, p) -> p.release())) {
      Throwable onServer = serverSideReceive.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(IllegalStateException.class, onServer);
      assertEquals(message, onServer.getMessage());
      assertEquals(message, assertThrows(IllegalStateException.class, () -> conn.receive(WAIT)).getMessage());
      assertEquals(message, assertThrows(IllegalStateException.class, conn::iterator).getMessage());
      assertTrue(conn.isOpen(), "misuse does not close the connection");
    }
  }
}
