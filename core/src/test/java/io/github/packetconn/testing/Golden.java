package io.github.packetconn.testing;

import io.github.packetconn.Packet;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The golden packets and the frames they make on the wire, in hex (README, "Wire format"), and the
 * helpers to write bytes as hex and back.
 */
public final class Golden {
  /** The frame of {@link #goldenHi()}: length 10, then {@code cdab 78563412 0200 6869}. */
  public static final String HI = "0a000000cdab7856341202006869";
  /** {@link #HI} with its CRC-32. */
  public static final String HI_CRC = "0a000000cdab7856341202006869551d0461";
  /** The frame of an empty packet. */
  public static final String EMPTY = "00000000";
  /** {@link #EMPTY} with its CRC-32. */
  public static final String EMPTY_CRC = "000000001cdf4421";
  /** The frame of {@link #goldenTyped()}. */
  public static final String TYPED = "1f00000001feffffffffffffff0000c03f000000000000d0bf0600000068c3a96c6c6f";

  private Golden() {}

  /** {@return a short 0xABCD, an int 0x12345678 and "hi" with a 16-bit length: 10 bytes} */
  public static Packet goldenHi() {
    return Packet.allocate().writeShort(0xABCD).writeInt(0x12345678).writeShortPrefixedString("hi");
  }

  /** {@return a boolean, a long, a float, a double and "héllo" with a 32-bit length: 31 bytes} */
  public static Packet goldenTyped() {
    return Packet.allocate()
        .writeBoolean(true)
        .writeLong(-2)
        .writeFloat(1.5f)
        .writeDouble(-0.25)
        .writeIntPrefixedString("héllo");
  }

  /** {@return the packet's whole payload in hex} */
  public static String hex(Packet packet) {
    return hex(packet.toByteArray());
  }

  /** {@return {@code bytes} in hex} */
  public static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  /** {@return the bytes {@code hex} spells} */
  public static byte[] bytes(String hex) {
    return HexFormat.of().parseHex(hex);
  }

  /** {@return {@code text} in US-ASCII: what a client of another protocol sends} */
  public static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}
