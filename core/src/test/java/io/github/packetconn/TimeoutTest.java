package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Traffic.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.packetconn.testing.Recorder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connect, read-idle and write-stall timeouts, idle callbacks and keep-alive, with short periods. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TimeoutTest {
  private static final Pattern STALL =
      Pattern.compile(
          "no bytes written for (\\d+) ms with (\\d+) bytes queued \\(writeStallTimeout\\); the peer"
              + " stopped reading");

  private static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  // ---- read idle

  @Test
  void readIdleTimeoutClosesASilentConnection() throws Exception {
    PacketConfig config = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(100)).build();
    Recorder recorder = new Recorder(false);
    long start = System.nanoTime();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, recorder);
        PacketConn client = connect(server, PacketConfig.DEFAULT)) {
      Throwable cause = recorder.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      long elapsed = millisSince(start);
      assertInstanceOf(SocketTimeoutException.class, cause);
      assertEquals("no packet received for 100 ms (readIdleTimeout)", cause.getMessage());
      assertTrue(elapsed >= 100, "closed after " + elapsed + " ms");
      assertEquals(
          "Connection reset",
          assertThrows(java.net.SocketException.class, () -> client.receive(WAIT)).getMessage(),
          "the peer sees a reset, not a clean end");
    }
  }

  @Test
  void readIdleTimeoutFailsABlockingReceiver() throws Exception {
    PacketConfig config = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(100)).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, new Recorder(false));
        PacketConn client = connect(server, config)) {
      SocketTimeoutException e = assertThrows(SocketTimeoutException.class, client::receive);
      assertEquals("no packet received for 100 ms (readIdleTimeout)", e.getMessage());
      ExecutionException closed =
          assertThrows(ExecutionException.class, () -> client.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertEquals(e, closed.getCause());
    }
  }

  @Test
  void activeConnectionIsNeverClosedByReadIdleTimeout() throws Exception {
    // Both styles: the server's I/O thread reads for a handler, the client's receiver pulls.
    PacketConfig config = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(200)).build();
    Recorder recorder = new Recorder();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, recorder);
        PacketConn client = connect(server, config)) {
      long start = System.nanoTime();
      int sent = 0;
      while (millisSince(start) < 1_000) { // One packet every 20 ms, five times the timeout.
        try (Packet p = Packet.allocate().writeInt(sent)) {
          client.send(p);
        }
        try (Packet echo = client.receive(WAIT)) {
          assertNotNull(echo, "the server closed: " + recorder.closed().getNow(null));
          assertEquals(sent++, echo.readInt());
        }
        Thread.sleep(20); // Pacing the traffic, not waiting for anything.
      }
      assertTrue(sent >= 10, "sent " + sent);
      assertTrue(client.isOpen());
      assertTrue(recorder.opened().get().isOpen());
      assertFalse(recorder.closed().isDone());
    }
    assertNull(recorder.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS), "closed cleanly by the client");
  }

  @Test
  void readIdleClockStopsWhileTheReceiverDoesNotReceive() throws Exception {
    PacketConfig config = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(100)).build();
    PacketHandler greeter =
        new Recorder(false) {
          @Override
          public void onOpen(PacketConn conn) {
            try (Packet hello = Packet.allocate().writeInt(42)) {
              conn.send(hello);
            }
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, greeter);
        PacketConn client = connect(server, config)) {
      // The greeting waits in the socket: the application, not the peer, is slow. No timeout.
      assertThrows(TimeoutException.class, () -> client.closeFuture().get(300, TimeUnit.MILLISECONDS));
      try (Packet hello = client.receive(WAIT)) {
        assertEquals(42, hello.readInt());
      }
      long start = System.nanoTime(); // Waiting for the peer again: the clock runs.
      SocketTimeoutException e = assertThrows(SocketTimeoutException.class, client::receive);
      assertEquals("no packet received for 100 ms (readIdleTimeout)", e.getMessage());
      assertTrue(millisSince(start) < 5_000);
    }
  }

  // ---- write stall

  @Test
  void writeStallTimeoutClosesWhenThePeerNeverReads() throws Exception {
    PacketConfig config = PacketConfig.builder().writeStallTimeout(Duration.ofMillis(100)).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), config, null);
        SocketChannel peer = raw.accept();
        Packet p = Packet.of(new byte[1 << 20])) {
      assertTrue(peer.isConnected()); // And never read.
      long start = System.nanoTime();
      try {
        // Until the queue stays full: trySend alone could stop at the queue's bound while the
        // kernel's buffers (several MiB on loopback) still take it all, and nothing would stall.
        for (int i = 0; i < 256 && conn.send(p, Duration.ofMillis(50)); i++) {}
      } catch (IllegalStateException alreadyClosed) {
        // The stall may fire before the queue is full: the kernel's buffers took the rest.
      }
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      long elapsed = millisSince(start);
      SocketTimeoutException cause = assertInstanceOf(SocketTimeoutException.class, e.getCause());
      Matcher m = STALL.matcher(cause.getMessage());
      assertTrue(m.matches(), cause.getMessage());
      assertEquals("100", m.group(1));
      assertTrue(Long.parseLong(m.group(2)) > 0, cause.getMessage());
      assertTrue(elapsed >= 100, "closed after " + elapsed + " ms");
      assertEquals(0, conn.queuedBytes(), "queued packets are dropped");
    }
  }

  @Test
  void writeStallTimeoutFiresWhileTheApplicationKeepsSending() throws Exception {
    // New sends make the loop try to write again; writes that take no byte do not stop the clock.
    PacketConfig config =
        PacketConfig.builder()
            .writeStallTimeout(Duration.ofMillis(150))
            .sendQueueBytes(64 << 20)
            .build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), config, null);
        SocketChannel peer = raw.accept();
        Packet big = Packet.of(new byte[1 << 20]);
        Packet small = Packet.allocate().writeInt(1)) {
      assertTrue(peer.isConnected()); // And never read.
      for (int i = 0; i < 16; i++) conn.send(big); // More than the kernel's buffers take.
      long start = System.nanoTime();
      try {
        while (conn.isOpen() && millisSince(start) < 5_000) {
          conn.send(small);
          Thread.sleep(10); // Pacing.
        }
      } catch (IllegalStateException closed) {
        // Closed between isOpen() and send().
      }
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      SocketTimeoutException cause = assertInstanceOf(SocketTimeoutException.class, e.getCause());
      assertTrue(STALL.matcher(cause.getMessage()).matches(), cause.getMessage());
      assertTrue(millisSince(start) < 5_000, "closed only after " + millisSince(start) + " ms");
    }
  }

  @Test
  void writeStallTimeoutSparesASlowReader() throws Exception {
    PacketConfig config =
        PacketConfig.builder()
            .writeStallTimeout(Duration.ofMillis(500))
            .sendQueueBytes(8 << 20)
            .build();
    // 24 MiB read at 20 MB/s: for over a second the queue never empties, and each time the socket
    // has room it takes only part of it.
    int packets = 24;
    long bytesPerMilli = 20_000;
    int size = 1 << 20;
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), config, null);
        SocketChannel peer = raw.accept()) {
      CompletableFuture<Void> sender =
          CompletableFuture.runAsync(
              () -> {
                try (Packet p = Packet.of(new byte[size])) {
                  for (int i = 0; i < packets; i++) conn.send(p);
                }
              });
      long expected = (long) packets * (size + 4);
      long read = 0;
      long mostQueued = 0;
      long start = System.nanoTime();
      ByteBuffer sink = ByteBuffer.allocate(64 << 10);
      while (read < expected) {
        int n = peer.read(sink.clear());
        assertTrue(n > 0, "the connection ended after " + read + " bytes: " + conn.closeCause());
        read += n;
        mostQueued = Math.max(mostQueued, conn.queuedBytes());
        long ahead = read / bytesPerMilli - millisSince(start);
        if (ahead > 0) Thread.sleep(ahead); // A slow reader, but a reader: pacing, behind never.
      }
      sender.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertTrue(mostQueued > 0, "the writer never had to wait");
      assertTrue(conn.isOpen(), "closed by " + conn.closeCause());
      assertNull(conn.closeCause());
    }
  }

  // ---- idle callbacks

  @Test
  void onIdleIsCalledRepeatedlyWhileNothingIsSent() throws Exception {
    PacketConfig config = PacketConfig.builder().idleInterval(Duration.ofMillis(50)).build();
    List<Long> calls = new ArrayList<>();
    CompletableFuture<Void> fourCalls = new CompletableFuture<>();
    PacketHandler idle =
        new Recorder(false) {
          @Override
          public void onIdle(PacketConn conn) {
            calls.add(System.nanoTime()); // One thread: the connection's I/O thread.
            if (calls.size() == 4) fourCalls.complete(null);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, new Recorder(false))) {
      long start = System.nanoTime();
      try (PacketConn client = PacketConn.connect(server.localAddress(), config, idle)) {
        fourCalls.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(client.isOpen());
      }
      long first = TimeUnit.NANOSECONDS.toMillis(calls.get(0) - start);
      assertTrue(first >= 50, "first call after " + first + " ms");
      for (int i = 1; i < 4; i++) {
        long gap = TimeUnit.NANOSECONDS.toMillis(calls.get(i) - calls.get(i - 1));
        assertTrue(gap >= 40, "call " + i + " came " + gap + " ms after the one before");
      }
    }
  }

  @Test
  void heartbeatsFromOnIdleKeepThePeersReadIdleTimeoutFromFiring() throws Exception {
    PacketConfig serverConfig = PacketConfig.builder().readIdleTimeout(Duration.ofMillis(150)).build();
    PacketConfig clientConfig = PacketConfig.builder().idleInterval(Duration.ofMillis(40)).build();
    AtomicInteger heartbeats = new AtomicInteger();
    PacketHandler heartbeat =
        new Recorder(false) {
          @Override
          public void onIdle(PacketConn conn) {
            try (Packet ping = Packet.allocate().writeInt(-1)) {
              conn.send(ping);
            }
            heartbeats.incrementAndGet();
          }
        };
    Recorder recorder = new Recorder(false);
    try (PacketServer server = PacketServer.bind(LOOPBACK, serverConfig, recorder);
        PacketConn client = PacketConn.connect(server.localAddress(), clientConfig, heartbeat)) {
      // Four times the server's timeout, with no packet but heartbeats.
      assertThrows(TimeoutException.class, () -> recorder.closed().get(600, TimeUnit.MILLISECONDS));
      assertTrue(recorder.opened().get().isOpen());
      assertTrue(client.isOpen());
      assertTrue(heartbeats.get() >= 5, heartbeats.get() + " heartbeats");
      assertTrue(recorder.received.get() >= 5, recorder.received.get() + " received");
    }
    assertNull(recorder.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS), "closed cleanly by the client");
  }

  @Test
  void onIdleIsNotCalledWhileTheConnectionSends() throws Exception {
    PacketConfig config = PacketConfig.builder().idleInterval(Duration.ofMillis(100)).build();
    AtomicInteger idleCalls = new AtomicInteger();
    PacketHandler counting =
        new Recorder(false) {
          @Override
          public void onIdle(PacketConn conn) {
            idleCalls.incrementAndGet();
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, new Recorder(false));
        PacketConn client = PacketConn.connect(server.localAddress(), config, counting)) {
      long start = System.nanoTime();
      while (millisSince(start) < 500) {
        try (Packet p = Packet.allocate().writeInt(1)) {
          client.send(p);
        }
        Thread.sleep(20); // Pacing.
      }
      assertEquals(0, idleCalls.get());
    }
  }

  // ---- connect timeout and keep-alive

  @Test
  void connectTimesOutWhenTheAcceptBacklogIsFull() throws Exception {
    // Linux drops SYNs to a listener whose accept queue is full, so the connect hangs: a loopback
    // black hole. Fill a backlog of 1 that nobody accepts until a connect times out.
    try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      InetSocketAddress address = (InetSocketAddress) full.getLocalSocketAddress();
      List<Socket> fillers = new ArrayList<>();
      try {
        boolean blackHole = false;
        for (int i = 0; i < 16 && !blackHole; i++) {
          Socket s = new Socket();
          fillers.add(s);
          try {
            s.connect(address, 200);
          } catch (SocketTimeoutException e) {
            blackHole = true;
          }
        }
        assumeTrue(blackHole, "this system accepts connections beyond the backlog");
        PacketConfig config = PacketConfig.builder().connectTimeout(Duration.ofMillis(100)).build();
        long start = System.nanoTime();
        SocketTimeoutException e =
            assertThrows(SocketTimeoutException.class, () -> PacketConn.connect(address, config, null));
        long elapsed = millisSince(start);
        assertEquals(
            "connect to " + PacketConn.format(address) + " timed out after 100 ms (connectTimeout)",
            e.getMessage());
        assertTrue(elapsed >= 100 && elapsed < 5_000, "timed out after " + elapsed + " ms");
      } finally {
        for (Socket s : fillers) s.close();
      }
    }
  }

  @Test
  void tcpKeepAliveIsSetOnBothSidesWhenAsked() throws Exception {
    PacketConfig config = PacketConfig.builder().tcpKeepAlive(true).build();
    Recorder recorder = new Recorder(false);
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, recorder);
        PacketConn client = connect(server, config)) {
      PacketConn accepted = recorder.opened().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertTrue(client.channel().getOption(StandardSocketOptions.SO_KEEPALIVE));
      assertTrue(accepted.channel().getOption(StandardSocketOptions.SO_KEEPALIVE));
    }
  }

  @Test
  void tcpKeepAliveIsOffByDefault() throws IOException {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, new Recorder(false));
        PacketConn client = connect(server, PacketConfig.DEFAULT)) {
      assertFalse(client.channel().getOption(StandardSocketOptions.SO_KEEPALIVE));
    }
  }

  @Test
  void connectionWithTimeoutsClosesGracefully() throws Exception {
    // The liveness checks stand aside once a close begins: the close flushes and ends cleanly.
    PacketConfig config =
        PacketConfig.builder()
            .readIdleTimeout(Duration.ofMillis(100))
            .writeStallTimeout(Duration.ofMillis(100))
            .idleInterval(Duration.ofMillis(30))
            .build();
    Recorder recorder = new Recorder(false);
    AtomicLong idleCalls = new AtomicLong();
    PacketHandler client =
        new Recorder(false) {
          @Override
          public void onIdle(PacketConn conn) {
            idleCalls.incrementAndGet();
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, recorder)) {
      PacketConn conn = PacketConn.connect(server.localAddress(), config, client);
      try (Packet p = Packet.allocate().writeInt(7)) {
        conn.send(p);
      }
      conn.close();
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause());
      assertNull(recorder.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertEquals(1, recorder.received.get());
    }
  }
}
