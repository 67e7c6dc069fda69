package io.github.packetconn.examples.rpc;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Calls an {@link RpcServer} over one connection shared by any number of threads: each call gets a
 * {@link CompletableFuture} of its reply.
 *
 * <p>How it works: every request starts with a fresh 8-byte id, and the future waits in a map
 * under that id. The connection's {@link PacketHandler} takes each reply's id out of the map and
 * completes its future with the reply; a timer fails a call that got no reply in time, and the end
 * of the connection fails every call still waiting. A reply whose call has already ended (timed
 * out or cancelled) finds no future, or one that refuses it, and is released here: it has no other
 * owner.
 *
 * <pre>{@code
 * try (RpcClient client = RpcClient.connect(address, Duration.ofSeconds(2))) {
 *   try (Packet reply = client.call(p -> p.writeShortPrefixedString("hello")).get()) {
 *     System.out.println(reply.readShortPrefixedString());
 *   }
 * }
 * }</pre>
 *
 * <p>A reply belongs to whoever takes it from the future, who releases it. To stop waiting for a
 * call, {@link CompletableFuture#cancel cancel} it, so that its reply is released when it comes.
 * Stages chained to a call's future run on the connection's I/O thread when the reply completes
 * it: keep them short, or use the {@code *Async} variants. Thread-safe.
 */
public final class RpcClient implements Closeable {
  // One daemon thread fails the calls that time out; cancelled timers leave its queue at once.
  private static final ScheduledThreadPoolExecutor TIMER = new ScheduledThreadPoolExecutor(1, r -> {
    Thread thread = new Thread(r, "rpc-client-timeouts");
    thread.setDaemon(true);
    return thread;
  });

  static {
    TIMER.setRemoveOnCancelPolicy(true);
  }

  private final Map<Long, CompletableFuture<Packet>> pending = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong();
  private final AtomicLong lateReplies = new AtomicLong();
  private final Duration timeout;
  private final PacketConn conn;

  private RpcClient(SocketAddress address, Duration timeout) throws IOException {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout <= 0: " + timeout);
    }
    this.timeout = timeout;
    this.conn = PacketConn.connect(address, PacketConfig.DEFAULT, new Replies());
  }

  /** Calls the server of {@link RpcServer#main} from 8 threads at once and prints the replies. */
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 14573;
    try (RpcClient client = connect("localhost", port, Duration.ofSeconds(5));
        ExecutorService threads = Executors.newFixedThreadPool(8)) {
      List<Future<String>> replies = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        String words = "hello from thread " + t;
        replies.add(threads.submit(() -> {
          try (Packet reply = client.call(p -> p.writeShortPrefixedString(words)).get()) {
            return reply.readShortPrefixedString();
          }
        }));
      }
      for (Future<String> reply : replies) System.out.println(reply.get());
    }
  }

  /** Connects to {@code host:port}; a call fails if no reply comes within {@code timeout}. */
  public static RpcClient connect(String host, int port, Duration timeout) throws IOException {
    return connect(new InetSocketAddress(host, port), timeout);
  }

  /** Connects to {@code address}; a call fails if no reply comes within {@code timeout}. */
  public static RpcClient connect(SocketAddress address, Duration timeout) throws IOException {
    return new RpcClient(address, timeout);
  }

  /**
   * Sends a request whose body {@code writeRequest} writes, and returns the future of the reply's
   * body. The future fails with a {@link TimeoutException} if no reply comes within the client's
   * timeout, an {@link IOException} if the connection ends first, or an {@link RpcException} if
   * the service threw.
   */
  public CompletableFuture<Packet> call(Consumer<? super Packet> writeRequest) {
    return call(writeRequest, timeout);
  }

  /** Like {@link #call(Consumer)}, failing if no reply comes within {@code timeout}. */
  public CompletableFuture<Packet> call(Consumer<? super Packet> writeRequest, Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout <= 0: " + timeout);
    }
    long id = nextId.incrementAndGet();
    CompletableFuture<Packet> reply = new CompletableFuture<>();
    try (Packet request = Packet.allocate().writeLong(id)) {
      writeRequest.accept(request);
      pending.put(id, reply); // Before sending: the reply may come back before send() returns.
      ScheduledFuture<?> timer =
          TIMER.schedule(
              () -> reply.completeExceptionally(new TimeoutException(
                  "no reply to call " + id + " within " + timeout.toMillis() + " ms")),
              timeout.toNanos(),
              TimeUnit.NANOSECONDS);
      reply.whenComplete((r, e) -> {
        timer.cancel(false);
        pending.remove(id, reply);
      });
      try {
        conn.send(request); // Copies the frame: the try block releases our request.
      } catch (IllegalStateException closed) {
        reply.completeExceptionally(new IOException("connection closed", closed));
      } catch (RuntimeException e) { // Nothing was sent (a request above maxPacketSize, say).
        reply.completeExceptionally(e);
        throw e;
      }
      if (!conn.isOpen()) { // Closed while we registered: failAll() may have missed this call.
        reply.completeExceptionally(new IOException("connection closed"));
      }
    }
    return reply;
  }

  /** {@return how many replies came after their call had ended (timed out, cancelled)} */
  public long lateReplies() {
    return lateReplies.get();
  }

  /** {@return the number of calls waiting for their reply} */
  public int pendingCalls() {
    return pending.size();
  }

  /** Closes the connection; calls still waiting fail with an {@link IOException}. */
  @Override
  public void close() throws IOException {
    try {
      conn.close();
    } finally {
      failAll(new IOException("connection closed"));
    }
  }

  private void failAll(IOException why) {
    for (CompletableFuture<Packet> call : pending.values()) call.completeExceptionally(why);
  }

  /** Runs on the connection's I/O thread: hands each reply to its call. */
  private final class Replies implements PacketHandler {
    @Override
    public void onPacket(PacketConn conn, Packet reply) {
      long id = reply.readLong();
      CompletableFuture<Packet> call = pending.remove(id);
      if (reply.readByte() != RpcServer.OK) {
        RpcException failed = new RpcException(reply.readIntPrefixedString());
        reply.release();
        if (call == null || !call.completeExceptionally(failed)) lateReplies.incrementAndGet();
        return;
      }
      if (call == null || !call.complete(reply)) { // Completed: the reply is the caller's now.
        reply.release(); // Its call ended before it came (timed out, cancelled): nobody else will.
        lateReplies.incrementAndGet();
      }
    }

    @Override
    public void onClose(PacketConn conn, Throwable cause) {
      failAll(cause == null
          ? new IOException("connection closed")
          : new IOException("connection failed: " + cause, cause));
    }
  }
}
