package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
  void noArgumentsListsTheCommands() {
    assertEquals(0, run());
    String usage = out.toString(StandardCharsets.UTF_8);
    for (String command : List.of("demo", "echo-server", "echo-client")) {
      assertTrue(usage.contains("\n  " + command + " "), usage);
    }
  }

  private int run(String... args) {
    return Main.run(
        List.of(args),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }
}
