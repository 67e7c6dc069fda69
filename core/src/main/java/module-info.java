/** packetconn: send and receive packets over TCP. See {@link io.github.packetconn}. */
module io.github.packetconn {
  exports io.github.packetconn;
}
