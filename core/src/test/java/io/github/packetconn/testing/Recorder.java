package io.github.packetconn.testing;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A handler that records its connections: the first one opened and how the first one closed, each
 * TCP connection by its peer's port, the packets received and how many times {@code onClose} ran.
 * It echoes what it receives, or only releases it. Tests subclass it to add a callback, such as
 * {@code onIdle}. Thread-safe.
 */
public class Recorder implements PacketHandler {
  /** Packets received, on all connections. */
  public final AtomicInteger received = new AtomicInteger();
  /** How many times {@code onClose} ran, for all connections. */
  public final AtomicInteger closeCalls = new AtomicInteger();

  private final boolean echo;
  private final CompletableFuture<PacketConn> firstOpened = new CompletableFuture<>();
  private final CompletableFuture<Throwable> firstClosed = new CompletableFuture<>();
  private final Map<Integer, CompletableFuture<PacketConn>> opened = new ConcurrentHashMap<>();
  private final Map<Integer, CompletableFuture<Throwable>> closed = new ConcurrentHashMap<>();

  /** An echo that records. */
  public Recorder() {
    this(true);
  }

  /** Echoes what it receives if {@code echo}, else only releases it. */
  public Recorder(boolean echo) {
    this.echo = echo;
  }

  /** {@return the first connection opened} */
  public CompletableFuture<PacketConn> opened() {
    return firstOpened;
  }

  /** {@return the cause the first connection closed with (null: clean)} */
  public CompletableFuture<Throwable> closed() {
    return firstClosed;
  }

  /** {@return the connection from the peer's port {@code port}: on a server, a client's local port} */
  public CompletableFuture<PacketConn> opened(int port) {
    return opened.computeIfAbsent(port, k -> new CompletableFuture<>());
  }

  /** {@return the cause the connection from {@code port} closed with (null: clean)} */
  public CompletableFuture<Throwable> closed(int port) {
    return closed.computeIfAbsent(port, k -> new CompletableFuture<>());
  }

  /** Forgets {@code port}, so that a later connection from the same port starts afresh. */
  public void forget(int port) {
    opened.remove(port);
    closed.remove(port);
  }

  @Override
  public void onOpen(PacketConn conn) {
    if (conn.remoteAddress() instanceof InetSocketAddress peer) opened(peer.getPort()).complete(conn);
    firstOpened.complete(conn);
  }

  @Override
  public void onPacket(PacketConn conn, Packet packet) {
    try (packet) {
      received.incrementAndGet();
      if (echo) conn.send(packet);
    }
  }

  @Override
  public void onClose(PacketConn conn, Throwable cause) {
    closeCalls.incrementAndGet();
    if (conn.remoteAddress() instanceof InetSocketAddress peer) closed(peer.getPort()).complete(cause);
    firstClosed.complete(cause);
  }
}
