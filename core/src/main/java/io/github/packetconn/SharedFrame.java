package io.github.packetconn;

/**
 * One frame encoded once into a {@link FrameSlab}, for the queues of many connections: bytes {@code
 * start} to {@code end} of the slab, encoded with or without a CRC, for queues that count their
 * memory in {@code budget}. A queue that holds it counts its bytes in the slab until it wrote them.
 */
record SharedFrame(FrameSlab slab, int start, int end, MemoryBudget budget, boolean crc) {
  int length() {
    return end - start;
  }
}
