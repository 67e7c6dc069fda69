package io.github.packetconn.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/** An independent, obviously correct frame encoder for tests. */
public final class Frames {
  private Frames() {}

  /** {@return {@code payload} framed: its length, little-endian, the payload, and with {@code crc} its CRC-32} */
  public static byte[] encode(byte[] payload, boolean crc) {
    ByteBuffer frame = ByteBuffer.allocate(4 + payload.length + (crc ? 4 : 0)).order(ByteOrder.LITTLE_ENDIAN);
    frame.putInt(payload.length).put(payload);
    if (crc) {
      CRC32 checksum = new CRC32();
      checksum.update(frame.array(), 0, 4 + payload.length);
      frame.putInt((int) checksum.getValue());
    }
    return frame.array();
  }
}
