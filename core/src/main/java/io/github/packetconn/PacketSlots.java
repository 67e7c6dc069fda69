package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The packets a {@link ReceiveQueue} holds for its receivers, which take them without the queue's
 * lock: a receiver claims the next packet with one compare-and-set of a word packing a generation,
 * the number of packets published and the number taken. The lock and the unlock it replaced were
 * 12 ns of the ~53 that a small packet's Java costs a blocking echo (docs/design.md, "Receive
 * path").
 *
 * <p>Why it is safe: a slot below the published end never changes while it can still be claimed (new
 * packets go behind it); slots are rewritten from the start, or the array is swapped for the
 * publisher's (which then refills the old one), only once every packet is taken, and then under a
 * new generation, so a receiver that read the word before the rewrite fails its compare-and-set
 * and looks again, whatever it read from whichever array. A receiver reads the slot before it
 * claims it, so the packet it returns is the one the word it claimed described.
 *
 * <p>Memory: an array grows with the largest read (a 256 KiB read of empty frames is 65,536
 * packets). The caller keeps a burst's arrays only while reads stay large, and {@link #tidy()}s
 * the slots when its connection goes idle: a burst pins nothing to a connection for ever, and no
 * taken slot's stale handle keeps a packet (or, if the application dropped it unreleased, its
 * storage) alive.
 *
 * <p>Thread rule: {@link #poll()} and {@link #isEmpty()} on any thread, without a lock; {@link
 * #publish}, {@link #swap} and {@link #tidy} on one thread at a time (under the queue's lock).
 */
final class PacketSlots {
  /** The most packets published at once; what does not fit waits in the caller's list. */
  static final int MAX = 0xFFFF;

  /** Arrays up to this long are kept for the next publish; a longer one only while it is needed. */
  static final int KEEP = 1024;

  /** Up to this many taken slots may keep their stale handles while the connection is idle. */
  private static final int TIDY = 64;

  private static final VarHandle WORD;

  static {
    WORD = VarHandles.field(MethodHandles.lookup(), "word", long.class);
  }

  private volatile long word; // generation << 32 | published << 16 | taken
  private volatile Packet[] slots = new Packet[16]; // [taken, published) are there to claim.

  /** {@return the next packet, now the caller's, or null if none is left} Any thread. */
  Packet poll() {
    for (long w = word; taken(w) != published(w); w = word) {
      Packet[] a = slots; // Maybe a newer, smaller array than w's: then the claim below fails.
      int i = taken(w);
      if (i >= a.length) continue;
      Packet packet = a[i]; // Before the claim: see the class comment.
      if (WORD.compareAndSet(this, w, w + 1)) return packet;
    }
    return null;
  }

  /** {@return true if every published packet has been taken} Any thread. */
  boolean isEmpty() {
    long w = word;
    return taken(w) == published(w);
  }

  /**
   * Publishes the first {@code count} packets of {@code batch}, which the slots keep as their array,
   * when every packet published before has been taken; no packet is copied. One thread at a time.
   *
   * @return the array the slots had, cleared, for the caller to fill next
   * @throws IllegalStateException if packets are still there to take, or {@code count} exceeds {@link #MAX}
   */
  Packet[] swap(Packet[] batch, int count) {
    // Nobody can claim: every packet is taken. A receiver that read the old array and word fails
    // its claim once the word below is written, however the caller refills that array meanwhile.
    long w = word;
    if (taken(w) != published(w) || count > MAX) {
      throw new IllegalStateException(
          "swap with " + (published(w) - taken(w)) + " packets left, " + count + " new");
    }
    Packet[] old = slots;
    slots = batch;
    word = ((w >>> 32) + 1) << 32 | (long) count << 16;
    Arrays.fill(old, 0, published(w), null); // Taken: let the GC have the handles.
    return old;
  }

  /**
   * Publishes packets from the head of {@code from}, in order, as many as fit (at most {@link #MAX}
   * wait at once); the rest stay in {@code from}. One thread at a time.
   */
  void publish(ArrayDeque<Packet> from) {
    long w = word; // Receivers may take meanwhile: only the taken count moves under us.
    int published = published(w);
    Packet[] a = slots;
    if (taken(w) == published) { // All taken: nobody can claim until we publish. Start again at 0.
      int n = Math.min(from.size(), MAX);
      if (n > a.length) {
        a = new Packet[Math.max(n, 2 * a.length)];
      } else if (a.length > KEEP && n <= KEEP) { // The burst is over: do not keep its array.
        a = new Packet[Math.max(n, 16)];
      } else {
        for (int i = n; i < published; i++) a[i] = null; // Taken: let the GC have the handles.
      }
      for (int i = 0; i < n; i++) a[i] = from.pollFirst();
      slots = a;
      word = ((w >>> 32) + 1) << 32 | (long) n << 16; // A new generation: stale claims fail.
      return;
    }
    int n = Math.min(from.size(), MAX - published); // Behind the packets still there.
    if (n == 0) return;
    if (published + n > a.length) {
      Packet[] bigger = new Packet[Math.max(published + n, 2 * a.length)];
      System.arraycopy(a, 0, bigger, 0, published); // The same packets at the same places.
      a = bigger;
    }
    for (int i = 0; i < n; i++) a[published + i] = from.pollFirst();
    slots = a;
    for (long v = word; !WORD.compareAndSet(this, v, v + ((long) n << 16)); v = word) {
      // Only the taken count moved: try again with it.
    }
  }

  /**
   * {@return true if {@link #tidy()} would free something: a burst's array, or more than a few
   * stale handles} Any thread, without a lock: a hint.
   */
  boolean untidy() {
    return published(word) > TIDY || slots.length > KEEP;
  }

  /**
   * Once every packet is taken, clears the taken slots and lets a burst's array go, as if nothing
   * had been published. Does nothing while packets are there to take. One thread at a time.
   */
  void tidy() {
    long w = word;
    if (taken(w) != published(w)) return;
    Packet[] a = slots;
    if (a.length > KEEP) {
      slots = new Packet[16];
    } else {
      Arrays.fill(a, 0, published(w), null);
    }
    word = ((w >>> 32) + 1) << 32; // Nothing published; a receiver with an older word fails its claim.
  }

  /** {@return the length of the array and how many of its slots hold a handle; for tests} */
  int[] footprint() {
    Packet[] a = slots;
    int held = 0;
    for (Packet p : a) if (p != null) held++;
    return new int[] {a.length, held};
  }

  private static int taken(long word) {
    return (int) word & MAX;
  }

  private static int published(long word) {
    return (int) (word >>> 16) & MAX;
  }
}
