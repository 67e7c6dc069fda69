package io.github.packetconn.benchmarks;

import java.util.List;

/**
 * What carries a server's bytes, read from its name: {@code netty-unix} runs over a Unix domain
 * socket, {@code netty-tls} over TLS, anything else over plain TCP. The console tables and the
 * charts have one part per transport, each compared with its own Netty.
 */
enum Transport {
  TCP("TCP", "tcp", "netty"),
  UNIX("Unix socket", "unix", "netty-unix"),
  TLS("TLS", "tls", "netty-tls");

  private final String label;
  private final String fileName;
  private final String netty;

  Transport(String label, String fileName, String netty) {
    this.label = label;
    this.fileName = fileName;
    this.netty = netty;
  }

  /** {@return the transport {@code server} runs over} */
  static Transport of(String server) {
    if (ServerMain.TLS_KINDS.contains(server)) return TLS;
    return server.endsWith(ServerMain.UNIX_SUFFIX) ? UNIX : TCP;
  }

  /** {@return how a report names it: TCP, Unix socket, TLS} */
  String label() {
    return label;
  }

  /** {@return its part of a file name: tcp, unix, tls} */
  String fileName() {
    return fileName;
  }

  /** {@return the servers of {@code servers} over this transport, in their order} */
  List<String> select(List<String> servers) {
    return servers.stream().filter(server -> of(server) == this).toList();
  }

  /** {@return what the others are compared with: this transport's Netty if it ran, else the first} */
  String baseline(List<String> servers) {
    List<String> mine = select(servers);
    return mine.contains(netty) ? netty : mine.get(0);
  }
}
