package io.github.packetconn;

import java.util.zip.CRC32;

/**
 * Encodes a packet that goes to many connections once, into a {@link FrameSlab}, so that each
 * member's queue holds a range of the slab instead of a copy (see docs/design.md, "Fan-out").
 *
 * <p>Encoders are striped: one per event loop, which a sender on that loop uses, and the sender
 * threads of the application spread over the same ones by thread id. Each holds the slab it
 * encodes into, so the memory idle groups pin is a slab per stripe, not per group.
 *
 * <p>Threads: any thread; each stripe's state is guarded by the stripe itself.
 */
final class FrameSharer {
  /** Frames shorter than this are copied into each queue: their copy costs less than a share. */
  static final int MIN_FRAME = 1 << 10;

  /**
   * A budget shares frames only if it holds this many slabs: each stripe keeps one charged while
   * idle, and a slab's unused tail counts too, so a small budget copies instead.
   */
  private static final int SLABS_PER_BUDGET = 64;

  private static final FrameSharer[] STRIPES = stripes();

  private final CRC32 crc32 = new CRC32();
  private final byte[] header = new byte[4];
  private FrameSlab slab; // Encoded into; null until the first frame, or after a failure.
  private int used; // Bytes of the slab taken by frames.
  private MemoryBudget budget; // The slab's.

  private FrameSharer() {}

  private static FrameSharer[] stripes() {
    FrameSharer[] stripes = new FrameSharer[EventLoop.count()];
    for (int i = 0; i < stripes.length; i++) stripes[i] = new FrameSharer();
    return stripes;
  }

  /**
   * {@return {@code packet} encoded once for queues counted in {@code budget}, with a CRC if {@code
   * crc}, or null if it is better copied: too short, longer than a slab, or no budget for a slab}
   * The caller holds the frame's slab until it has queued the frame, then lets go of it with {@code
   * frame.slab().release(1)}.
   */
  static SharedFrame encode(Packet packet, MemoryBudget budget, boolean crc) {
    int frame = 4 + packet.size() + (crc ? 4 : 0);
    if (frame < MIN_FRAME || frame > FrameSlab.SIZE || budget.limit() / SLABS_PER_BUDGET < FrameSlab.SIZE) {
      return null;
    }
    EventLoop loop = EventLoop.current();
    int stripe = loop != null ? loop.index : (int) Math.floorMod(Thread.currentThread().threadId(), (long) STRIPES.length);
    return STRIPES[stripe].encode(packet, frame, budget, crc);
  }

  private synchronized SharedFrame encode(Packet packet, int frame, MemoryBudget budget, boolean crc) {
    if (slab != null && (budget != this.budget || used + frame > FrameSlab.SIZE)) retire();
    if (slab == null) {
      slab = FrameSlab.take(budget);
      if (slab == null) return null;
      this.budget = budget;
      used = 0;
    }
    int start = used;
    int size = packet.size();
    byte[] payload = packet.array();
    slab.memory.putInt(start, size);
    slab.memory.put(start + 4, payload, 0, size);
    if (crc) {
      header[0] = (byte) size;
      header[1] = (byte) (size >> 8);
      header[2] = (byte) (size >> 16);
      header[3] = (byte) (size >>> 24);
      crc32.reset();
      crc32.update(header, 0, 4);
      crc32.update(payload, 0, size);
      slab.memory.putInt(start + 4 + size, (int) crc32.getValue());
    }
    used = start + frame;
    slab.retain(1); // The sender's hold, until it has queued the frame for every member.
    return new SharedFrame(slab, start, used, budget, crc);
  }

  /** Lets every stripe's slab go, as if each were full; for tests that count the slabs taken. */
  static void retireAll() {
    for (FrameSharer stripe : STRIPES) {
      synchronized (stripe) {
        if (stripe.slab != null) stripe.retire();
      }
    }
  }

  /** Stops encoding into the slab: it is recycled once the queues wrote what they hold of it. */
  private void retire() {
    FrameSlab old = slab;
    slab = null;
    old.release(1); // Under this stripe's lock: the budget's release takes only its own and queues'.
  }
}
