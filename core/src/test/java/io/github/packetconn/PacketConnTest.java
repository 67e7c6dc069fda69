package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Golden.EMPTY;
import static io.github.packetconn.testing.Golden.EMPTY_CRC;
import static io.github.packetconn.testing.Golden.HI;
import static io.github.packetconn.testing.Golden.HI_CRC;
import static io.github.packetconn.testing.Golden.TYPED;
import static io.github.packetconn.testing.Golden.bytes;
import static io.github.packetconn.testing.Golden.goldenHi;
import static io.github.packetconn.testing.Golden.goldenTyped;
import static io.github.packetconn.testing.Golden.hex;
import static io.github.packetconn.testing.Handlers.BLOCKING_ECHO;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Handlers.echoReportingFailure;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.listener;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.Traffic.assertReceivesInOrder;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.echoRandomPackets;
import static io.github.packetconn.testing.Traffic.sendUntilFull;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.CapturedLog;
import io.github.packetconn.testing.Frames;
import io.github.packetconn.testing.Traffic;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PacketConnTest {
  private static byte[] readExactly(InputStream in, int n) throws IOException {
    byte[] bytes = in.readNBytes(n);
    assertEquals(n, bytes.length, "stream ended early");
    return bytes;
  }

  @Test
  void goldenFramesGoOutByteForByte() throws Exception {
    for (boolean crc : new boolean[] {false, true}) {
      try (ServerSocket raw = listener();
          PacketConn conn =
              PacketConn.connect(raw.getLocalSocketAddress(), PacketConfig.builder().crc(crc).build(), null);
          Socket peer = raw.accept()) {
        try (Packet hi = goldenHi();
            Packet empty = Packet.allocate();
            Packet typed = goldenTyped()) {
          conn.send(hi);
          conn.send(empty);
          conn.send(typed);
        }
        String expected = crc ? HI_CRC + EMPTY_CRC : HI + EMPTY + TYPED;
        int length = expected.length() / 2 + (crc ? 39 : 0);
        String actual = hex(readExactly(peer.getInputStream(), length));
        assertEquals(expected, actual.substring(0, expected.length()), "crc=" + crc);
        if (crc) {
          byte[] typed = Frames.encode(bytes(TYPED.substring(8)), true);
          assertEquals(hex(typed), actual.substring(expected.length()));
        }
      }
    }
  }

  @Test
  void goldenFramesAreReceived() throws Exception {
    for (boolean crc : new boolean[] {false, true}) {
      try (ServerSocket raw = listener();
          PacketConn conn =
              PacketConn.connect(raw.getLocalSocketAddress(), PacketConfig.builder().crc(crc).build(), null);
          Socket peer = raw.accept()) {
        String stream = crc ? HI_CRC + EMPTY_CRC : HI + EMPTY;
        peer.getOutputStream().write(bytes(stream));
        try (Packet hi = conn.receive(WAIT);
            Packet empty = conn.receive(WAIT)) {
          assertEquals(0xABCD, hi.readUnsignedShort());
          assertEquals(0x12345678, hi.readInt());
          assertEquals("hi", hi.readShortPrefixedString());
          assertEquals(0, empty.size());
        }
        peer.shutdownOutput();
        assertNull(conn.receive(WAIT), "clean end of stream");
      }
    }
  }

  @Test
  void echoesSeededRandomPacketsWithCallbackServer() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(256 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, ECHO)) {
      echoRandomPackets(server, config, 3000);
    }
  }

  @Test
  void echoesSeededRandomPacketsWithVirtualThreadServer() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(256 << 10).crc(true).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, BLOCKING_ECHO)) {
      echoRandomPackets(server, config, 3000);
    }
  }

  @Test
  void packetOfExactlyMaxSizeGoesThroughAndOneByteMoreIsRefused() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(64 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, ECHO);
        PacketConn conn = connect(server, config)) {
      try (Packet max = Packet.of(new byte[64 << 10]);
          Packet over = Packet.of(new byte[(64 << 10) + 1])) {
        conn.send(max);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> conn.send(over));
        assertEquals("packet size 65537 exceeds maxPacketSize 65536", e.getMessage());
      }
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals(64 << 10, echo.size());
      }
    }
  }

  @Test
  void oversizedFrameFromPeerClosesOnlyThatConnection() throws Exception {
    PacketConfig config = PacketConfig.builder().maxPacketSize(64 << 10).build();
    CompletableFuture<Throwable> closed = new CompletableFuture<>();
    PacketHandler handler = echoReportingFailure(closed);
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, handler);
        PacketConn good = connect(server, config);
        Socket bad = socket(server)) {
      bad.getOutputStream().write(bytes("01000100")); // 65537, little-endian.
      Throwable cause = closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(ProtocolException.class, cause);
      assertEquals("packet size 65537 exceeds maxPacketSize 65536", cause.getMessage());
      assertEquals(
          "Connection reset",
          assertThrows(java.net.SocketException.class, () -> bad.getInputStream().read()).getMessage(),
          "a protocol error resets the bad connection");
      try (Packet p = goldenHi()) {
        good.send(p);
      }
      try (Packet echo = good.receive(WAIT)) {
        assertEquals(10, echo.size(), "the other connection still works");
      }
    }
  }

  @Test
  void crcEndToEndAndCorruptedCrcDetected() throws Exception {
    PacketConfig config = PacketConfig.builder().crc(true).build();
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    PacketHandler handler = echoReportingFailure(failure);
    try (PacketServer server = PacketServer.bind(LOOPBACK, config, handler);
        PacketConn conn = connect(server, config);
        Socket corrupt = socket(server)) {
      try (Packet p = goldenHi()) {
        conn.send(p);
      }
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals("cdab7856341202006869", hex(echo));
      }
      byte[] frame = bytes(HI_CRC);
      frame[frame.length - 1] ^= 0x10;
      corrupt.getOutputStream().write(frame);
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertEquals(
          "CRC mismatch on a frame of 10 bytes: received 71041d55, computed 61041d55"
              + " (do both peers have crc enabled?)",
          cause.getMessage());
    }
  }

  @Test
  void frameCutByEndOfStreamIsEOFException() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    ConnectionHandler handler =
        conn -> {
          try {
            conn.receive(WAIT);
          } catch (IOException e) {
            failure.complete(e);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, handler);
        Socket peer = socket(server)) {
      peer.getOutputStream().write(bytes("0a000000cdab78"));
      peer.shutdownOutput();
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(EOFException.class, cause);
      assertEquals("end of stream inside a frame, after 3 of 10 payload bytes", cause.getMessage());
    }
  }

  @Test
  void severalThreadsSendingKeepPerThreadOrder() throws Exception {
    int threads = 4;
    int perThread = 20_000;
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      List<Thread> senders = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        senders.add(
            Thread.ofPlatform()
                .start(
                    () -> {
                      try (Packet p = Packet.allocate()) {
                        for (int seq = 0; seq < perThread; seq++) {
                          p.clear().writeInt(id).writeInt(seq).writeBytes(new byte[seq % 100]);
                          conn.send(p);
                        }
                      }
                    }));
      }
      int[] next = new int[threads];
      for (int i = 0; i < threads * perThread; i++) {
        try (Packet echo = conn.receive(WAIT)) {
          int id = echo.readInt();
          int seq = echo.readInt();
          assertEquals(next[id], seq, "thread " + id + " out of order");
          assertEquals(seq % 100, echo.remaining());
          next[id]++;
        }
      }
      for (Thread sender : senders) sender.join();
      assertArrayEquals(new int[] {perThread, perThread, perThread, perThread}, next);
    }
  }

  @Test
  void closeFlushesPendingPackets() throws Exception {
    Traffic.closeFlushesPendingPackets(LOOPBACK);
  }

  @Test
  void serverSideCloseFlushesPendingPackets() throws Exception {
    Traffic.serverSideCloseFlushesPendingPackets(LOOPBACK);
  }

  @Test
  void receiveTimesOut() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      SocketTimeoutException e =
          assertThrows(SocketTimeoutException.class, () -> conn.receive(Duration.ofMillis(50)));
      assertEquals("receive timed out after 50 ms", e.getMessage());
      assertTrue(conn.isOpen());
    }
  }

  @Test
  void sendQueueFillsWhenPeerDoesNotRead() throws Exception {
    PacketConfig config = PacketConfig.builder().sendQueueBytes(64 << 10).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), config, null);
        SocketChannel peer = raw.accept()) {
      try (Packet p = Packet.of(new byte[1024])) {
        int sent = sendUntilFull(conn, i -> p);
        assertTrue(conn.queuedBytes() <= 64 << 10, "queued " + conn.queuedBytes());
        assertFalse(conn.send(p, Duration.ofMillis(20)), "a timed send times out");
        // The peer reads everything: the queue drains and send works again.
        ByteBuffer sink = ByteBuffer.allocate(1 << 20);
        long expected = (long) sent * 1028;
        long read = 0;
        CompletableFuture<Void> blockingSend = CompletableFuture.runAsync(() -> conn.send(p));
        expected += 1028;
        while (read < expected) {
          read += peer.read(sink.clear());
        }
        blockingSend.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(expected, read);
      }
      conn.abort();
      try (Packet p = Packet.allocate()) {
        assertThrows(IllegalStateException.class, () -> conn.send(p));
      }
    }
  }

  @Test
  void sendAfterCloseThrows() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      PacketConn conn = connect(server, PacketConfig.DEFAULT);
      conn.close();
      conn.close(); // Idempotent.
      try (Packet p = Packet.allocate()) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> conn.send(p));
        assertEquals("closed", e.getMessage());
      }
      assertNull(conn.receive(WAIT), "a closed connection's stream has ended");
    }
  }

  @Test
  void abortedConnectionFailsThePeerNotTheServer() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      PacketConn a = connect(server, PacketConfig.DEFAULT);
      a.abort();
      a.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      try (PacketConn b = connect(server, PacketConfig.DEFAULT);
          Packet p = goldenHi()) {
        b.send(p);
        try (Packet echo = b.receive(WAIT)) {
          assertEquals(10, echo.size());
        }
      }
    }
  }

  @Test
  void closeFutureReportsTheCause() throws Exception {
    try (ServerSocket raw = listener();
        PacketConn conn = PacketConn.connect(raw.getLocalSocketAddress(), PacketConfig.DEFAULT, null);
        Socket peer = raw.accept()) {
      OutputStream out = peer.getOutputStream();
      out.write(bytes("ffffff7f"));
      // A receiving connection reads when it is asked to receive, so the receive finds the error.
      IOException thrown = assertThrows(IOException.class, conn::receive);
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertInstanceOf(ProtocolException.class, e.getCause());
      assertEquals("packet size 2147483647 exceeds maxPacketSize 33554432", conn.closeCause().getMessage());
      assertEquals(conn.closeCause(), thrown);
    }
  }

  @Test
  void serverCloseClosesItsConnectionsGracefully() throws Exception {
    PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
    PacketConn conn = connect(server, PacketConfig.DEFAULT);
    try (Packet p = goldenHi()) {
      conn.send(p);
    }
    conn.receive(WAIT).release();
    assertEquals(1, server.connections().size());
    PacketConn serverSide = server.connections().iterator().next();
    server.close();
    assertFalse(server.isOpen());
    assertNull(conn.receive(WAIT), "the server's close reaches the client as a clean end");
    conn.close();
    serverSide.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(server.connections().isEmpty());
    assertThrows(IOException.class, () -> PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, null));
  }

  @Test
  void attachmentAddressesAndToString() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      assertNull(conn.attach("session-1"));
      assertEquals("session-1", conn.attachment());
      assertEquals(server.port(), port(conn.remoteAddress()));
      assertEquals(InetAddress.getLoopbackAddress(), ((InetSocketAddress) conn.localAddress()).getAddress());
      assertEquals(
          "PacketConn[127.0.0.1:" + port(conn.localAddress()) + " -> 127.0.0.1:" + server.port() + ", open]",
          conn.toString());
    }
  }

  @Test
  void receiveIsRefusedOnCallbackConnections() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = PacketConn.connect(server.localAddress(), PacketConfig.DEFAULT, (c, p) -> p.release())) {
      IllegalStateException e = assertThrows(IllegalStateException.class, conn::receive);
      assertEquals(
          "receive() is not available: this connection delivers packets to a PacketHandler", e.getMessage());
    }
  }

  @Test
  void flushDelayBatchesAndFlushSendsAtOnce() throws Exception {
    PacketConfig delayed = PacketConfig.builder().flushDelay(Duration.ofMinutes(5)).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), delayed, null);
        SocketChannel peer = raw.accept()) {
      try (Packet p = goldenHi()) {
        conn.send(p);
        conn.send(p);
      }
      assertEquals(28, conn.queuedBytes(), "held back by the flush delay");
      conn.flush();
      ByteBuffer in = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
      while (in.hasRemaining()) peer.read(in);
      assertEquals(HI + HI, hex(in.array()));
    }
  }

  /**
   * flush() ends the writer's flush-delay wait every time: the wait takes the send queue's lock to
   * learn when frames are due, and waiting for that lock must not use up flush()'s wake-up (it did
   * about once in a thousand rounds on a loaded machine, and the frames waited the whole delay).
   */
  @Test
  void flushEndsTheFlushDelayEveryTime() throws Exception {
    PacketConfig delayed = PacketConfig.builder().flushDelay(Duration.ofMinutes(5)).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), delayed, null);
        SocketChannel peer = raw.accept()) {
      ByteBuffer in = ByteBuffer.allocate(28);
      for (int round = 0; round < 3_000; round++) {
        try (Packet p = goldenHi()) {
          conn.send(p);
          conn.send(p);
        }
        // Takes the queue's lock while the writer may be about to take it, learning when frames are due.
        assertTrue(conn.queuedBytes() >= 28, "round " + round); // The last round's may still count.
        conn.flush();
        in.clear();
        while (in.hasRemaining()) peer.read(in);
        assertEquals(HI + HI, hex(in.array()), "round " + round);
      }
    }
  }

  @Test
  void flushDelayTimerWritesWithoutAnExplicitFlush() throws Exception {
    PacketConfig delayed =
        PacketConfig.builder().flushDelay(Duration.ofMillis(20)).maxFlushDelay(Duration.ofMillis(50)).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK);
        PacketConn conn = PacketConn.connect(raw.getLocalAddress(), delayed, null);
        SocketChannel peer = raw.accept()) {
      try (Packet p = goldenHi()) {
        conn.send(p);
        conn.send(p);
      }
      ByteBuffer in = ByteBuffer.allocate(28);
      while (in.hasRemaining()) peer.read(in); // Arrives once the timer fires.
      assertEquals(HI + HI, hex(in.array()));
    }
  }

  @Test
  void receiverThatStopsReceivingStopsReadingAndResumesWithoutLoss() throws Exception {
    int count = 100_000;
    CompletableFuture<Void> backedUp = new CompletableFuture<>();
    ConnectionHandler producer =
        conn -> {
          try (Packet p = Packet.allocate()) {
            for (int i = 0; i < count; i++) {
              p.clear().writeInt(i).writeBytes(new byte[100]);
              if (backedUp.isDone()) {
                conn.send(p);
              } else if (!conn.send(p, Duration.ofMillis(10))) {
                backedUp.complete(null); // The client stopped reading: everything is full.
                conn.send(p);
              }
            }
          }
        };
    PacketConfig small = PacketConfig.builder().sendQueueBytes(8 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, small, producer);
        PacketConn conn = connect(server, small)) {
      backedUp.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertReceivesInOrder(conn, count);
    }
  }

  @Test
  void echoServerStopsReadingAFloodingClientThatDoesNotRead() throws Exception {
    PacketConfig small = PacketConfig.builder().sendQueueBytes(4 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, small, ECHO);
        PacketConn conn = connect(server, small);
        Packet p = Packet.allocate()) {
      // The client does not read: the echoes fill its socket, then the server's queue, then the
      // server stops reading, then the client's socket and queue fill and sends time out.
      int sent = sendUntilFull(conn, i -> p.clear().writeInt(i).writeBytes(new byte[200]));
      int total = sent + 1000;
      CompletableFuture<Void> rest =
          CompletableFuture.runAsync(
              () -> {
                try (Packet q = Packet.allocate()) {
                  for (int i = total - 1000; i < total; i++) {
                    conn.send(q.clear().writeInt(i).writeBytes(new byte[200]));
                  }
                }
              });
      for (int i = 0; i < total; i++) {
        try (Packet echo = conn.receive(WAIT)) {
          assertEquals(i, echo.readInt(), "every echo, in order, after the server resumed");
        }
      }
      rest.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  @Test
  void handlerExceptionAbortsOnlyThatConnection() throws Exception {
    CompletableFuture<Throwable> cause = new CompletableFuture<>();
    PacketHandler picky =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) throws Exception {
            try (packet) {
              if (packet.size() == 0) throw new IllegalArgumentException("empty packets are not allowed");
              conn.send(packet);
            }
          }

          @Override
          public void onClose(PacketConn conn, Throwable why) {
            if (why != null) cause.complete(why);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, picky);
        PacketConn bad = connect(server, PacketConfig.DEFAULT);
        PacketConn good = connect(server, PacketConfig.DEFAULT);
        Packet empty = Packet.allocate();
        Packet hi = goldenHi()) {
      bad.send(empty);
      assertEquals("empty packets are not allowed", cause.get(WAIT.toSeconds(), TimeUnit.SECONDS).getMessage());
      String failure = "java.lang.IllegalArgumentException: empty packets are not allowed";
      LogRecord line = // Captured, not printed: see CapturedLog.
          CapturedLog.await(Level.WARNING, "closed: handler failed: " + failure, WAIT);
      assertEquals("empty packets are not allowed", line.getThrown().getMessage());
      assertEquals(
          "Connection reset",
          assertThrows(java.net.SocketException.class, () -> bad.receive(WAIT)).getMessage(),
          "a handler's failure resets the connection");
      good.send(hi);
      try (Packet echo = good.receive(WAIT)) {
        assertEquals(10, echo.size());
      }
    }
  }

  @Test
  void worksOverIpv6LoopbackWhereAvailable() throws Exception {
    InetAddress v6 = InetAddress.getByName("::1");
    PacketServer server;
    try {
      server = PacketServer.bind(new InetSocketAddress(v6, 0), PacketConfig.DEFAULT, ECHO);
    } catch (IOException e) {
      org.junit.jupiter.api.Assumptions.abort("no IPv6 loopback here: " + e);
      return;
    }
    try (server;
        PacketConn conn = connect(server, PacketConfig.DEFAULT);
        Packet hi = goldenHi()) {
      conn.send(hi);
      try (Packet echo = conn.receive(WAIT)) {
        assertEquals(10, echo.size());
      }
      assertTrue(conn.toString().contains("[0:0:0:0:0:0:0:1]:" + server.port()), conn.toString());
    }
  }

  @Test
  void receiveAfterEachSendNeverStalls() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT);
        Packet p = Packet.allocate()) {
      for (int i = 0; i < 3000; i++) { // Each receive waits for the next readiness: a lost wake-up hangs here.
        conn.send(p.clear().writeInt(i));
        try (Packet echo = conn.receive(WAIT)) {
          assertEquals(i, echo.readInt());
        }
      }
    }
  }

  @Test
  void greetingSentFromOnOpenIsFlushedWithFlushDelay() throws Exception {
    PacketConfig delayed = PacketConfig.builder().flushDelay(Duration.ofMillis(5)).build();
    PacketHandler greeter =
        new PacketHandler() {
          @Override
          public void onOpen(PacketConn conn) {
            try (Packet hello = Packet.allocate().writeShortPrefixedString("hello")) {
              conn.send(hello);
            }
          }

          @Override
          public void onPacket(PacketConn conn, Packet packet) {
            packet.release();
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, delayed, greeter);
        PacketConn conn = connect(server, PacketConfig.DEFAULT);
        Packet hello = conn.receive(WAIT)) {
      assertEquals("hello", hello.readShortPrefixedString());
    }
  }

  @Test
  void closeOnIoThreadTimesOutWhenThePeerNeverReads() throws Exception {
    PacketConfig quick = PacketConfig.builder().closeTimeout(Duration.ofMillis(300)).build();
    CompletableFuture<Throwable> cause = new CompletableFuture<>();
    PacketHandler flooder =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) throws IOException {
            packet.release();
            try (Packet big = Packet.of(new byte[1 << 20])) {
              for (int i = 0; i < 32; i++) conn.send(big); // Far more than the socket buffers hold.
            }
            conn.close(); // On the I/O thread: starts the close and returns.
          }

          @Override
          public void onClose(PacketConn conn, Throwable why) {
            cause.complete(why);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, quick, flooder);
        Socket peer = socket(server)) {
      peer.getOutputStream().write(bytes(EMPTY)); // Never reads.
      Throwable why = cause.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(SocketTimeoutException.class, why);
      assertTrue(why.getMessage().startsWith("close timed out after 300 ms with "), why.getMessage());
    }
  }

  @Test
  void closeInTheMiddleOfAReadIsStillClean() throws Exception {
    CompletableFuture<Throwable> cause = new CompletableFuture<>();
    PacketHandler closer =
        new PacketHandler() {
          @Override
          public void onPacket(PacketConn conn, Packet packet) throws IOException {
            packet.release();
            conn.close();
          }

          @Override
          public void onClose(PacketConn conn, Throwable why) {
            cause.complete(why);
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, closer);
        Socket peer = socket(server)) {
      // One whole frame, then the start of a second one, in one write.
      peer.getOutputStream().write(bytes(HI + "64000000abcd"));
      assertEquals(-1, peer.getInputStream().read(), "the server closed its side");
      peer.shutdownOutput();
      assertNull(cause.get(WAIT.toSeconds(), TimeUnit.SECONDS), "a local close is clean, whatever was unread");
    }
  }

  @Test
  void closeFlushesEvenWhenBothSidesStoppedReading() throws Exception {
    PacketConfig small =
        PacketConfig.builder().sendQueueBytes(16 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, small, ECHO);
        Packet p = Packet.of(new byte[500])) {
      PacketConn conn = connect(server, small);
      // The client never receives: its queue fills and it stops reading, so the echo server's queue
      // fills and it stops reading the client, and at last the client's sends back up.
      sendUntilFull(conn, i -> p);
      conn.close(); // Must not deadlock: a closing connection reads (and drops) again.
      conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNull(conn.closeCause());
    }
  }
}
