package io.github.packetconn;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * A non-blocking socket seen through an {@link SSLEngine}: {@link #read} returns plaintext, {@link
 * #write} takes plaintext, and the records, the handshake and the closing alert stay in here.
 *
 * <p>It never blocks: what the socket does not take now waits in {@link #wantsWrite() netOut} until
 * the I/O thread sees the socket writable. Reads may come from a receiver's thread while the I/O
 * thread writes: one lock serialises them (the engine is used by one thread at a time). Heap buffers,
 * since the JDK's engine encrypts faster from heap arrays than from direct buffers.
 */
final class TlsChannel implements Wire {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
  private static final String PEER_CLOSED = "the peer closed the connection during the TLS handshake";
  private static final String PEER_RESET = "the peer reset the connection during the TLS handshake";

  private final SocketChannel channel;
  private final SSLEngine engine;
  private final String peer; // For messages.
  private final ReentrantLock lock = new ReentrantLock();
  private final int recordSize; // The largest TLS record on the wire.
  private ByteBuffer netIn; // Records read and not yet decrypted; write mode.
  private final ByteBuffer netOut; // Records made and not yet written; write mode.
  private ByteBuffer appIn; // Plaintext decrypted and not yet read; read mode.
  private boolean underflow; // netIn holds only part of a record: the socket must give more.
  private volatile boolean established; // The first handshake finished.
  private boolean outboundClosed;
  private boolean inboundDone; // The peer's closing alert came: reads return -1 once appIn is empty.

  TlsChannel(SocketChannel channel, SSLEngine engine, String peer) {
    this.channel = channel;
    this.engine = engine;
    this.peer = peer;
    this.recordSize = engine.getSession().getPacketBufferSize();
    this.netIn = ByteBuffer.allocate(recordSize * 4);
    this.netOut = ByteBuffer.allocate(recordSize * 4);
    this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize()).flip();
  }

  /** Starts the handshake; a client's first flight is made (and written if the socket takes it). */
  void begin() throws IOException {
    lock.lock();
    try {
      try {
        engine.beginHandshake();
      } catch (SSLException e) {
        throw handshakeFailed(e);
      }
      handshake(); // Says what failed itself; wrapping that again repeated the whole message.
    } finally {
      lock.unlock();
    }
  }

  /** {@return true once the first handshake has finished: packets may flow} */
  boolean established() {
    return established;
  }

  /**
   * Moves the handshake on as far as the socket allows: reads and decrypts, runs the engine's tasks,
   * writes its replies. Plaintext that arrives with the last flight is kept for {@link #read}.
   *
   * @return true once established
   * @throws IOException a failed handshake, or the peer's end before it finished
   */
  boolean handshake() throws IOException {
    lock.lock();
    try {
      while (!established) {
        HandshakeStatus status = engine.getHandshakeStatus();
        switch (status) {
          case NEED_TASK -> runTasks();
          case NEED_WRAP -> {
            if (!wrap(EMPTY) || !flush()) return false; // Wait for the socket to take it.
          }
          case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
            if (underflow || netIn.position() == 0) {
              int n;
              try {
                n = channel.read(netIn);
              } catch (java.net.SocketException e) { // A plain server resets a ClientHello it cannot read.
                throw peerReset(e);
              }
              if (n < 0) {
                throw peerClosed();
              }
              if (n == 0) return false;
              underflow = false;
            }
            unwrap(null);
          }
          case FINISHED, NOT_HANDSHAKING -> established = true;
        }
      }
      return true;
    } catch (SSLException e) {
      throw handshakeFailed(e);
    } finally {
      lock.unlock();
    }
  }

  /** Reads plaintext into {@code dst}: as much as the socket has, up to its room; -1 at the end. */
  @Override
  public int read(ByteBuffer dst) throws IOException {
    lock.lock();
    try {
      int n = drainAppIn(dst);
      if (inboundDone) return n > 0 ? n : -1;
      while (dst.hasRemaining()) {
        if (!underflow && netIn.position() > 0) {
          int produced = unwrap(dst);
          if (produced < 0) return n > 0 ? n : -1; // The peer's closing alert.
          n += produced;
          continue;
        }
        int r = channel.read(netIn);
        if (r > 0) {
          underflow = false;
          continue;
        }
        if (r == 0) break;
        if (n > 0) return n; // The end next time.
        return endOfInput();
      }
      return n;
    } catch (SSLException e) {
      throw established ? e : handshakeFailed(e);
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@return true if plaintext, a whole record or the peer's closing alert waits in here: read again
   * without waiting for the socket}
   */
  @Override
  public boolean hasBufferedInput() {
    lock.lock();
    try {
      return inboundDone || appIn.hasRemaining() || (netIn.position() > 0 && !underflow);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return (int) write(new ByteBuffer[] {src}, 0, 1);
  }

  @Override
  public long write(ByteBuffer[] srcs) throws IOException {
    return write(srcs, 0, srcs.length);
  }

  /**
   * Encrypts from {@code srcs} and writes the records, until the sources are used up or the socket
   * is full; records made and not written wait for {@link #flush()}.
   *
   * @return the plaintext bytes taken
   */
  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    lock.lock();
    try {
      if (!established || !flush()) return 0;
      long taken = 0;
      while (remaining(srcs, offset, length) > 0) {
        if (netOut.remaining() < recordSize && !flush()) break;
        SSLEngineResult result = engine.wrap(srcs, offset, length, netOut);
        taken += result.bytesConsumed();
        if (result.bytesConsumed() == 0 && result.bytesProduced() == 0
            && result.getStatus() == SSLEngineResult.Status.OK) {
          break; // Nothing moves; try again when the socket is writable.
        }
        if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
          throw new SSLException("TLS session closed; " + remaining(srcs, offset, length) + " bytes not sent");
        }
        if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW && !flush()) break;
      }
      flush();
      return taken;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Writes the records waiting to be written.
   *
   * @return true if none is left
   */
  @Override
  public boolean flush() throws IOException {
    lock.lock();
    try {
      if (netOut.position() == 0) return true;
      netOut.flip();
      try {
        while (netOut.hasRemaining() && channel.write(netOut) > 0) {}
      } finally {
        netOut.compact();
      }
      return netOut.position() == 0;
    } finally {
      lock.unlock();
    }
  }

  /** {@return true if records wait for the socket to be writable} */
  @Override
  public boolean wantsWrite() {
    lock.lock();
    try {
      return netOut.position() > 0;
    } finally {
      lock.unlock();
    }
  }

  /** Makes the closing alert (close_notify); {@link #flush()} writes it. Idempotent. */
  @Override
  public void closeOutbound() throws IOException {
    lock.lock();
    try {
      if (outboundClosed) return;
      outboundClosed = true;
      engine.closeOutbound();
      while (!engine.isOutboundDone()) {
        if (!wrap(EMPTY)) break;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean isOpen() {
    return channel.isOpen();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** {@return the negotiated protocol, e.g. {@code TLSv1.3}, once established} */
  String protocol() {
    return engine.getSession().getProtocol();
  }

  SSLEngine engine() {
    return engine;
  }

  // ---- internals, lock held

  /**
   * Decrypts one record from {@code netIn} into {@code dst} (or, when null or too small, into
   * appIn, from which dst is then filled), and answers the handshake if it asks.
   *
   * @return the bytes put into dst, or -1 if the record was the peer's closing alert
   */
  private int unwrap(ByteBuffer dst) throws IOException {
    boolean direct = dst != null && dst.remaining() >= appIn.capacity() && !appIn.hasRemaining();
    ByteBuffer target = direct ? dst : appIn.compact();
    SSLEngineResult result;
    netIn.flip();
    try {
      result = engine.unwrap(netIn, target);
    } finally {
      netIn.compact();
      if (!direct) appIn.flip();
    }
    switch (result.getStatus()) {
      case BUFFER_UNDERFLOW -> {
        underflow = true;
        if (netIn.position() == netIn.capacity()) { // A record larger than we planned for.
          netIn = ByteBuffer.allocate(netIn.capacity() * 2).put(netIn.flip());
        }
      }
      case BUFFER_OVERFLOW -> { // appIn holds unread plaintext and the record needs more room.
        int size = Math.max(appIn.capacity() * 2, appIn.remaining() + engine.getSession().getApplicationBufferSize());
        appIn = ByteBuffer.allocate(size).put(appIn).flip();
      }
      case CLOSED -> { // Ours goes when this side closes: sending works until then, as over TCP.
        inboundDone = true;
        return dst == null || direct ? -1 : drainOrEnd(dst);
      }
      case OK -> {}
    }
    if (result.getHandshakeStatus() == HandshakeStatus.FINISHED) established = true;
    if (engine.getHandshakeStatus() == HandshakeStatus.NEED_TASK) runTasks();
    if (established && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
      wrap(EMPTY); // A reply the session needs (a key update): it goes out with the next flush.
      flush();
    }
    if (result.getStatus() == SSLEngineResult.Status.OK
        && result.bytesConsumed() == 0
        && result.bytesProduced() == 0) {
      underflow = true; // No progress without more bytes: read the socket before trying again.
    }
    if (dst == null) return 0;
    return direct ? result.bytesProduced() : drainAppIn(dst);
  }

  private int drainOrEnd(ByteBuffer dst) {
    int n = drainAppIn(dst);
    return n > 0 ? n : -1;
  }

  private int drainAppIn(ByteBuffer dst) {
    int n = Math.min(appIn.remaining(), dst.remaining());
    if (n == 0) return 0;
    int limit = appIn.limit();
    appIn.limit(appIn.position() + n);
    dst.put(appIn);
    appIn.limit(limit);
    return n;
  }

  /**
   * Wraps {@code src} (empty: handshake or closing messages) into netOut.
   *
   * @return false if netOut is full and could not be flushed
   */
  private boolean wrap(ByteBuffer src) throws IOException {
    while (true) {
      SSLEngineResult result = engine.wrap(src, netOut);
      if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
        if (!flush()) return false;
        continue;
      }
      if (engine.getHandshakeStatus() == HandshakeStatus.NEED_TASK) runTasks();
      if (result.getHandshakeStatus() == HandshakeStatus.FINISHED) established = true;
      return true;
    }
  }

  private void runTasks() {
    for (Runnable task; (task = engine.getDelegatedTask()) != null; ) task.run(); // On this thread.
  }

  /** The socket ended: a clean end after the closing alert; otherwise say what was cut. */
  private int endOfInput() throws IOException {
    if (!established) {
      throw peerClosed();
    }
    try {
      engine.closeInbound();
    } catch (SSLException e) { // No closing alert: the stream may have been cut by an attacker.
      if (netIn.position() > 0) {
        throw new EOFException("end of stream inside a TLS record (" + netIn.position() + " bytes)");
      }
    }
    return -1;
  }

  private SSLHandshakeException peerClosed() {
    return new SSLHandshakeException(
        PEER_CLOSED + " (" + peer + "; does it speak TLS, and accept our certificate?)");
  }

  private SSLHandshakeException peerReset(java.net.SocketException e) {
    SSLHandshakeException reset =
        new SSLHandshakeException(PEER_RESET + " (" + peer + "; does it speak TLS, and accept our certificate?)");
    reset.initCause(e);
    return reset;
  }

  private SSLException handshakeFailed(SSLException e) {
    if (e instanceof SSLHandshakeException && e.getMessage() != null
        && (e.getMessage().startsWith(PEER_CLOSED) || e.getMessage().startsWith(PEER_RESET))) {
      return e; // Ours, already saying what happened.
    }
    // "Unsupported or unrecognized SSL message" (JDK 21), "Unrecognized SSL message" (JDK 25).
    String hint =
        e.getMessage() != null && e.getMessage().contains("nrecognized SSL message")
            ? " (is the peer speaking plain packetconn, without TLS?)"
            : "";
    SSLHandshakeException failed =
        new SSLHandshakeException("TLS handshake with " + peer + " failed: " + e.getMessage() + hint);
    failed.initCause(e);
    return failed;
  }

  private static long remaining(ByteBuffer[] buffers, int offset, int length) {
    long n = 0;
    for (int i = offset; i < offset + length; i++) n += buffers[i].remaining();
    return n;
  }
}
