package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitStats;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.failureOf;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Handlers.echoReportingFailure;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.socket;
import static io.github.packetconn.testing.Memory.allocatedBytes;
import static io.github.packetconn.testing.TlsFixtures.withTls;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static io.github.packetconn.testing.Traffic.sendUntilFull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.testing.TlsFixtures;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Recording;
import jdk.jfr.ValueDescriptor;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records real connections over loopback with JDK Flight Recorder, to a file, and reads the
 * packetconn events back: one test per kind of event, with the faults that cause them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FlightRecorderTest {
  static final List<Class<? extends Event>> EVENTS =
      List.of(
          ConnectionOpenedEvent.class,
          ConnectionClosedEvent.class,
          ProtocolErrorEvent.class,
          BackpressureEvent.class,
          WriteStallEvent.class,
          TlsHandshakeEvent.class);

  /** Fields every JFR event has, which JFR describes itself. */
  static final Set<String> IMPLICIT = Set.of("startTime", "duration", "eventThread", "stackTrace");

  @TempDir Path dir;

  interface Body {
    void run() throws Exception;
  }

  /** Records the packetconn events, with their default settings, while {@code body} runs. */
  List<RecordedEvent> record(Body body) throws Exception {
    Path file = dir.resolve("recording.jfr");
    try (Recording recording = new Recording()) {
      for (Class<? extends Event> type : EVENTS) recording.enable(type);
      recording.start();
      body.run();
      recording.stop();
      recording.dump(file);
    }
    return RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().startsWith("io.github.packetconn."))
        .toList();
  }

  /** {@return the events named {@code io.github.packetconn.<name>} from {@code local} to {@code remote}} */
  static List<RecordedEvent> about(List<RecordedEvent> events, String name, String local, String remote) {
    return events.stream()
        .filter(e -> e.getEventType().getName().equals("io.github.packetconn." + name))
        .filter(e -> local.equals(e.getString("localAddress")) && remote.equals(e.getString("remoteAddress")))
        .toList();
  }

  /** {@return the one such event} */
  static RecordedEvent only(List<RecordedEvent> events, String name, String local, String remote) {
    List<RecordedEvent> found = about(events, name, local, remote);
    assertEquals(1, found.size(), name + " " + local + " -> " + remote + " in " + events);
    return found.get(0);
  }

  static String format(SocketAddress address) {
    return PacketConn.format(address);
  }

  @Test
  void everyEventIsNamedLabelledDescribedAndFiledUnderPacketconn() {
    for (Class<? extends Event> type : EVENTS) {
      EventType t = EventType.getEventType(type);
      assertEquals("io.github.packetconn." + type.getSimpleName().replace("Event", ""), t.getName());
      assertNotNull(t.getLabel(), t.getName());
      assertNotNull(t.getDescription(), t.getName());
      assertEquals(List.of("packetconn"), t.getCategoryNames(), t.getName());
      for (ValueDescriptor field : t.getFields()) {
        if (IMPLICIT.contains(field.getName())) continue;
        assertNotNull(field.getLabel(), t.getName() + "." + field.getName());
        assertNotNull(field.getDescription(), t.getName() + "." + field.getName());
      }
    }
  }

  @Test
  void recordsConnectionsOpenedAndClosedWithTheirTraffic() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      String serverAddress = format(server.localAddress());
      String[] client = new String[1];
      List<RecordedEvent> events =
          record(
              () -> {
                PacketConn conn = connect(server, PacketConfig.DEFAULT);
                client[0] = format(conn.localAddress());
                try (conn) {
                  for (int i = 0; i < 10; i++) assertEchoes(conn); // 10 frames of 14 bytes each way.
                }
                conn.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                awaitStats(server, s -> s.closedClean() == 1);
              });
      assertFalse(only(events, "ConnectionOpened", client[0], serverAddress).getBoolean("tls"));
      assertFalse(only(events, "ConnectionOpened", serverAddress, client[0]).getBoolean("tls"));
      for (RecordedEvent closed :
          List.of(
              only(events, "ConnectionClosed", client[0], serverAddress),
              only(events, "ConnectionClosed", serverAddress, client[0]))) {
        assertEquals("CLEAN", closed.getString("kind"));
        assertNull(closed.getString("cause"));
        assertEquals(10, closed.getLong("packetsIn"));
        assertEquals(140, closed.getLong("bytesIn"));
        assertEquals(10, closed.getLong("packetsOut"));
        assertEquals(140, closed.getLong("bytesOut"));
        assertTrue(closed.getDuration("lifetime").toNanos() > 0, closed.toString());
      }
    }
  }

  @Test
  void recordsAProtocolErrorAndTheCloseItCaused() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    try (PacketServer server =
        PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, echoReportingFailure(failure))) {
      String serverAddress = format(server.localAddress());
      String[] peer = new String[1];
      List<RecordedEvent> events =
          record(
              () -> {
                try (Socket raw = socket(server)) {
                  peer[0] = format(raw.getLocalSocketAddress());
                  raw.getOutputStream().write(new byte[] {-1, -1, -1, 0x7f}); // 2 GiB, says the length.
                  awaitStats(server, s -> s.closedProtocolError() == 1);
                }
              });
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertInstanceOf(ProtocolException.class, cause);
      assertEquals("packet size 2147483647 exceeds maxPacketSize 33554432", cause.getMessage());
      assertEquals(cause.getMessage(), only(events, "ProtocolError", serverAddress, peer[0]).getString("message"));
      RecordedEvent closed = only(events, "ConnectionClosed", serverAddress, peer[0]);
      assertEquals("PROTOCOL_ERROR", closed.getString("kind"));
      assertEquals(cause.toString(), closed.getString("cause"));
      assertEquals(4, closed.getLong("bytesIn"));
      assertEquals(0, closed.getLong("packetsIn"));
    }
  }

  @Test
  void recordsTlsHandshakesThatSucceedAndThatFail() throws Exception {
    PacketConfig serverConfig = withTls(TlsConfig.server(TlsFixtures.SERVER));
    PacketConfig clientConfig = withTls(TlsConfig.client(TlsFixtures.CLIENT));
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    try (PacketServer server =
        PacketServer.bind(LOOPBACK, serverConfig, echoReportingFailure(failure))) {
      String serverAddress = format(server.localAddress());
      String[] client = new String[1];
      String[] plain = new String[1];
      List<RecordedEvent> events =
          record(
              () -> {
                try (PacketConn conn = connect(server, clientConfig)) {
                  client[0] = format(conn.localAddress());
                  assertEchoes(conn);
                }
                awaitStats(server, s -> s.closedClean() == 1);
                try (Socket raw = socket(server)) {
                  plain[0] = format(raw.getLocalSocketAddress());
                  raw.getOutputStream().write(new byte[] {3, 0, 0, 0, 1, 2, 3});
                  awaitStats(server, s -> s.closedIoError() == 1);
                }
              });
      assertTrue(only(events, "ConnectionOpened", client[0], serverAddress).getBoolean("tls"));
      RecordedEvent clientSide = only(events, "TlsHandshake", client[0], serverAddress);
      RecordedEvent serverSide = only(events, "TlsHandshake", serverAddress, client[0]);
      for (RecordedEvent shake : List.of(clientSide, serverSide)) {
        assertTrue(shake.getBoolean("success"), shake.toString());
        assertEquals("TLSv1.3", shake.getString("protocol"));
        assertTrue(shake.getString("cipherSuite").startsWith("TLS_"), shake.toString());
        assertNull(shake.getString("failure"));
        assertTrue(shake.getDuration().toNanos() > 0, shake.toString());
      }
      assertTrue(clientSide.getBoolean("client"));
      assertEquals("CN=localhost", clientSide.getString("peerPrincipal"));
      assertFalse(serverSide.getBoolean("client"));
      assertNull(serverSide.getString("peerPrincipal"), "the server asked for no client certificate");

      RecordedEvent failed = only(events, "TlsHandshake", serverAddress, plain[0]);
      Throwable cause = failure.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertFalse(failed.getBoolean("success"));
      assertFalse(failed.getBoolean("client"));
      assertEquals(cause.toString(), failed.getString("failure"));
      assertTrue(
          failed.getString("failure").startsWith("javax.net.ssl.SSLHandshakeException: TLS handshake with "
              + plain[0] + " failed: "),
          failed.toString());
      assertNull(failed.getString("protocol"));
      assertEquals("IO_ERROR", only(events, "ConnectionClosed", serverAddress, plain[0]).getString("kind"));
    }
  }

  @Test
  void recordsAWriteStallThatClosesAConnection() throws Exception {
    PacketConfig config = PacketConfig.builder().writeStallTimeout(Duration.ofMillis(100)).build();
    try (ServerSocketChannel raw = ServerSocketChannel.open().bind(LOOPBACK)) {
      String peer = format(raw.getLocalAddress());
      String[] client = new String[1];
      Throwable[] cause = new Throwable[1];
      List<RecordedEvent> events =
          record(
              () -> {
                try (PacketConn conn = PacketConn.connect(raw.getLocalAddress(), config, null);
                    SocketChannel silent = raw.accept(); // And never read.
                    Packet p = Packet.of(new byte[1 << 20])) {
                  client[0] = format(conn.localAddress());
                  assertTrue(silent.isConnected());
                  try {
                    for (int i = 0; i < 256 && conn.send(p, Duration.ofMillis(50)); i++) {}
                  } catch (IllegalStateException closed) {
                    // The stall fired while the kernel's buffers still took the rest.
                  }
                  cause[0] = failureOf(conn.closeFuture());
                }
              });
      assertInstanceOf(SocketTimeoutException.class, cause[0]);
      RecordedEvent stall = only(events, "WriteStall", client[0], peer);
      assertTrue(stall.getDuration("stalled").toMillis() >= 100, stall.toString());
      assertTrue(stall.getLong("queuedBytes") > 0, stall.toString());
      RecordedEvent closed = only(events, "ConnectionClosed", client[0], peer);
      assertEquals("TIMEOUT", closed.getString("kind"));
      assertEquals(cause[0].toString(), closed.getString("cause"));
    }
  }

  @Test
  void recordsABackpressurePauseFromPauseToResume() throws Exception {
    // The echo's queue back to a client that does not read fills; the server stops reading it.
    PacketConfig small = PacketConfig.builder().sendQueueBytes(256 << 10).build();
    try (PacketServer server = PacketServer.bind(LOOPBACK, small, ECHO)) {
      String serverAddress = format(server.localAddress());
      String[] client = new String[1];
      List<RecordedEvent> events =
          record(
              () -> {
                try (PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
                  client[0] = format(conn.localAddress());
                  int sent;
                  try (Packet p = Packet.of(new byte[64 << 10])) {
                    sent = sendUntilFull(conn, i -> p); // The server stopped reading for 200 ms at least.
                  }
                  PacketConn served = server.connections().iterator().next();
                  awaitTrue(served::readingPaused, () -> "the server never paused " + served);
                  for (int i = 0; i < sent; i++) conn.receive(WAIT).release(); // It reads again.
                }
                awaitStats(server, s -> s.closedClean() == 1);
              });
      List<RecordedEvent> pauses = about(events, "Backpressure", serverAddress, client[0]);
      assertFalse(pauses.isEmpty(), events.toString());
      for (RecordedEvent pause : pauses) {
        assertEquals("send queue full", pause.getString("reason"));
        assertEquals(client[0], pause.getString("sendingTo"), "the echo sends to the client it reads");
        assertTrue(pause.getDuration().toMillis() >= 10, "below the default threshold: " + pause);
      }
      Duration longest = pauses.stream().map(RecordedEvent::getDuration).max(Comparator.naturalOrder()).get();
      assertTrue(longest.toMillis() >= 200, "longest pause " + longest);
    }
  }

  @Test
  void withoutARecordingTheHooksAllocateNothing() throws Exception {
    ConnectionEvents events = new ConnectionEvents(null); // Not recording: never looks at its connection.
    long[] self = {Thread.currentThread().threadId()};
    for (int i = 0; i < 20_000; i++) callEveryHook(events); // Warm up, so the JIT has its say.
    allocatedBytes(self); // The probe's first calls allocate tens of KB themselves.
    long before = allocatedBytes(self);
    for (int i = 0; i < 1_000_000; i++) callEveryHook(events);
    long allocated = allocatedBytes(self) - before;
    // A single 16-byte object per call would be 96 MB; the probe itself takes about 1.4 KB.
    assertTrue(allocated < 16 << 10, allocated + " bytes allocated by 6,000,000 calls");
  }

  private static void callEveryHook(ConnectionEvents events) {
    events.opened();
    events.paused(BackpressureEvent.SEND_QUEUE_FULL, null);
    events.resumed();
    events.handshakeBegins();
    events.writeStalled(1, 1);
    events.closed(CloseKind.CLEAN, null);
  }
}
