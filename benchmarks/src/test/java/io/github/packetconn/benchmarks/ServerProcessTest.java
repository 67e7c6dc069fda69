package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ServerProcessTest {
  private static List<String> command(String kind) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(
        List.of(
            "-Xmx64m",
            "-cp",
            System.getProperty("java.class.path"),
            ServerMain.class.getName(),
            "--kind",
            kind,
            "--port",
            "0"));
    return command;
  }

  @Test
  void statsAreAnsweredAndQuitEndsTheServer() throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    ServerProcess server;
    try (ServerProcess started =
        ServerProcess.start(
            "raw", command("raw"), new PrintStream(log, true, StandardCharsets.UTF_8))) {
      server = started;
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()));
      }
      JvmStats first = server.requestStats().get(10, TimeUnit.SECONDS);
      JvmStats second = server.requestStats().get(10, TimeUnit.SECONDS);
      assertTrue(second.allocatedBytes() >= first.allocatedBytes(), first + " then " + second);
    }
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("[raw] raw: listening on"), log::toString);
    assertTrue(server.requestStats().isCompletedExceptionally());
  }

  @Test
  void serverThatExitsBeforeReadyFailsToStart() {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                ServerProcess.start(
                    "bogus", command("bogus"), new PrintStream(log, true, StandardCharsets.UTF_8)));
    assertEquals("server bogus did not start: server bogus exited with status 2", e.getMessage());
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("[bogus] ServerMain: unknown --kind bogus"),
        log::toString);
  }
}
