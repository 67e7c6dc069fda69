package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

final class OptionsTest {
  private static final Set<String> FLAGS = Set.of("--crc");
  private static final Set<String> VALUED = Set.of("--port", "--style");

  @Test
  void parsesSeparateAndJoinedValuesAndFlags() throws UsageException {
    Options options =
        Options.parse(List.of("--port", "80", "--style=blocking", "--crc"), FLAGS, VALUED);
    assertEquals(80, options.intValue("--port", 1, 0, 65535));
    assertEquals(EchoServer.Style.BLOCKING, options.choice("--style", EchoServer.Style.CALLBACK));
    assertTrue(options.flag("--crc"));
  }

  @Test
  void absentOptionsTakeTheirDefaults() throws UsageException {
    Options options = Options.parse(List.of(), FLAGS, VALUED);
    assertEquals(14572, options.intValue("--port", 14572, 0, 65535));
    assertEquals(EchoServer.Style.CALLBACK, options.choice("--style", EchoServer.Style.CALLBACK));
    assertFalse(options.flag("--crc"));
  }

  @Test
  void unknownOptionThrows() {
    assertMessage("unknown option: --prot", "--prot", "80");
  }

  @Test
  void strayArgumentThrows() {
    assertMessage("unexpected argument: 80", "80");
  }

  @Test
  void missingValueThrows() {
    assertMessage("--port needs a value", "--port");
    assertMessage("--port needs a value", "--port", "--crc");
    assertMessage("--port needs a value", "--port=");
  }

  @Test
  void flagWithValueThrows() {
    assertMessage("--crc takes no value: --crc=yes", "--crc=yes");
  }

  @Test
  void optionGivenTwiceThrows() {
    assertMessage("--port given twice: 1 and 2", "--port", "1", "--port=2");
    assertMessage("--crc given twice", "--crc", "--crc");
  }

  @Test
  void badIntegerThrows() throws UsageException {
    assertIntMessage("--port is not an integer: http", "http");
    assertIntMessage("--port is not an integer: 1.5", "1.5");
    assertIntMessage("--port > 65535: 70000", "70000");
    assertIntMessage("--port < 0: -1", "-1");
  }

  @Test
  void badChoiceThrows() throws UsageException {
    Options options = Options.parse(List.of("--style", "async"), FLAGS, VALUED);
    UsageException e =
        assertThrows(
            UsageException.class, () -> options.choice("--style", EchoServer.Style.CALLBACK));
    assertEquals("--style is not one of callback, blocking: async", e.getMessage());
  }

  @Test
  void echoClientRejectsMinAboveMax() {
    UsageException e =
        assertThrows(
            UsageException.class,
            () -> EchoClientCommand.parse(List.of("--min", "3000", "--max", "2048")));
    assertEquals("--min(3000) > --max(2048)", e.getMessage());
  }

  @Test
  void echoClientRejectsZeroClients() {
    UsageException e =
        assertThrows(
            UsageException.class, () -> EchoClientCommand.parse(List.of("--clients", "0")));
    assertEquals("--clients < 1: 0", e.getMessage());
  }

  @Test
  void echoClientDefaults() throws UsageException {
    EchoLoad.Settings settings = EchoClientCommand.parse(List.of("--seed", "-5"));
    assertEquals("127.0.0.1:14572", Options.text(settings.address()));
    assertEquals(10, settings.clients());
    assertEquals(1000, settings.packets());
    assertEquals(0, settings.minSize());
    assertEquals(2048, settings.maxSize());
    assertEquals(-5, settings.seed());
    assertFalse(settings.config().crc());
  }

  @Test
  void demoDefaultsToThreeSecondsOnAnyFreePort() throws UsageException {
    assertEquals(new DemoCommand.Settings(Duration.ofSeconds(3), 0), DemoCommand.parse(List.of()));
  }

  @Test
  void demoTakesAPort() throws UsageException {
    assertEquals(14572, DemoCommand.parse(List.of("--port", "14572")).port());
    UsageException e =
        assertThrows(UsageException.class, () -> DemoCommand.parse(List.of("--port", "65536")));
    assertEquals("--port > 65535: 65536", e.getMessage());
  }

  @Test
  void demoSecondsAcceptDecimalsAndRejectZero() throws UsageException {
    assertEquals(
        Duration.ofMillis(1500), DemoCommand.parse(List.of("--seconds", "1.5")).total());
    UsageException e =
        assertThrows(UsageException.class, () -> DemoCommand.parse(List.of("--seconds", "0")));
    assertEquals("--seconds < 0.1: 0", e.getMessage());
    e = assertThrows(UsageException.class, () -> DemoCommand.parse(List.of("--seconds", "NaN")));
    assertEquals("--seconds < 0.1: NaN", e.getMessage());
  }

  private static void assertMessage(String expected, String... args) {
    UsageException e =
        assertThrows(UsageException.class, () -> Options.parse(List.of(args), FLAGS, VALUED));
    assertEquals(expected, e.getMessage());
  }

  private static void assertIntMessage(String expected, String value) throws UsageException {
    Options options = Options.parse(List.of("--port", value), FLAGS, VALUED);
    UsageException e =
        assertThrows(UsageException.class, () -> options.intValue("--port", 14572, 0, 65535));
    assertEquals(expected, e.getMessage());
  }
}
