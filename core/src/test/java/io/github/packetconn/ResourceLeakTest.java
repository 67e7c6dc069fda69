package io.github.packetconn;

import static io.github.packetconn.testing.Await.WAIT;
import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.socket;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.packetconn.testing.Frames;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many connections, under echo load, ended in every way there is; afterwards the process holds
 * exactly the file descriptors and platform threads it held before, every handler's virtual thread
 * has ended, and no connection holds queued bytes.
 *
 * <p>The I/O threads are shared and started once, and the JDK opens some descriptors lazily, so
 * each test runs the whole scenario once, small, before it takes its baseline.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResourceLeakTest {
  static final PacketConfig CONFIG = PacketConfig.builder().closeTimeout(Duration.ofSeconds(5)).build();
  static final int CLIENTS = 168; // 24 per ending.
  static final int PACKETS = 40; // Echoed per connection before it ends.
  static final int WINDOW = 8; // Packets in flight per connection that keeps sending.
  static final int CLOSE = -1; // A packet starting with this asks the server to close.
  static final int ABORT = -2; // ... to abort.

  /** The ways a connection ends; connection i ends the way {@code values()[i % 7]} says. */
  enum Ending {
    CLIENT_CLOSE, // The client closes gracefully once every echo is back.
    SERVER_CLOSE, // The server closes gracefully on request, after echoing what came first.
    SERVER_ABORT, // The server aborts on request, echoes in flight.
    CLIENT_ABORT, // The client aborts with its packets in flight.
    HALF_CLOSE, // A raw socket sends, shuts its output, reads every echo and the end.
    RESET_MID_FRAME, // A raw socket sends a frame and a half, then resets (SO_LINGER 0).
    SERVER_SHUTDOWN // Still sending when server.close() ends it.
  }

  @Test
  void callbackServerReturnsEveryResourceHowEverConnectionsEnd() throws Exception {
    assertEveryResourceReturned(false);
  }

  @Test
  void blockingServerReturnsEveryResourceHowEverConnectionsEnd() throws Exception {
    assertEveryResourceReturned(true);
  }

  private static void assertEveryResourceReturned(boolean blocking) throws Exception {
    long start = System.nanoTime();
    run(14, blocking); // Warm-up: I/O threads, lazily opened descriptors, pools.
    Usage before = Usage.now();
    Outcome outcome = run(CLIENTS, blocking);
    Usage after = awaitUsage(before);
    String style = blocking ? "blocking" : "callback";
    System.out.printf(
        "ResourceLeakTest %s: %d connections (%d server-side, %d handler threads), %d echoes checked;"
            + " fds %d -> %d, platform threads %d -> %d; %d ms%n",
        style, CLIENTS, outcome.serverConnections, outcome.handlerThreads, outcome.echoes,
        before.fds, after.fds, before.threads.size(), after.threads.size(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    // Nothing opened since the baseline is still open (one from an earlier test may have closed).
    assertEquals(List.of(), after.openedSince(before), style + ": file descriptors opened and not closed");
    assertEquals(List.of(), after.startedSince(before), style + ": platform threads started and still alive");
  }

  /** What the process holds: file descriptors and platform threads. */
  record Usage(int fds, List<String> fdList, TreeSet<String> threads) {
    /** {@return the descriptors open now and not at {@code before}, as "fd->target"} */
    List<String> openedSince(Usage before) {
      List<String> opened = new ArrayList<>(fdList);
      opened.removeAll(before.fdList);
      return opened;
    }

    /** {@return the names of the platform threads alive now and not at {@code before}} */
    List<String> startedSince(Usage before) {
      List<String> started = new ArrayList<>(threads);
      started.removeAll(before.threads);
      return started;
    }

    static Usage now() throws IOException {
      List<String> fds = new ArrayList<>();
      try (Stream<Path> list = Files.list(Path.of("/proc/self/fd"))) {
        for (Path fd : (Iterable<Path>) list::iterator) {
          String target;
          try {
            target = Files.readSymbolicLink(fd).toString();
          } catch (IOException e) { // The descriptor of the listing itself, closed by now.
            continue;
          }
          if (!target.startsWith("/proc/")) fds.add(fd.getFileName() + "->" + target); // Not the listing's.
        }
      }
      TreeSet<String> threads = new TreeSet<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) { // Platform threads only.
        if (t.isAlive() && !isJdkPoolWorker(t)) threads.add(t.getName());
      }
      return new Usage(fds.size(), fds, threads);
    }

    /**
     * The JDK's own pools (virtual threads' carriers, the common pool) size themselves to demand
     * and retire idle workers after a while: not ours to count.
     */
    private static boolean isJdkPoolWorker(Thread t) {
      return t.getName().startsWith("ForkJoinPool");
    }
  }

  /** Waits until nothing opened or started since {@code before} is left, or 5 s; returns the last usage. */
  private static Usage awaitUsage(Usage before) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      Usage now = Usage.now();
      // A closed channel's descriptor is freed when its selector next deregisters it: soon.
      if (now.openedSince(before).isEmpty() && now.startedSince(before).isEmpty()) return now;
      if (System.nanoTime() - deadline > 0) return now;
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  record Outcome(int serverConnections, int handlerThreads, long echoes) {}

  /** Runs {@code clients} connections against one server and ends them all; checks what each saw. */
  private static Outcome run(int clients, boolean blocking) throws Exception {
    Queue<PacketConn> serverSide = new ConcurrentLinkedQueue<>();
    Queue<Thread> handlerThreads = new ConcurrentLinkedQueue<>();
    PacketServer server =
        blocking
            ? PacketServer.bind(LOOPBACK, CONFIG, blockingEcho(serverSide, handlerThreads))
            : PacketServer.bind(LOOPBACK, CONFIG, callbackEcho(serverSide));
    List<PacketConn> conns = new ArrayList<>();
    List<Checker> checkers = new ArrayList<>();
    List<Ending> endings = new ArrayList<>();
    List<Socket> halfClosed = new ArrayList<>();
    try {
      for (int i = 0; i < clients; i++) {
        Ending ending = Ending.values()[i % Ending.values().length];
        switch (ending) {
          case HALF_CLOSE -> halfClosed.add(halfClose(server));
          case RESET_MID_FRAME -> resetMidFrame(server, i);
          default -> {
            Checker checker = new Checker(ending == Ending.SERVER_SHUTDOWN);
            PacketConn conn = PacketConn.connect(server.localAddress(), CONFIG, checker);
            conns.add(conn);
            checkers.add(checker);
            endings.add(ending);
            if (ending != Ending.SERVER_SHUTDOWN) { // That one sends from its I/O thread only.
              for (int seq = 0; seq < PACKETS; seq++) send(conn, seq);
              switch (ending) {
                case SERVER_CLOSE -> send(conn, CLOSE);
                case SERVER_ABORT -> send(conn, ABORT);
                case CLIENT_ABORT -> conn.abort();
                default -> {}
              }
            }
          }
        }
      }
      long echoes = 0;
      for (Socket socket : halfClosed) echoes += readEchoesToTheEnd(socket);
      for (int i = 0; i < conns.size(); i++) {
        Ending ending = endings.get(i);
        if (ending == Ending.CLIENT_CLOSE || ending == Ending.SERVER_CLOSE || ending == Ending.SERVER_SHUTDOWN) {
          try {
            checkers.get(i).echoed.get(WAIT.toSeconds(), TimeUnit.SECONDS); // Every echo, in order.
          } catch (ExecutionException e) {
            throw new AssertionError(ending + " connection " + i + ": " + e.getCause().getMessage(), e);
          }
        }
        if (ending == Ending.CLIENT_CLOSE) conns.get(i).close();
      }
      server.close(); // Ends SERVER_SHUTDOWN's connections, mid-flow.
      server.closeFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      for (PacketConn conn : conns) awaitClosed(conn);
      for (PacketConn conn : serverSide) awaitClosed(conn);
      for (Thread thread : handlerThreads) {
        assertTrue(thread.join(WAIT), "handler thread " + thread + " still alive");
      }
      for (int i = 0; i < conns.size(); i++) {
        Ending ending = endings.get(i);
        String what = ending + " connection " + i + " " + conns.get(i);
        if (ending != Ending.SERVER_ABORT && ending != Ending.CLIENT_ABORT) {
          assertEquals(null, conns.get(i).closeCause(), what + " ended cleanly");
        }
        if (ending == Ending.SERVER_CLOSE) assertEquals(PACKETS, checkers.get(i).received, what);
        assertEquals(null, checkers.get(i).failure, what);
        echoes += checkers.get(i).received;
      }
      // A blocking handler may start after its connection has ended: wait for the last ones.
      awaitTrue(() -> serverSide.size() >= clients, () -> serverSide.size() + " of " + clients + " served");
      assertEquals(clients, serverSide.size(), "every connection was served");
      for (Thread thread : handlerThreads) {
        assertTrue(thread.join(WAIT), "handler thread " + thread + " still alive");
      }
      assertEquals(List.of(), List.copyOf(server.connections()), "the server lists no connection");
      for (PacketConn conn : conns) assertEquals(0, conn.queuedBytes(), conn + " holds queued bytes");
      for (PacketConn conn : serverSide) assertEquals(0, conn.queuedBytes(), conn + " holds queued bytes");
      return new Outcome(serverSide.size(), handlerThreads.size(), echoes);
    } finally {
      for (PacketConn conn : conns) conn.abort();
      for (Socket socket : halfClosed) socket.close();
      server.close();
    }
  }

  /**
   * A connection that fails (here: a frame header above maxPacketSize, read in the same system call
   * as ten good frames) gives its receiver the packets decoded before the failure, then the failure
   * ({@link PacketConn#receive()}'s contract). A receiver that stops early, as a handler does when a
   * send to the failed connection throws, must not leave the rest unreleased.
   *
   * <p>Before c15b484 this failed one of two ways, by a race: the I/O thread ended the queue before
   * the pull published its packets, which were then released, so receive() threw the
   * ProtocolException first; or it ended it after, the receiver took one, and the nine left were
   * never released (close() and abort() of a closed connection did nothing).
   */
  @Test
  void packetsDecodedBeforeAFailureAreDeliveredAndThoseLeftAreReleased() throws Exception {
    int frames = 10;
    CompletableFuture<Integer> firstSeq = new CompletableFuture<>();
    ConnectionHandler takesOneThenStops =
        conn -> {
          try (Packet first = conn.receive(WAIT)) {
            firstSeq.complete(first.readInt());
          } catch (IOException e) {
            firstSeq.completeExceptionally(e);
            throw e;
          }
          // The failure behind the queued packets has closed the connection by now.
          conn.closeFuture().handle((ok, failure) -> null).get(WAIT.toSeconds(), TimeUnit.SECONDS);
          // Returning closes the connection; the packets still queued are the library's to release.
        };
    try (PacketServer server = PacketServer.bind(LOOPBACK, CONFIG, takesOneThenStops);
        Socket socket = socket(server)) {
      ByteBuffer bytes = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
      for (int seq = 0; seq < frames; seq++) bytes.put(Frames.encode(payload(seq), false));
      bytes.putInt(Integer.MAX_VALUE); // Above maxPacketSize: a protocol error after the frames.
      socket.getOutputStream().write(bytes.array(), 0, bytes.position()); // One write: one read.
      try {
        assertEquals(0, firstSeq.get(WAIT.toSeconds(), TimeUnit.SECONDS));
      } catch (ExecutionException e) {
        throw new AssertionError("the packets decoded before the failure come first; got " + e.getCause(), e);
      }
      assertEquals(
          "Connection reset",
          org.junit.jupiter.api.Assertions.assertThrows(
              java.net.SocketException.class, () -> socket.getInputStream().read()).getMessage(),
          "the protocol error resets the connection");
    }
    PacketLeaks.assertNone(Duration.ofSeconds(5));
  }

  private static void awaitClosed(PacketConn conn) throws Exception {
    try {
      conn.closeFuture().handle((ok, failure) -> null).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      fail(conn + " did not close within " + WAIT.toSeconds() + " s");
    }
  }

  /** Echoes on the I/O thread; {@link #CLOSE} and {@link #ABORT} end the connection instead. */
  private static PacketHandler callbackEcho(Queue<PacketConn> serverSide) {
    return new PacketHandler() {
      @Override
      public void onOpen(PacketConn conn) {
        serverSide.add(conn);
      }

      @Override
      public void onPacket(PacketConn conn, Packet packet) throws IOException {
        try (packet) {
          switch (packet.readInt()) {
            case CLOSE -> conn.close();
            case ABORT -> conn.abort();
            default -> conn.send(packet);
          }
        }
      }
    };
  }

  /** Echoes on a virtual thread per connection, recording the threads so the test can join them. */
  private static ConnectionHandler blockingEcho(Queue<PacketConn> serverSide, Queue<Thread> threads) {
    return conn -> {
      serverSide.add(conn);
      threads.add(Thread.currentThread());
      for (Packet packet : conn) {
        try (packet) {
          switch (packet.readInt()) {
            case CLOSE -> {
              return; // Returning closes gracefully.
            }
            case ABORT -> {
              conn.abort();
              return;
            }
            default -> conn.send(packet);
          }
        }
      }
    };
  }

  /** {@return packet {@code seq}'s payload: the sequence number, then up to 1 KiB of a pattern} */
  static byte[] payload(int seq) {
    int length = seq < 0 ? 0 : (seq * 37) % 1024;
    ByteBuffer payload = ByteBuffer.allocate(4 + length).order(ByteOrder.LITTLE_ENDIAN).putInt(seq);
    for (int i = 0; i < length; i++) payload.put((byte) (seq + i));
    return payload.array();
  }

  private static void send(PacketConn conn, int seq) {
    try (Packet p = Packet.of(payload(seq))) {
      conn.send(p);
    }
  }

  /**
   * Checks the echoes of one client: packets 0, 1, 2... with their payloads. A client that keeps
   * sending sends packet {@code seq + WINDOW} for each echo {@code seq}, until the connection closes.
   */
  static final class Checker implements PacketHandler {
    final boolean keepSending;
    final CompletableFuture<Void> echoed = new CompletableFuture<>(); // PACKETS echoes arrived.
    volatile int received;
    volatile Throwable failure;

    Checker(boolean keepSending) {
      this.keepSending = keepSending;
    }

    @Override
    public void onOpen(PacketConn conn) {
      if (keepSending) {
        for (int seq = 0; seq < WINDOW; seq++) send(conn, seq); // One thread sends: in order.
      }
    }

    @Override
    public void onPacket(PacketConn conn, Packet packet) {
      try (packet) {
        int seq = received;
        byte[] bytes = packet.toByteArray();
        if (!Arrays.equals(payload(seq), bytes)) {
          failure = new AssertionError("echo " + seq + " of " + conn + " differs: " + bytes.length + " bytes");
          conn.abort();
          return;
        }
        received = seq + 1;
        if (received == PACKETS) echoed.complete(null);
        if (keepSending && conn.isOpen()) {
          try {
            send(conn, seq + WINDOW);
          } catch (IllegalStateException closing) {
            // The server's close reached us between isOpen() and send(): expected, once.
          }
        }
      }
    }

    @Override
    public void onClose(PacketConn conn, Throwable cause) {
      Throwable why = failure != null ? failure : cause;
      echoed.completeExceptionally(new AssertionError(conn + " closed after " + received + " echoes", why));
    }
  }

  /** Connects a raw socket, sends every packet and shuts its output, leaving the echoes unread. */
  private static Socket halfClose(PacketServer server) throws IOException {
    Socket socket = socket(server);
    socket.setSoTimeout((int) WAIT.toMillis());
    OutputStream out = socket.getOutputStream();
    for (int seq = 0; seq < PACKETS; seq++) out.write(Frames.encode(payload(seq), false));
    socket.shutdownOutput();
    return socket;
  }

  /** Reads the echoes of {@link #halfClose}, then the server's end of stream; closes the socket. */
  private static int readEchoesToTheEnd(Socket socket) throws IOException {
    try (socket) {
      InputStream in = socket.getInputStream();
      for (int seq = 0; seq < PACKETS; seq++) {
        byte[] expected = Frames.encode(payload(seq), false);
        assertArrayEquals(expected, in.readNBytes(expected.length), "echo " + seq + " after half-close");
      }
      assertEquals(-1, in.read(), "the server ends its side once it has echoed everything");
      return PACKETS;
    }
  }

  /** Sends two frames and part of a third from a raw socket, then resets the connection. */
  private static void resetMidFrame(PacketServer server, int i) throws IOException {
    try (Socket socket = socket(server)) {
      OutputStream out = socket.getOutputStream();
      out.write(Frames.encode(payload(0), false));
      out.write(Frames.encode(payload(1), false));
      byte[] third = Frames.encode(payload(2 + i), false);
      out.write(third, 0, 4 + (i % 4)); // The length, and a few bytes of payload at most.
      out.flush();
      socket.setSoLinger(true, 0); // close() sends RST.
    }
  }
}
