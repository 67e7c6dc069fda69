package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * The TLS side of one {@link LoadClient}: an {@link SSLEngine} over its non-blocking socket, read
 * and written like the socket itself, plaintext in and out, so the generator's framing and checks
 * do not change.
 *
 * <p>Ciphertext passes through two buffers the generator shares between all its clients ({@code
 * netIn}, {@code netOut}; heap, like the plaintext ones). A client keeps only what the shared
 * buffers could not finish with: the start of a record that has not fully arrived (at most one
 * record) and ciphertext its socket did not take. Both buffers are allocated the first time they
 * are needed and then reused; in steady state only the {@code SSLEngine} allocates (its results,
 * its cipher's internals).
 *
 * <p>A read takes no more ciphertext than fits in the plaintext buffer it fills with a whole
 * record's plaintext to spare ({@link SSLEngine#unwrap} asks for that much room), so that buffer
 * must hold two records at least. Confined to the generator's thread.
 */
final class TlsConnection {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  private final SSLEngine engine;
  private final SocketChannel channel;
  private final int recordSize; // The engine's largest record, header included.
  private final int plaintextSize; // The engine's largest record's plaintext.
  private ByteBuffer pendingIn; // A record's first bytes, read mode; null until one is split.
  private ByteBuffer pendingOut; // Ciphertext the socket has not taken, read mode; null until some.
  private boolean handshaken;

  TlsConnection(SSLEngine engine, SocketChannel channel) {
    this.engine = engine;
    this.channel = channel;
    this.recordSize = engine.getSession().getPacketBufferSize();
    this.plaintextSize = engine.getSession().getApplicationBufferSize();
  }

  /** {@return the engine, e.g. for its negotiated session} */
  SSLEngine engine() {
    return engine;
  }

  /**
   * Moves the handshake on as far as the socket allows, without blocking.
   *
   * @return true once it is finished
   * @throws IOException if it failed, or the server closed the connection
   */
  boolean handshake(ByteBuffer netIn, ByteBuffer netOut, ByteBuffer scratch) throws IOException {
    while (!handshaken) {
      if (!flush()) return false;
      switch (engine.getHandshakeStatus()) {
        case NEED_TASK -> runTasks();
        case NEED_WRAP -> wrapControl(netOut);
        case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
          scratch.clear(); // The server sends no data before the handshake ends.
          if (read(netIn, scratch, netOut, true) < 0) {
            throw new SSLException("server closed the connection during the handshake");
          }
          if (needsUnwrap()) return false; // Every record read is used: wait for more.
        }
        case FINISHED, NOT_HANDSHAKING -> handshaken = true;
      }
    }
    return flush();
  }

  private boolean needsUnwrap() {
    HandshakeStatus status = engine.getHandshakeStatus();
    return status == HandshakeStatus.NEED_UNWRAP || status == HandshakeStatus.NEED_UNWRAP_AGAIN;
  }

  /** {@return whether ciphertext waits for the socket to take it} */
  boolean hasPendingOutput() {
    return pendingOut != null && pendingOut.hasRemaining();
  }

  /**
   * Encrypts what {@code src} holds into records and writes them.
   *
   * @return the plaintext bytes taken, 0 while earlier ciphertext still waits for the socket
   */
  int write(ByteBuffer src, ByteBuffer netOut) throws IOException {
    if (!flush()) return 0;
    int start = src.position();
    netOut.clear();
    while (src.hasRemaining() && netOut.remaining() >= recordSize) {
      SSLEngineResult result = engine.wrap(src, netOut);
      if (result.getStatus() != SSLEngineResult.Status.OK) {
        throw new SSLException("wrap: " + result.getStatus());
      }
    }
    netOut.flip();
    channel.write(netOut);
    if (netOut.hasRemaining()) keep(netOut);
    return src.position() - start;
  }

  /**
   * Reads what the socket has and decrypts it into {@code dst}, from its position on.
   *
   * @return the plaintext bytes added, or -1 at the end of the stream or on close_notify
   */
  int read(ByteBuffer netIn, ByteBuffer dst, ByteBuffer netOut) throws IOException {
    return read(netIn, dst, netOut, false);
  }

  private int read(ByteBuffer netIn, ByteBuffer dst, ByteBuffer netOut, boolean handshaking)
      throws IOException {
    // Read no more than fits in dst with a record's plaintext to spare: an unwrap asks for room
    // for a whole record, whatever the record's size.
    netIn.clear().limit(Math.min(netIn.capacity(), dst.remaining() - plaintextSize));
    if (pendingIn != null && pendingIn.hasRemaining()) netIn.put(pendingIn);
    int count = channel.read(netIn);
    if (count < 0) return -1;
    netIn.flip();
    int start = dst.position();
    boolean closed = false;
    while (netIn.hasRemaining()) {
      SSLEngineResult result = engine.unwrap(netIn, dst);
      SSLEngineResult.Status status = result.getStatus();
      if (status == SSLEngineResult.Status.BUFFER_UNDERFLOW) break; // A record not all here yet.
      if (status == SSLEngineResult.Status.CLOSED) {
        closed = true;
        break;
      }
      if (status == SSLEngineResult.Status.BUFFER_OVERFLOW) {
        throw new SSLException(
            "unwrap: BUFFER_OVERFLOW with " + dst.remaining() + " bytes free for a record");
      }
      HandshakeStatus next = result.getHandshakeStatus();
      if (next == HandshakeStatus.NEED_TASK) {
        runTasks();
        next = engine.getHandshakeStatus();
      }
      if (next == HandshakeStatus.NEED_WRAP) {
        if (handshaking) break; // The handshake loop answers, then reads what is left.
        wrapControl(netOut); // A key update: answer it at once.
      }
      if (handshaking && (next == HandshakeStatus.FINISHED || next == HandshakeStatus.NOT_HANDSHAKING)) {
        break;
      }
    }
    if (netIn.hasRemaining()) {
      if (pendingIn == null) pendingIn = ByteBuffer.allocate(Math.max(recordSize, netIn.remaining()));
      pendingIn.clear();
      pendingIn.put(netIn).flip();
    } else if (pendingIn != null) {
      pendingIn.clear().flip();
    }
    int produced = dst.position() - start;
    return closed && produced == 0 ? -1 : produced;
  }

  /** Sends close_notify if nothing is left half-written; never blocks, never throws. */
  void closeQuietly(ByteBuffer netOut) {
    if (!handshaken || hasPendingOutput()) return;
    try {
      engine.closeOutbound();
      netOut.clear();
      engine.wrap(EMPTY, netOut);
      netOut.flip();
      channel.write(netOut);
    } catch (IOException | RuntimeException ignored) {
      // The socket closes next anyway: close_notify is a courtesy to the server's logs.
    }
  }

  /** Produces a handshake or control record and writes it, keeping what the socket leaves. */
  private void wrapControl(ByteBuffer netOut) throws IOException {
    netOut.clear();
    SSLEngineResult result = engine.wrap(EMPTY, netOut);
    if (result.getStatus() != SSLEngineResult.Status.OK) {
      throw new SSLException("wrap: " + result.getStatus() + " during " + result.getHandshakeStatus());
    }
    netOut.flip();
    if (hasPendingOutput()) {
      keep(netOut);
      return;
    }
    channel.write(netOut);
    if (netOut.hasRemaining()) keep(netOut);
  }

  /** Appends {@code ciphertext} to what waits for the socket. */
  private void keep(ByteBuffer ciphertext) {
    int waiting = pendingOut == null ? 0 : pendingOut.remaining();
    int needed = waiting + ciphertext.remaining();
    if (pendingOut == null || pendingOut.capacity() < needed) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(needed, recordSize));
      if (pendingOut != null) bigger.put(pendingOut);
      pendingOut = bigger;
    } else {
      pendingOut.compact();
    }
    pendingOut.put(ciphertext).flip();
  }

  /** Writes what waits; {@return whether nothing waits any more} */
  boolean flush() throws IOException {
    if (!hasPendingOutput()) return true;
    channel.write(pendingOut);
    return !pendingOut.hasRemaining();
  }

  private void runTasks() {
    Runnable task;
    while ((task = engine.getDelegatedTask()) != null) task.run();
  }
}
