package io.github.packetconn;

import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Await.failureOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Fixtures for the tests of the blocking style ({@link BlockingFaultTest}, {@link
 * BlockingStyleTest}): a blocking client facing a raw socket, a receive or a send on a thread of
 * its own that the test expects to block, a blocking server that records how each connection ended.
 */
final class BlockingFixtures {
  private BlockingFixtures() {}

  /** How soon a connection must notice a peer's end, a close or an abort: far above the usual. */
  static final Duration PROMPTLY = Duration.ofSeconds(5);

  /** Connects in the blocking style, checking the connection is on the path under test. */
  static PacketConn blockingClient(SocketAddress address, PacketConfig config) throws IOException {
    PacketConn conn = PacketConn.connect(address, config, null);
    assertEquals(SocketTransport.ENABLED, conn.channel().isBlocking(), "owns a blocking socket: " + conn);
    return conn;
  }

  /** A blocking client and the raw socket that accepted it; closing aborts the one, closes the other. */
  record RawPair(ServerSocketChannel listener, PacketConn conn, SocketChannel peer) implements AutoCloseable {
    static RawPair open(PacketConfig config) throws IOException {
      return open(config, null);
    }

    /** Over a Unix domain socket at {@code path}, or TCP on loopback when it is null. */
    static RawPair open(PacketConfig config, Path path) throws IOException {
      ServerSocketChannel listener =
          path == null
              ? ServerSocketChannel.open().bind(LOOPBACK)
              : ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(path));
      try {
        PacketConn conn = blockingClient(listener.getLocalAddress(), config);
        return new RawPair(listener, conn, listener.accept());
      } catch (IOException | RuntimeException | Error e) {
        listener.close();
        throw e;
      }
    }

    /** Writes {@code bytes} from the raw peer, all of them. */
    void write(byte[] bytes) throws IOException {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) peer.write(buffer);
    }

    /** Resets the connection from the raw peer: SO_LINGER 0, then close. */
    void reset() throws IOException {
      peer.setOption(StandardSocketOptions.SO_LINGER, 0);
      peer.close();
    }

    /** {@return the bytes waiting, unread, in the client's socket} */
    int unread() {
      try {
        return Channels.newInputStream(conn.channel()).available(); // The kernel's count (FIONREAD).
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void close() throws IOException {
      conn.abort();
      peer.close();
      SocketAddress address = listener.getLocalAddress();
      listener.close();
      if (address instanceof UnixDomainSocketAddress unix) Files.deleteIfExists(unix.getPath());
    }
  }

  /** One call of {@code receive()} (or {@code receive(timeout)}) on a virtual thread of its own. */
  static final class Receiver {
    final CompletableFuture<Packet> result = new CompletableFuture<>();
    final Thread thread;
    volatile boolean interruptedAfter; // The thread's interrupt status once the receive returned.

    Receiver(PacketConn conn, Duration timeout) {
      thread =
          Thread.ofVirtual()
              .name("test-receiver")
              .start(
                  () -> {
                    try {
                      Packet p = timeout == null ? conn.receive() : conn.receive(timeout);
                      interruptedAfter = Thread.currentThread().isInterrupted();
                      result.complete(p);
                    } catch (Throwable e) {
                      interruptedAfter = Thread.currentThread().isInterrupted();
                      result.completeExceptionally(e);
                    }
                  });
    }

    /**
     * Starts an untimed receive and waits until it has parked where the path under test parks it:
     * in the socket's read (its own path), or in the inbox (the loop's).
     */
    static Receiver blocked(PacketConn conn) {
      Receiver receiver = new Receiver(conn, null);
      Thread t = receiver.thread;
      awaitTrue(() -> t.getState() == Thread.State.WAITING && blockedInRead(t.getStackTrace()), () -> t + " is " + t.getState() + " at " + Arrays.toString(t.getStackTrace()));
      return receiver;
    }

    private static boolean blockedInRead(StackTraceElement[] stack) {
      for (StackTraceElement frame : stack) {
        if (SocketTransport.ENABLED
            ? frame.getClassName().equals("sun.nio.ch.SocketChannelImpl") && frame.getMethodName().equals("read")
            : frame.getClassName().equals(ReceiveQueue.class.getName()) && frame.getMethodName().equals("take")) {
          return true;
        }
      }
      return false;
    }

    /** {@return what the receive threw, waiting for it} */
    Throwable failure() {
      return failureOf(result);
    }

    /** {@return the packet received (the caller releases it) or null at the end, waiting for it} */
    Packet packet() throws Exception {
      return result.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** One {@code send(p)} on a virtual thread of its own. */
  static final class Sender {
    final CompletableFuture<Throwable> end = new CompletableFuture<>(); // Null once sent.
    final Thread thread;

    private Sender(PacketConn conn, Packet p) {
      thread =
          Thread.ofVirtual()
              .name("test-sender")
              .start(
                  () -> {
                    try {
                      conn.send(p);
                      end.complete(null);
                    } catch (Throwable e) {
                      end.complete(e);
                    }
                  });
    }

    /** Starts a send that waits, because the queue is full, and waits until it does. */
    static Sender blocked(PacketConn conn, Packet p) {
      Sender sender = new Sender(conn, p);
      io.github.packetconn.testing.Await.awaitWaiting(sender.thread);
      return sender;
    }

    /** {@return what the send threw (null if it sent), waiting at most {@code timeout}} */
    Throwable outcome(Duration timeout) throws Exception {
      return end.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * An echo server in the blocking style that records, by the peer's port, each connection and how
   * its receiving ended: null at a clean end, or what {@code receive()} threw.
   */
  static final class BlockingRecorder implements ConnectionHandler {
    private final Map<Integer, CompletableFuture<PacketConn>> opened = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<Throwable>> ended = new ConcurrentHashMap<>();

    /** {@return the server's side of the connection from port {@code port}, waiting for it} */
    PacketConn opened(int port) throws Exception {
      return openedFuture(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** {@return how the connection from port {@code port} ended, waiting for it} */
    Throwable ended(int port) throws Exception {
      return endedFuture(port).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private CompletableFuture<PacketConn> openedFuture(int port) {
      return opened.computeIfAbsent(port, k -> new CompletableFuture<>());
    }

    private CompletableFuture<Throwable> endedFuture(int port) {
      return ended.computeIfAbsent(port, k -> new CompletableFuture<>());
    }

    @Override
    public void handle(PacketConn conn) {
      int port = io.github.packetconn.testing.Loopback.port(conn.remoteAddress());
      assertEquals(SocketTransport.ENABLED, conn.channel().isBlocking(), "owns a blocking socket: " + conn);
      openedFuture(port).complete(conn);
      try {
        for (Packet p : conn) {
          try (p) {
            conn.send(p);
          } catch (IllegalStateException failed) {
            // The connection failed after decoding this packet: the next receive says why.
          }
        }
        endedFuture(port).complete(null);
      } catch (UncheckedIOException e) {
        endedFuture(port).complete(e.getCause()); // Returning closes; a failed connection is closed already.
      } catch (Throwable e) {
        endedFuture(port).complete(e);
      }
    }
  }

  /** {@return a frame whose payload is {@code seq}, then {@code seq % 50} bytes} */
  static byte[] frame(int seq) {
    byte[] payload = new byte[4 + seq % 50];
    ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).putInt(seq);
    return io.github.packetconn.testing.Frames.encode(payload, false);
  }

  /** Waits until everything queued on {@code conn} is written, or it has closed. */
  static void awaitDrained(PacketConn conn) {
    awaitTrue(() -> conn.queuedBytes() == 0 || !conn.isOpen(), () -> conn.queuedBytes() + " bytes queued");
  }

  /** Checks that {@code conn} failed with {@code cause}, everywhere it tells why. */
  static void assertFailedWith(PacketConn conn, Throwable cause) {
    assertFalse(conn.isOpen(), conn.toString());
    assertSame(cause, conn.closeCause(), "closeCause");
    assertSame(cause, failureOf(conn.closeFuture()), "closeFuture");
    assertEquals(0, conn.queuedBytes(), "queued bytes dropped");
  }

  /** Checks that {@code elapsed} milliseconds is less than {@code bound}. */
  static void assertWithin(Duration bound, long elapsed, String what) {
    assertTrue(elapsed < bound.toMillis(), what + " after " + elapsed + " ms");
  }

  static long millisSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
