package io.github.packetconn.benchmarks;

import io.github.packetconn.ConnectionHandler;
import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import io.github.packetconn.PacketHandler;
import io.github.packetconn.PacketServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The server side of {@code connections} ({@link ConnectionsBench}): a packetconn echo server that
 * reports its memory, in its own JVM so that it has a file descriptor limit of its own.
 *
 * <pre>
 * java -cp packetconn-benchmarks.jar io.github.packetconn.benchmarks.ConnectionsServer \
 *     --style callback|blocking
 * </pre>
 *
 * <p>Protocol: once listening on 127.0.0.1, prints {@code READY <port>}. Then reads commands from
 * stdin, one a line: {@code memory} collects garbage until a full GC frees nothing more and prints
 * {@code MEMORY heap=<bytes used> rss=<bytes> connections=<open>}; {@code quit}, or the end of stdin,
 * closes the server and exits. Diagnostics go to stderr.
 */
public final class ConnectionsServer {
  private ConnectionsServer() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 2 || !args[0].equals("--style")
        || !(args[1].equals("callback") || args[1].equals("blocking"))) {
      System.err.println("usage: ConnectionsServer --style callback|blocking");
      System.exit(2);
    }
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
    PacketServer server =
        args[1].equals("blocking")
            ? PacketServer.bind(address, PacketConfig.DEFAULT, (ConnectionHandler) ConnectionsServer::echo)
            : PacketServer.bind(address, PacketConfig.DEFAULT, (PacketHandler) ConnectionsServer::echo);
    System.out.println("READY " + server.port());
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !line.strip().equals("quit"); ) {
      switch (line.strip()) {
        case "memory" -> {
          long heap = heapAfterGc();
          System.out.println(
              "MEMORY heap=" + heap + " rss=" + rss() + " connections=" + server.connections().size());
          System.out.flush();
        }
        case "" -> {}
        default -> System.err.println("unknown command \"" + line + "\"; expected memory or quit");
      }
    }
    server.close();
    System.exit(0);
  }

  private static void echo(PacketConn conn, Packet packet) {
    try (packet) {
      conn.send(packet);
    }
  }

  private static void echo(PacketConn conn) {
    for (Packet packet : conn) {
      try (packet) {
        conn.send(packet);
      }
    }
  }

  /** {@return heap used after full collections, repeated until one frees less than 64 KiB} */
  static long heapAfterGc() {
    var memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc(); // A full, stop-the-world collection under G1 (no ExplicitGCInvokesConcurrent).
      long now = memory.getHeapMemoryUsage().getUsed();
      boolean stable = used - now < 64 << 10;
      used = Math.min(used, now);
      if (stable) break;
    }
    return used;
  }

  /** {@return this process's resident set size, from /proc/self/status; -1 if not Linux} */
  static long rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring(6).strip().split("\\s+")[0]) * 1024; // In kB.
        }
      }
      return -1;
    } catch (IOException | NumberFormatException e) {
      return -1; // Not Linux, or a format this does not know: no RSS.
    }
  }
}
