package io.github.packetconn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/** An independent, obviously correct frame encoder for tests. */
final class Frames {
  private Frames() {}

  static byte[] encode(byte[] payload, boolean crc) {
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
