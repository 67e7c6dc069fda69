package io.github.packetconn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * The bytes of one connection as the rest of the core sees them, plain or through TLS: reads give
 * payload bytes, gathering writes take the send queue's chunks. TLS adds what a plain socket never
 * has: records waiting for the socket ({@link #flush()}, {@link #wantsWrite()}), plaintext already
 * decrypted that the selector cannot see ({@link #hasBufferedInput()}), and a closing alert.
 *
 * <p>Thread rule: as the socket's; reads may come from a pulling receiver while the I/O thread
 * writes.
 */
interface Wire extends ByteChannel, GatheringByteChannel {
  /** Writes what waits below the plaintext (TLS records); returns true if nothing is left. */
  boolean flush() throws IOException;

  /** {@return true if bytes wait for the socket to be writable} */
  boolean wantsWrite();

  /** {@return true if input is buffered where the selector cannot see it} */
  boolean hasBufferedInput();

  /** Prepares the end of the output (TLS: the closing alert, which {@link #flush()} writes). */
  void closeOutbound() throws IOException;

  /** {@return a wire straight onto {@code channel}} */
  static Wire plain(SocketChannel channel) {
    return new Plain(channel);
  }

  /** A socket with nothing in between. */
  final class Plain implements Wire {
    private final SocketChannel channel;

    private Plain(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return channel.read(dst);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return channel.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      return channel.write(srcs, offset, length);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
      return channel.write(srcs);
    }

    @Override
    public boolean flush() {
      return true;
    }

    @Override
    public boolean wantsWrite() {
      return false;
    }

    @Override
    public boolean hasBufferedInput() {
      return false;
    }

    @Override
    public void closeOutbound() {}

    @Override
    public boolean isOpen() {
      return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
