package io.github.packetconn.benchmarks;

import java.util.SplittableRandom;

/**
 * The payloads a {@link LoadGenerator} sends: packet {@code seq} of client {@code c} has a length
 * drawn uniformly from the workload's range and is the slice of one random {@link #pattern} that
 * starts at an offset below 65,536, both taken from a hash of {@code (seed, c, seq)}.
 *
 * <p>The hash is counter-based (SplitMix64's finaliser over a per-client key plus the sequence
 * number), so the writer can re-encode any frame from {@code (c, seq)} alone after a partial write
 * and the reader can check any echo against the same slice: no payload is ever stored. Generating
 * is a bulk copy from the pattern and checking is a vectorised {@code Arrays.mismatch}.
 *
 * <p>Immutable and safe to share; the pattern must not be modified.
 */
final class Payloads {
  /** Payloads start at an offset in {@code [0, OFFSETS)} of the pattern. */
  static final int OFFSETS = 65536;

  private static final long GOLDEN = 0x9E3779B97F4A7C15L; // 2^64 / phi, SplitMix64's increment.

  private final int minLength;
  private final long lengths; // maxLength - minLength + 1.
  private final long seed;
  final byte[] pattern; // maxLength + OFFSETS random bytes.

  Payloads(int minLength, int maxLength, long seed) {
    if (minLength < 0 || maxLength < minLength) {
      throw new IllegalArgumentException(
          "bad length range: [" + minLength + ", " + maxLength + "]");
    }
    this.minLength = minLength;
    this.lengths = (long) maxLength - minLength + 1;
    this.seed = seed;
    this.pattern = new byte[maxLength + OFFSETS];
    new SplittableRandom(seed).nextBytes(pattern);
  }

  /** {@return the key from which all payloads of {@code client} derive} */
  long clientKey(int client) {
    return mix(seed * GOLDEN + mix(client + 1L));
  }

  /** {@return the 64 random bits of packet {@code seq} of the client with {@code key}} */
  static long hash(long key, long seq) {
    return mix(key + seq * GOLDEN);
  }

  /** {@return the payload length for {@code hash}} */
  int length(long hash) {
    return minLength + (int) (((hash >>> 32) * lengths) >>> 32); // Lemire's multiply-shift.
  }

  /** {@return where in {@link #pattern} the payload for {@code hash} starts} */
  static int offset(long hash) {
    return (int) hash & (OFFSETS - 1);
  }

  private static long mix(long z) { // SplitMix64's finaliser (Stafford variant 13).
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
