package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
final class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @Test
  void demoVerifiesEveryEchoAgainstBothServerStyles() {
    int status = run("demo", "--seconds", "1");

    String output = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output + err.toString(StandardCharsets.UTF_8));
    assertTrue(output.contains("callback server (PacketHandler"), output);
    assertTrue(output.contains("blocking server (ConnectionHandler"), output);
    assertEquals(2, output.split("all echoes verified", -1).length - 1, output);
    assertTrue(
        output.matches("(?s).*\nOK: [\\d,]+ echoes verified, 0 mismatches, 0 errors\\.\n"), output);
    assertEquals("", err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void badValuePrintsTheReasonAndUsageAndExits2() {
    int status = run("echo-client", "--clients", "ten");

    assertEquals(2, status);
    assertEquals("", out.toString(StandardCharsets.UTF_8));
    assertEquals(
        "packetconn echo-client: --clients is not an integer: ten\n\n"
            + new EchoClientCommand().usage(),
        err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void unknownOptionExits2() {
    assertEquals(2, run("echo-server", "--verbose"));
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .startsWith(
                "packetconn echo-server: unknown option: --verbose\n\n"
                    + "Usage: packetconn echo-server"));
  }

  @Test
  void unknownCommandExits2() {
    assertEquals(2, run("echo-sever"));
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .startsWith("packetconn: unknown command: echo-sever\nUsage: packetconn COMMAND"));
  }

  @Test
  void helpPrintsUsageAndExits0() {
    assertEquals(0, run("echo-server", "--port", "bad", "--help"));
    assertEquals(new EchoServerCommand().usage(), out.toString(StandardCharsets.UTF_8));
    assertEquals("", err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpListsEveryCommandOfTheLauncherWithALineEach() {
    assertEquals(0, run("--help"));

    String usage = out.toString(StandardCharsets.UTF_8);
    for (String command :
        List.of("demo", "echo-server", "echo-client", "bench", "connections", "jmh")) {
      assertTrue(usage.matches("(?s).*\n  " + command + " +[a-z][^\n]{20,}\n.*"), usage);
    }
    for (String line : usage.split("\n")) {
      assertTrue(line.length() <= 100, "longer than 100 columns: " + line);
    }
    assertEquals("", err.toString(StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-h", "help"})
  void noArgumentsOrHelpInAnyFormListTheCommands(String arg) {
    assertEquals(0, arg.isEmpty() ? run() : run(arg));
    assertEquals(Main.usage(), out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void unknownCommandListsEveryCommand() {
    assertEquals(2, run("benchmark"));
    assertEquals(
        "packetconn: unknown command: benchmark\n" + Main.usage(),
        err.toString(StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(strings = {"demo", "echo-server", "echo-client"})
  void everyCommandsHelpPrintsItsUsageAndExits0(String command) {
    assertEquals(0, run(command, "--help"));
    String usage = out.toString(StandardCharsets.UTF_8);
    assertTrue(usage.startsWith("Usage: packetconn " + command + " "), usage);
    assertTrue(usage.contains("\n  --help            print this help\n"), usage);
  }

  @Test
  void benchmarkCommandPointsToTheLauncher() {
    assertEquals(2, run("jmh", "--help"));
    assertEquals("", out.toString(StandardCharsets.UTF_8));
    assertEquals(
        "packetconn: jmh is in the benchmarks jar: run it with the ./packetconn launcher, or java"
            + " -jar benchmarks/target/packetconn-benchmarks.jar jmh\n",
        err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void demoListensOnTheGivenPortWithBothServerStyles() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort(); // Free now, and free again once closed.
    }

    int status = run("demo", "--seconds", "0.2", "--port", Integer.toString(port));

    String output = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, output + err.toString(StandardCharsets.UTF_8));
    assertEquals(2, output.split(" on 127\\.0\\.0\\.1:" + port + "\n", -1).length - 1, output);
  }

  @Test
  void demoOnAPortInUseExits1NamingIt() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      assertEquals(1, run("demo", "--seconds", "0.2", "--port", Integer.toString(port)));

      assertTrue(
          err.toString(StandardCharsets.UTF_8)
              .startsWith("packetconn demo: cannot listen on 127.0.0.1:" + port + ": "),
          err.toString(StandardCharsets.UTF_8));
    }
  }

  private int run(String... args) {
    return Main.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }
}
