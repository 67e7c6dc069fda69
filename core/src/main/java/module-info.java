/** packetconn: send and receive packets over TCP. See {@link io.github.packetconn}. */
module io.github.packetconn {
  requires java.management; // MBeans for servers and, on request, connections: see the README.
  requires jdk.jfr; // Flight Recorder events, free while nothing records: see ConnectionEvents.

  exports io.github.packetconn;
}
