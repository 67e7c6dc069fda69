package io.github.packetconn.examples.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketLeaks;
import io.github.packetconn.PacketServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcExampleTest {
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static final Duration PATIENCE = Duration.ofSeconds(10);

  /** Replies with the request's body. */
  private static final RpcServer.Service ECHO = (request, reply) -> reply.writeBytes(request.unreadPayload());

  @BeforeEach
  void leakCheckIsOn() {
    assertTrue(PacketLeaks.enabled(), "run with -Dpacketconn.leakCheck=true (the POM sets it)");
    PacketLeaks.forget();
  }

  @AfterEach
  void noPacketLeft() throws InterruptedException {
    PacketLeaks.assertNone(PATIENCE);
  }

  @Test
  void concurrentCallsFromEightThreadsGetTheirOwnReplies() throws Exception {
    int threads = 8;
    int callsPerThread = 200;
    try (RpcServer server = RpcServer.bind(LOOPBACK, ECHO);
        RpcClient client = connect(server.port(), PATIENCE);
        ExecutorService callers = Executors.newFixedThreadPool(threads)) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(callers.submit(() -> {
          start.await();
          List<CompletableFuture<Packet>> calls = new ArrayList<>();
          for (int i = 0; i < callsPerThread; i++) {
            int call = i;
            calls.add(client.call(p -> p.writeInt(thread).writeInt(call)));
          }
          for (int i = 0; i < callsPerThread; i++) {
            try (Packet reply = calls.get(i).get(PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
              assertEquals(thread, reply.readInt(), "thread of call " + i);
              assertEquals(i, reply.readInt(), "call of thread " + thread);
              assertFalse(reply.hasRemaining());
            }
          }
          return null;
        }));
      }
      start.countDown(); // All threads call at once: their requests interleave on the connection.
      for (Future<?> caller : done) caller.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
      assertEquals(0, client.pendingCalls());
      assertEquals(0, client.lateReplies());
    }
  }

  @Test
  void timedOutCallFailsAndItsLateReplyIsReleased() throws Exception {
    CountDownLatch slowMayAnswer = new CountDownLatch(1);
    RpcServer.Service service =
        (request, reply) -> {
          if (request.readBoolean()) slowMayAnswer.await();
          reply.writeShortPrefixedString("done");
        };
    try (RpcServer server = RpcServer.bind(LOOPBACK, service);
        RpcClient client = connect(server.port(), PATIENCE)) {
      try {
        CompletableFuture<Packet> slow = client.call(p -> p.writeBoolean(true), Duration.ofMillis(200));
        ExecutionException e = assertThrows(ExecutionException.class, () -> slow.get(10, TimeUnit.SECONDS));
        TimeoutException timeout = assertInstanceOf(TimeoutException.class, e.getCause());
        assertEquals("no reply to call 1 within 200 ms", timeout.getMessage());
        assertEquals(0, client.pendingCalls());
      } finally {
        slowMayAnswer.countDown(); // Now the server answers the call that timed out.
      }
      await(() -> client.lateReplies() == 1, "the late reply");
      PacketLeaks.assertNone(PATIENCE); // The client released it: the caller never saw it.
      try (Packet reply = client.call(p -> p.writeBoolean(false)).get(10, TimeUnit.SECONDS)) {
        assertEquals("done", reply.readShortPrefixedString()); // The connection still serves calls.
      }
    }
  }

  @Test
  void closingTheClientFailsAllPendingCalls() throws Exception {
    CountDownLatch mayAnswer = new CountDownLatch(1);
    try (RpcServer server = RpcServer.bind(LOOPBACK, (request, reply) -> mayAnswer.await())) {
      try {
        RpcClient client = connect(server.port(), PATIENCE);
        List<CompletableFuture<Packet>> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) calls.add(client.call(p -> p.writeInt(0)));
        client.close();
        assertPendingCallsFailed(calls, "connection closed");
        assertEquals(0, client.pendingCalls());
      } finally {
        mayAnswer.countDown();
      }
    }
  }

  @Test
  void serverClosingTheConnectionFailsAllPendingCalls() throws Exception {
    // A server that never answers: the calls wait until the connection ends.
    PacketServer silent = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, (conn, p) -> p.release());
    try (RpcClient client = connect(silent.port(), PATIENCE)) {
      List<CompletableFuture<Packet>> calls = new ArrayList<>();
      for (int i = 0; i < 5; i++) calls.add(client.call(p -> p.writeInt(0)));
      silent.close(); // Closes the client's connection gracefully, from the server's side.
      assertPendingCallsFailed(calls, "connection closed");
      assertEquals(0, client.pendingCalls());
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> client.call(p -> p.writeInt(0)).get(10, TimeUnit.SECONDS));
      assertEquals("connection closed", assertInstanceOf(IOException.class, e.getCause()).getMessage());
    } finally {
      silent.close();
    }
  }

  @Test
  void serviceFailureFailsOnlyItsCall() throws Exception {
    RpcServer.Service picky =
        (request, reply) -> {
          int n = request.readInt();
          if (n < 0) throw new IllegalArgumentException("n < 0: " + n);
          reply.writeInt(n * 2);
        };
    try (RpcServer server = RpcServer.bind(LOOPBACK, picky);
        RpcClient client = connect(server.port(), PATIENCE)) {
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> client.call(p -> p.writeInt(-1)).get(10, TimeUnit.SECONDS));
      RpcException failed = assertInstanceOf(RpcException.class, e.getCause());
      assertEquals("java.lang.IllegalArgumentException: n < 0: -1", failed.getMessage());
      try (Packet reply = client.call(p -> p.writeInt(21)).get(10, TimeUnit.SECONDS)) {
        assertEquals(42, reply.readInt());
      }
    }
  }

  @Test
  void timeoutMustBePositive() throws Exception {
    try (RpcServer server = RpcServer.bind(LOOPBACK, ECHO)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> connect(server.port(), Duration.ZERO));
      assertEquals("timeout <= 0: PT0S", e.getMessage());
    }
  }

  private static RpcClient connect(int port, Duration timeout) throws IOException {
    return RpcClient.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), timeout);
  }

  private static void assertPendingCallsFailed(List<CompletableFuture<Packet>> calls, String message) {
    for (CompletableFuture<Packet> call : calls) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
      assertEquals(message, assertInstanceOf(IOException.class, e.getCause()).getMessage());
    }
  }

  /** Waits, at most {@link #PATIENCE}, until {@code condition} holds. */
  private static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) fail("no " + what + " within " + PATIENCE.toMillis() + " ms");
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // Polls a condition; waits for nothing else.
    }
  }
}
