package io.github.packetconn.examples.echo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.packetconn.PacketServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class EchoExampleTest {
  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void clientGetsItsKibibyteBack() throws Exception {
    try (PacketServer server = EchoServer.start(0)) {
      assertEquals(1024, EchoClient.roundTrip("127.0.0.1", server.port()));
    }
  }
}
