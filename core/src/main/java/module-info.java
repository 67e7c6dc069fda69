/** packetconn: send and receive packets over TCP. See {@link io.github.packetconn}. */
module io.github.packetconn {
  requires java.management; // MBeans for servers and, on request, connections: see the README.

  exports io.github.packetconn;
}
