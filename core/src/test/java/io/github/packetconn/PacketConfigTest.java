package io.github.packetconn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class PacketConfigTest {
  @Test
  void defaults() {
    PacketConfig c = PacketConfig.DEFAULT;
    assertEquals(32 << 20, c.maxPacketSize());
    assertFalse(c.crc());
    assertTrue(c.tcpNoDelay());
    assertEquals(Duration.ZERO, c.flushDelay());
    assertEquals(4 << 20, c.sendQueueBytes());
    assertEquals(Duration.ofSeconds(10), c.connectTimeout());
    assertEquals(Duration.ZERO, c.readIdleTimeout());
    assertEquals(Duration.ZERO, c.writeStallTimeout());
    assertEquals(Duration.ZERO, c.idleInterval());
    assertFalse(c.tcpKeepAlive());
    assertEquals(c, c.toBuilder().build(), "toBuilder keeps every setting");
  }

  @Test
  void invalidValuesAreRejectedWithTheirValues() {
    expect("maxPacketSize <= 0: 0", b -> b.maxPacketSize(0));
    expect("maxPacketSize > 2147483639 (the largest Java array): 2147483640", b -> b.maxPacketSize(Integer.MAX_VALUE - 7));
    expect("readBufferSize < 1024: 10", b -> b.readBufferSize(10));
    expect("writeBufferSize < 1024: 0", b -> b.writeBufferSize(0));
    expect("sendQueueBytes <= 0: 0", b -> b.sendQueueBytes(0));
    expect("flushDelay < 0: PT-0.001S", b -> b.flushDelay(Duration.ofMillis(-1)));
    expect(
        "maxFlushDelay(PT0.001S) < flushDelay(PT0.002S)",
        b -> b.flushDelay(Duration.ofMillis(2)).maxFlushDelay(Duration.ofMillis(1)));
    expect("closeTimeout <= 0: PT0S", b -> b.closeTimeout(Duration.ZERO));
    expect("connectTimeout <= 0: PT0S", b -> b.connectTimeout(Duration.ZERO));
    expect("readIdleTimeout < 0: PT-0.001S", b -> b.readIdleTimeout(Duration.ofMillis(-1)));
    expect("writeStallTimeout < 0: PT-1S", b -> b.writeStallTimeout(Duration.ofSeconds(-1)));
    expect("idleInterval < 0: PT-0.05S", b -> b.idleInterval(Duration.ofMillis(-50)));
  }

  private static void expect(String message, UnaryOperator<PacketConfig.Builder> change) {
    PacketConfig.Builder builder = change.apply(PacketConfig.builder());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
    assertEquals(message, e.getMessage());
  }
}
