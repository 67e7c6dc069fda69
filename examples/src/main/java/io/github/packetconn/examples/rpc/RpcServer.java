package io.github.packetconn.examples.rpc;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketServer;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * Answers the calls of {@link RpcClient}s with a {@link Service}, each call on a virtual thread of
 * its own, so a slow call delays neither the I/O thread nor the other calls.
 *
 * <p>A request is {@code id (8 bytes) | body}; its reply is {@code id | 0 | body}, or {@code id | 1
 * | message} (a 32-bit-prefixed string) if the service threw. Replies go back in the order calls
 * finish, not the order they came: the id tells the client which is which.
 *
 * <p>The I/O thread hands each request to a worker and never touches it again; the worker owns it
 * and releases it when the call is done, which is the package's rule for passing a packet between
 * threads. Thread-safe.
 */
public final class RpcServer implements Closeable {
  static final byte OK = 0;
  static final byte FAILED = 1;

  /** Computes one reply. */
  @FunctionalInterface
  public interface Service {
    /**
     * Reads the request's body (positioned after the id) and writes the reply's body. Runs on a
     * virtual thread: it may block. The server releases both packets.
     */
    void serve(Packet request, Packet reply) throws Exception;
  }

  private final Service service;
  private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
  private final PacketServer server;

  private RpcServer(SocketAddress address, Service service) throws IOException {
    this.service = service;
    this.server = PacketServer.bind(address, PacketConfig.DEFAULT, this::received);
  }

  /** Serves upper-casing on port 14573 (or the first argument) until the process is stopped. */
  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 14573;
    Service upperCase =
        (request, reply) -> {
          String words = request.readShortPrefixedString();
          reply.writeShortPrefixedString(words.toUpperCase(Locale.ROOT));
        };
    try (RpcServer rpc = bind(port, upperCase)) {
      System.out.println("rpc server listening on port " + rpc.port());
      rpc.server.closeFuture().join(); // Until the process is stopped.
    }
  }

  /** Listens on {@code port} of every interface (0 picks a free port). */
  public static RpcServer bind(int port, Service service) throws IOException {
    return new RpcServer(new InetSocketAddress(port), service);
  }

  /** Listens on {@code address}. */
  public static RpcServer bind(SocketAddress address, Service service) throws IOException {
    return new RpcServer(address, service);
  }

  /** {@return the bound TCP port} */
  public int port() {
    return server.port();
  }

  /** Stops accepting, closes the connections, then waits for the calls still running. */
  @Override
  public void close() throws IOException {
    try {
      server.close();
    } finally {
      workers.close();
    }
  }

  /** On the I/O thread: hand the request over and return at once. */
  private void received(PacketConn conn, Packet request) {
    try {
      workers.execute(() -> answer(conn, request)); // The worker owns the request from here on.
    } catch (RejectedExecutionException closing) { // Not handed over: still ours to release.
      request.release();
      conn.abort();
    }
  }

  /** On a worker: serve one call and send its reply. */
  private void answer(PacketConn conn, Packet request) {
    try (request; Packet reply = Packet.allocate()) {
      if (request.remaining() < 8) { // Not one of our clients.
        conn.abort();
        return;
      }
      long id = request.readLong();
      reply.writeLong(id).writeByte(OK);
      try {
        service.serve(request, reply);
      } catch (Exception e) {
        reply.clear().writeLong(id).writeByte(FAILED).writeIntPrefixedString(e.toString());
      }
      try {
        conn.send(reply); // Waits while the connection's send queue is full.
      } catch (IllegalStateException e) {
        if (conn.isOpen()) throw e; // Else the client left: nobody to answer.
      }
    }
  }
}
