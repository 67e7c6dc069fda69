package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The ceiling for any framing library: echoes bytes, no frames, with the JDK's NIO on one thread.
 *
 * <p>One selector, driven by the allocation-free {@link Selector#select(Consumer)}; one shared
 * direct read buffer. Each read is written straight back. When the socket takes only part of it,
 * the rest is copied to a pooled pending buffer and the connection stops reading (OP_READ off,
 * OP_WRITE on) until the rest is written, so memory stays bounded by one read per connection and
 * TCP pushes back on a client that sends faster than it receives.
 */
final class RawEchoServer implements EchoServer {
  private static final int READ_BUFFER_SIZE = 256 << 10;
  private static final int MAX_READS = 16; // Per ready connection, so one busy peer can't hog the loop.
  private static final int MIN_PENDING = 4 << 10; // Smallest pending buffer; sizes double to 256 KiB.
  private static final int PENDING_CLASSES = 7; // 4, 8, 16, 32, 64, 128, 256 KiB.
  private static final int MAX_FREE_PER_CLASS = 64;

  private final Selector selector;
  private final ServerSocketChannel server;
  private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER_SIZE);
  @SuppressWarnings("unchecked")
  private final ArrayDeque<ByteBuffer>[] freePending = new ArrayDeque[PENDING_CLASSES];
  private final Consumer<SelectionKey> onReady = this::ready; // One instance: select() allocates nothing.
  private final FailureLog failures = new FailureLog("raw");
  private final int port; // 0 on a Unix domain socket.
  private final boolean unix;
  private final Thread thread;
  private volatile boolean closing;

  RawEchoServer(SocketAddress address) throws IOException {
    for (int i = 0; i < PENDING_CLASSES; i++) freePending[i] = new ArrayDeque<>();
    selector = Selector.open();
    unix = address instanceof UnixDomainSocketAddress;
    server = unix ? ServerSocketChannel.open(StandardProtocolFamily.UNIX) : ServerSocketChannel.open();
    try {
      if (!unix) server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(address, 1024);
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT);
      port = unix ? 0 : ((InetSocketAddress) server.getLocalAddress()).getPort();
    } catch (IOException | RuntimeException e) {
      server.close();
      selector.close();
      throw e;
    }
    thread = new Thread(this::run, "raw-echo");
    thread.start();
  }

  private void run() {
    try {
      while (!closing) selector.select(onReady);
    } catch (IOException | RuntimeException e) {
      System.err.println("raw: event loop failed: " + e);
    } finally {
      for (SelectionKey key : selector.keys()) {
        if (key.attachment() instanceof Connection c) c.close();
      }
      try {
        server.close();
        selector.close();
      } catch (IOException e) {
        System.err.println("raw: close failed: " + e);
      }
    }
  }

  private void ready(SelectionKey key) {
    if (!(key.attachment() instanceof Connection c)) {
      accept();
      return;
    }
    try {
      if (c.pending != null) {
        if (key.isWritable()) c.drain();
      } else if (key.isReadable()) {
        c.echo();
      }
    } catch (IOException e) {
      failures.connectionFailed(c.remoteAddress(), e);
      c.close();
    }
  }

  private void accept() {
    try {
      SocketChannel ch;
      while ((ch = server.accept()) != null) {
        try {
          ch.configureBlocking(false);
          if (!unix) ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
          Connection c = new Connection(ch);
          c.key = ch.register(selector, SelectionKey.OP_READ, c);
        } catch (IOException e) {
          failures.connectionFailed(ch, e);
          ch.close();
        }
      }
    } catch (IOException e) {
      System.err.println("raw: accept failed: " + e); // Out of file descriptors, say; keep serving.
    }
  }

  /** One client; touched only by the loop thread. */
  private final class Connection {
    final SocketChannel ch;
    SelectionKey key;
    ByteBuffer pending; // Bytes read but not yet written back; null when none.

    Connection(SocketChannel ch) {
      this.ch = ch;
    }

    /** Reads and writes back until the socket has no more to read or refuses writes. */
    void echo() throws IOException {
      ByteBuffer buffer = readBuffer;
      for (int i = 0; i < MAX_READS; i++) {
        buffer.clear();
        int n = ch.read(buffer);
        if (n <= 0) {
          if (n < 0) close(); // EOF: everything read has been written back.
          return;
        }
        buffer.flip();
        ch.write(buffer);
        if (buffer.hasRemaining()) {
          pending = takePending(buffer.remaining()).put(buffer).flip();
          key.interestOps(SelectionKey.OP_WRITE); // Stop reading until the client reads.
          return;
        }
        if (n < buffer.capacity()) return; // Drained, most likely; the selector says if not.
      }
    }

    /** Writes pending bytes; once they are all out, reads again. */
    void drain() throws IOException {
      ch.write(pending);
      if (!pending.hasRemaining()) {
        givePending(pending);
        pending = null;
        key.interestOps(SelectionKey.OP_READ);
        echo(); // The client most likely sent more meanwhile: don't wait a select() round for it.
      }
    }

    Object remoteAddress() {
      try {
        return ch.getRemoteAddress();
      } catch (IOException e) {
        return ch;
      }
    }

    void close() {
      if (pending != null) {
        givePending(pending);
        pending = null;
      }
      key.cancel();
      try {
        ch.close();
      } catch (IOException e) {
        failures.connectionFailed(remoteAddress(), e);
      }
    }
  }

  private ByteBuffer takePending(int bytes) {
    int index = pendingClass(bytes);
    ByteBuffer buffer = freePending[index].pollLast();
    return buffer != null ? buffer : ByteBuffer.allocateDirect(MIN_PENDING << index);
  }

  private void givePending(ByteBuffer buffer) {
    ArrayDeque<ByteBuffer> free = freePending[pendingClass(buffer.capacity())];
    if (free.size() < MAX_FREE_PER_CLASS) free.addLast(buffer.clear()); // Else the GC frees it.
  }

  /** {@return the index of the smallest pending size class that holds {@code bytes}} */
  private static int pendingClass(int bytes) {
    if (bytes <= MIN_PENDING) return 0;
    return 32 - Integer.numberOfLeadingZeros(bytes - 1) - Integer.numberOfTrailingZeros(MIN_PENDING);
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public void close() {
    closing = true;
    selector.wakeup();
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failures.summarize();
  }
}
