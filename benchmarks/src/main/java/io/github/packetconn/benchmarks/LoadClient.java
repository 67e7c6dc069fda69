package io.github.packetconn.benchmarks;

import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One connection of a {@link LoadGenerator}: its socket and the few counters that stand in for
 * per-client buffers. Payloads are recomputed from {@code (key, seq)}, so a client stores no bytes
 * at all, only where its writer and its reader are.
 *
 * <p>Confined to the generator's thread.
 */
final class LoadClient {
  final int id;
  final long key; // Payloads.clientKey(id).
  final SocketChannel channel;
  final long[] sentAt; // nanoTime of the write that sent seq's first byte, at seq & slotMask.
  final int slotMask; // sentAt.length - 1: a power of two, so no division per packet.
  SelectionKey selectionKey;
  boolean open = true;
  boolean writeInterest; // OP_WRITE registered: the socket took only part of the last write.
  TlsConnection tls; // Null over plain TCP; set once connected, when the generator speaks TLS.
  boolean handshaken; // Over TLS: the handshake is finished.

  long writeSeq; // The next packet to write, or the one written in part.
  int writeOffset; // Bytes of frame writeSeq (header included) already written.

  long readSeq; // The next echo expected.
  int headerBytes; // 0..3 while reading a length prefix, 4 while reading a payload.
  int header; // The prefix bytes read so far, little-endian.
  int remaining; // Payload bytes of the current echo still to read.
  int echoLength; // Payload length of the current echo.
  int patternPosition; // Where the next payload byte should be in the pattern.
  boolean expected; // The current echo answers packet readSeq (false: nothing was in flight).
  boolean checking; // The current echo's bytes are still compared (false after its first error).

  LoadClient(int id, long key, int inFlight, SocketChannel channel) {
    this.id = id;
    this.key = key;
    this.channel = channel;
    this.sentAt = new long[Integer.highestOneBit(Math.max(1, inFlight - 1)) << 1];
    this.slotMask = sentAt.length - 1;
  }

  /** {@return packets sent in full or in part whose echo has not been read in full} */
  long inFlight() {
    return writeSeq + (writeOffset > 0 ? 1 : 0) - readSeq;
  }
}
