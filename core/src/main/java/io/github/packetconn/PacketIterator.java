package io.github.packetconn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The received packets of a connection, for {@code for (Packet p : conn)}: {@link #hasNext()}
 * receives, blocking, and the iteration ends when the stream ends cleanly.
 *
 * <p>Thread rule: one thread at a time, as for any iterator; it receives on that thread.
 */
final class PacketIterator implements Iterator<Packet> {
  private final PacketConn conn;
  private Packet next; // Received by hasNext(), not yet returned by next().
  private boolean done; // The stream ended.

  PacketIterator(PacketConn conn) {
    this.conn = conn;
  }

  @Override
  public boolean hasNext() {
    if (next == null && !done) {
      try {
        next = conn.receive();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      done = next == null;
    }
    return next != null;
  }

  @Override
  public Packet next() {
    if (!hasNext()) throw new NoSuchElementException();
    Packet packet = next;
    next = null;
    return packet;
  }
}
