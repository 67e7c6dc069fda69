package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(60)
final class EchoLoadTest {
  private static final long SEED = 20240611L;
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

  @ParameterizedTest
  @EnumSource(EchoServer.Style.class)
  void countedRunVerifiesEveryEcho(EchoServer.Style style) throws Exception {
    List<String> failed = new CopyOnWriteArrayList<>();
    try (EchoServer server = EchoServer.start(LOOPBACK, PacketConfig.DEFAULT, style, failed::add)) {
      EchoLoad.Result result =
          EchoLoad.run(
              EchoLoad.Settings.counted(
                  server.localAddress(), PacketConfig.DEFAULT, 4, 250, 0, 4096, SEED),
              roundTrips -> {});

      assertTrue(result.ok(), () -> "seed " + SEED + ": " + result.failures());
      assertEquals(1000, result.roundTrips());
      assertEquals(1000, result.latencies().size());
      assertEquals(1000, server.echoed());
      assertTrue(result.payloadBytes() > 0);
    }
    assertEquals(List.of(), failed);
  }

  @Test
  void timedRunStopsWhenTimeIsUp() throws Exception {
    PacketConfig crc = PacketConfig.builder().crc(true).build();
    List<String> failed = new CopyOnWriteArrayList<>();
    try (EchoServer server =
        EchoServer.start(LOOPBACK, crc, EchoServer.Style.CALLBACK, failed::add)) {
      EchoLoad.Result result =
          EchoLoad.run(
              EchoLoad.Settings.timed(
                  server.localAddress(), crc, 3, Duration.ofSeconds(1), 0, 2048, SEED),
              roundTrips -> {});

      assertTrue(result.ok(), () -> "seed " + SEED + ": " + result.failures());
      assertTrue(result.roundTrips() > 0);
      assertEquals(server.echoed(), result.roundTrips());
      assertTrue(result.elapsedNanos() >= Duration.ofSeconds(1).toNanos());
      assertTrue(result.elapsedNanos() < Duration.ofSeconds(15).toNanos());
    }
    assertEquals(List.of(), failed);
  }

  @ParameterizedTest
  @EnumSource(EchoServer.Style.class)
  void crcOnlyOnTheClientFailsWithAHintOnBothSides(EchoServer.Style style) throws Exception {
    CompletableFuture<String> failed = new CompletableFuture<>();
    try (EchoServer server =
        EchoServer.start(LOOPBACK, PacketConfig.DEFAULT, style, failed::complete)) {
      PacketConfig crc = PacketConfig.builder().crc(true).build();
      EchoLoad.Result result =
          EchoLoad.run(
              EchoLoad.Settings.counted(server.localAddress(), crc, 1, 3, 1, 64, SEED),
              roundTrips -> {});

      assertEquals(1, result.errors().size(), () -> "seed " + SEED + ": " + result.failures());
      assertTrue(
          result.errors().get(0).startsWith("client 0, packet 0: java.net.SocketException: Connection reset")
              && result
                  .errors()
                  .get(0)
                  .endsWith(" (is it an echo server, with the same CRC setting?)"),
          result.errors().get(0));
      String line = failed.get(10, TimeUnit.SECONDS);
      assertTrue(
          line.matches(
              "connection from 127\\.0\\.0\\.1:\\d+ failed: java\\.net\\.ProtocolException:"
                  + " packet size \\d+ exceeds maxPacketSize 33554432"
                  + " \\(does the peer have crc enabled while this side does not\\?\\)"),
          line);
    }
  }

  @Test
  void changedByteIsReportedAsMismatch() throws Exception {
    PacketHandler flipFirstByte =
        (conn, packet) -> {
          try (packet) {
            byte[] bytes = packet.toByteArray();
            bytes[0] ^= 1;
            try (Packet echo = Packet.of(bytes)) {
              conn.send(echo);
            }
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, flipFirstByte)) {
      EchoLoad.Result result =
          EchoLoad.run(
              EchoLoad.Settings.counted(
                  (InetSocketAddress) server.localAddress(), PacketConfig.DEFAULT, 2, 20, 1, 64, SEED),
              roundTrips -> {});

      assertFalse(result.ok());
      assertEquals(40, result.roundTrips());
      assertEquals(40, result.mismatchCount());
      assertEquals(EchoLoad.MISMATCHES_KEPT, result.mismatches().size());
      assertEquals(0, result.mismatches().get(0).firstDifference());
      assertEquals(List.of(), result.errors());
      assertEquals("... and 30 more mismatches", result.failures().get(EchoLoad.MISMATCHES_KEPT));
    }
  }

  @Test
  void shortenedEchoIsReportedWithBothSizes() throws Exception {
    PacketHandler dropLastByte =
        (conn, packet) -> {
          try (packet) {
            try (Packet echo = Packet.of(packet.readBytes(packet.size() - 1))) {
              conn.send(echo);
            }
          }
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, dropLastByte)) {
      EchoLoad.Result result =
          EchoLoad.run(
              EchoLoad.Settings.counted(
                  (InetSocketAddress) server.localAddress(), PacketConfig.DEFAULT, 1, 1, 5, 5, SEED),
              roundTrips -> {});

      assertEquals(
          List.of("mismatch: client 0, packet 0: sent 5 bytes, received 4 bytes"),
          result.failures());
    }
  }

  @Test
  void refusedConnectionIsAnError() throws Exception {
    InetSocketAddress closed;
    try (ServerSocket socket = new ServerSocket(0, 1, LOOPBACK.getAddress())) {
      closed = new InetSocketAddress("127.0.0.1", socket.getLocalPort());
    }
    EchoLoad.Result result =
        EchoLoad.run(
            EchoLoad.Settings.counted(closed, PacketConfig.DEFAULT, 2, 10, 0, 16, SEED),
            roundTrips -> {});

    assertFalse(result.ok());
    assertEquals(0, result.roundTrips());
    assertEquals(2, result.errors().size());
    assertTrue(
        result.errors().get(0).matches("client \\d, packet 0: java.net.ConnectException: .*"),
        result.errors().get(0));
  }
}
