package io.github.packetconn.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;

/**
 * Reads a fuzzer input as FuzzedDataProvider lays it out: choices from the end, byte arrays from
 * the front. A choice is one byte, or two read high byte first, taken modulo the choice's range:
 * plain arithmetic that {@link Writer} inverts, so each seed is a named, reviewable list of
 * choices instead of opaque bytes. (Not {@code consumeInt(min, max)}: Jazzer returns an in-range
 * raw value as it is, which no simple writer inverts.) The fuzz tests' inputs and their seeds,
 * which {@link #checkSeeds} keeps in step with the files checked in.
 */
public final class Choices {
  private final FuzzedDataProvider data;

  /** Reads {@code data}. */
  public Choices(FuzzedDataProvider data) {
    this.data = data;
  }

  /** {@return one byte: true if odd} */
  public boolean flag() {
    return data.consumeBoolean();
  }

  /** {@return a number from min to max, at most 65535 apart} */
  public int pick(int min, int max) {
    int range = max - min;
    int raw = range <= 0xff ? data.consumeByte() & 0xff : data.consumeShort() & 0xffff;
    return min + raw % (range + 1);
  }

  /** {@return four bytes, the first read the highest} */
  public int int32() {
    return data.consumeInt();
  }

  /** {@return eight bytes, the first read the highest} */
  public long int64() {
    return data.consumeLong();
  }

  /** {@return up to {@code maxLength} bytes from the front} */
  public byte[] bytes(int maxLength) {
    return data.consumeBytes(maxLength);
  }

  /** {@return every byte not read yet} */
  public byte[] rest() {
    return data.consumeRemainingAsBytes();
  }

  /** Lays out choices so that {@link Choices} reads them back. */
  public static final class Writer {
    private final ByteArrayOutputStream front = new ByteArrayOutputStream();
    private final ByteArrayOutputStream back = new ByteArrayOutputStream(); // In reading order.

    /** Makes a fresh input. */
    public Writer() {}

    /** Adds a {@link Choices#flag()}. */
    public Writer flag(boolean value) {
      back.write(value ? 1 : 0);
      return this;
    }

    /** Adds a {@link Choices#pick(int, int)} that reads back as {@code value}. */
    public Writer pick(int value, int min, int max) {
      if (value < min || value > max || max - min > 0xffff) throw new IllegalArgumentException(value + " in [" + min + ", " + max + "]");
      int offset = value - min;
      if (max - min > 0xff) back.write(offset >> 8); // The first byte read is the high one.
      back.write(offset);
      return this;
    }

    /** Adds a {@link Choices#int32()}. */
    public Writer int32(int value) {
      for (int shift = 24; shift >= 0; shift -= 8) back.write(value >> shift);
      return this;
    }

    /** Adds a {@link Choices#int64()}. */
    public Writer int64(long value) {
      for (int shift = 56; shift >= 0; shift -= 8) back.write((int) (value >> shift));
      return this;
    }

    /** Adds a {@link Choices#bytes(int)} that reads back as {@code value}. */
    public Writer bytes(byte[] value) {
      front.writeBytes(value);
      return this;
    }

    /** {@return the input: the front, then {@code rest}, then the choices last to first} */
    public byte[] rest(byte[] rest) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(front.toByteArray());
      out.writeBytes(rest);
      byte[] choices = back.toByteArray();
      for (int i = choices.length - 1; i >= 0; i--) out.write(choices[i]);
      return out.toByteArray();
    }
  }

  /**
   * Checks that the resources {@code <TestClass>Inputs/<method>/<name>} hold {@code seeds}; with
   * {@code -Dpacketconn.writeSeeds=true}, writes them into src/test/resources instead.
   */
  public static void checkSeeds(Class<?> testClass, Map<String, byte[]> seeds) throws IOException {
    String dir = testClass.getSimpleName() + "Inputs/";
    boolean write = Boolean.getBoolean("packetconn.writeSeeds");
    for (Map.Entry<String, byte[]> seed : seeds.entrySet()) {
      if (write) {
        java.nio.file.Path path =
            java.nio.file.Path.of("src/test/resources", testClass.getPackageName().replace('.', '/'), dir + seed.getKey());
        java.nio.file.Files.createDirectories(path.getParent());
        java.nio.file.Files.write(path, seed.getValue());
        continue;
      }
      try (java.io.InputStream in = testClass.getResourceAsStream(dir + seed.getKey())) {
        assertTrue(in != null, () -> "missing seed " + dir + seed.getKey() + ": run with -Dpacketconn.writeSeeds=true");
        assertArrayEquals(seed.getValue(), in.readAllBytes(), () -> "stale seed " + dir + seed.getKey() + ": run with -Dpacketconn.writeSeeds=true");
      }
    }
  }
}
