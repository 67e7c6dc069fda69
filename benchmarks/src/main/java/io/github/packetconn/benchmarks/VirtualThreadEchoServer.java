package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The yardstick for packetconn's blocking style: the echo a Java developer writes by hand with the
 * JDK alone, a virtual thread per connection over a blocking {@link SocketChannel}.
 *
 * <p>Each connection reads into a 64 KiB buffer, copies every complete frame (4-byte little-endian
 * length, then the payload) into an output buffer and writes that back with one write per read; a
 * partial frame stays for the next read. A frame larger than the buffer grows both buffers to fit
 * it, and they stay that size. Direct buffers, so the JDK does not copy through a temporary one on
 * every call. A length above 32 MiB, packetconn's default maximum, closes the connection.
 *
 * <p>The acceptor and each connection run on their own virtual thread; {@link #close()} closes the
 * listening socket and every connection, which ends them all.
 */
final class VirtualThreadEchoServer implements EchoServer {
  private static final int BUFFER_SIZE = 64 << 10;
  private static final int MAX_PAYLOAD = 32 << 20;

  private final ServerSocketChannel server;
  private final boolean unix;
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
  private final FailureLog failures = new FailureLog("virtual-threads");
  private final Thread acceptor;

  VirtualThreadEchoServer(SocketAddress address) throws IOException {
    unix = address instanceof UnixDomainSocketAddress;
    server =
        unix ? ServerSocketChannel.open(StandardProtocolFamily.UNIX) : ServerSocketChannel.open();
    try {
      if (!unix) server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(address, 1024);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    acceptor = Thread.ofVirtual().name("virtual-threads-accept").start(this::accept);
  }

  private void accept() {
    while (true) {
      SocketChannel ch;
      try {
        ch = server.accept();
      } catch (IOException e) {
        if (server.isOpen()) System.err.println("virtual-threads: accept failed: " + e);
        return;
      }
      connections.add(ch);
      Thread.ofVirtual().start(() -> serve(ch));
    }
  }

  private void serve(SocketChannel ch) {
    Object peer = remoteAddress(ch); // For the log: once closed, a channel no longer says.
    try (ch) {
      if (!unix) ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ByteBuffer in = ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer out = ByteBuffer.allocateDirect(BUFFER_SIZE);
      while (ch.read(in) >= 0) {
        in.flip();
        out.clear();
        int needed = 0; // Bytes of the partial frame at the start of in, once its header is read.
        while (in.remaining() >= 4) {
          int length = in.getInt(in.position());
          if (length < 0 || length > MAX_PAYLOAD) {
            throw new ProtocolException(
                "frame length " + length + " is not in [0, " + MAX_PAYLOAD + "]");
          }
          if (in.remaining() < 4 + length) {
            needed = 4 + length;
            break;
          }
          out.put(out.position(), in, in.position(), 4 + length); // Absolute: no slice per frame.
          out.position(out.position() + 4 + length);
          in.position(in.position() + 4 + length);
        }
        in.compact();
        out.flip();
        while (out.hasRemaining()) ch.write(out);
        if (needed > in.capacity()) { // A frame larger than the buffer: grow both to hold it.
          in = ByteBuffer.allocateDirect(needed).order(ByteOrder.LITTLE_ENDIAN).put(in.flip());
          out = ByteBuffer.allocateDirect(needed);
        }
      }
    } catch (ClosedChannelException e) {
      // close() closed it.
    } catch (IOException e) {
      failures.connectionFailed(peer, e);
    } finally {
      connections.remove(ch);
    }
  }

  private static Object remoteAddress(SocketChannel ch) {
    try {
      return ch.getRemoteAddress();
    } catch (IOException e) {
      return ch;
    }
  }

  @Override
  public int port() {
    try {
      return unix ? 0 : ((InetSocketAddress) server.getLocalAddress()).getPort();
    } catch (IOException e) {
      throw new IllegalStateException("closed", e);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    try {
      acceptor.join(); // Then no connection is added behind the loop below.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (SocketChannel ch : connections) ch.close();
    failures.summarize();
  }
}
