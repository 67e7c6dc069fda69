package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

final class EchoServerMeterTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final EchoServerCommand.Meter meter =
      new EchoServerCommand.Meter(new PrintStream(bytes, true, StandardCharsets.UTF_8), 1000);

  @Test
  void idleServerPrintsNothing() {
    for (long second = 1; second <= 60; second++) meter.second(second, 0, 0, 1000 + second);

    assertEquals("", output());
  }

  @Test
  void busySecondsPrintALineEachAndTheFirstIdleOnePrintsOneLine() {
    meter.second(1, 0, 1, 1000); // A client connected and sent nothing yet.
    meter.second(2, 100, 1, 2600);
    meter.second(3, 300, 2, 5800);
    meter.second(4, 300, 0, 5900);
    meter.second(5, 300, 0, 6000);
    meter.second(6, 300, 0, 6100);

    assertEquals(
        """
            2 s           100 packets/s  average          100/s       1 connections      16 B allocated/packet
            3 s           200 packets/s  average          150/s       2 connections      16 B allocated/packet
            4 s  idle: 300 packets echoed so far, average 150/s over 2 s; 0 connections
        """,
        output());
  }

  @Test
  void trafficThatResumesPrintsAgainAndGoesIdleAgain() {
    meter.second(1, 10, 1, 1000);
    meter.second(2, 10, 1, 1000);
    meter.second(3, 10, 1, 1000);
    meter.second(4, 40, 1, 1000);
    meter.second(5, 40, 1, 1000);
    meter.second(6, 40, 1, 1000);

    assertEquals(
        """
            1 s            10 packets/s  average           10/s       1 connections       0 B allocated/packet
            2 s  idle: 10 packets echoed so far, average 10/s over 1 s; 1 connections
            4 s            30 packets/s  average           20/s       1 connections       0 B allocated/packet
            5 s  idle: 40 packets echoed so far, average 20/s over 2 s; 1 connections
        """,
        output());
  }

  @Test
  void stopPrintsTheSummaryAndSilencesLaterSeconds() {
    meter.second(1, 1_500_000, 3, 1000);
    meter.second(2, 2_000_000, 3, 1000);

    meter.stop(2_345_000_000L, 2_000_000, "");
    meter.second(3, 2_000_000, 0, 1000);

    assertEquals(
        """
            1 s     1,500,000 packets/s  average    1,500,000/s       3 connections       0 B allocated/packet
            2 s       500,000 packets/s  average    1,000,000/s       3 connections       0 B allocated/packet
        echo-server stopped after 2.3 s: 2,000,000 packets echoed, average 1,000,000/s over 2 s
        """,
        output());
  }

  private String output() {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
