package io.github.packetconn;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.StackTrace;

/**
 * What every packetconn Flight Recorder event says: which connection. The subclasses are the events;
 * {@link ConnectionEvents} makes and commits them.
 */
@Category("packetconn")
@StackTrace(false) // Always the I/O thread's loop: a stack would cost more than it tells.
abstract class ConnectionEvent extends Event {
  @Label("Local Address")
  @Description("This end of the connection: host:port, or a Unix domain socket path")
  String localAddress;

  @Label("Remote Address")
  @Description("The peer: host:port, or a Unix domain socket path ('unnamed' for a client's end)")
  String remoteAddress;

  /** Fills in the connection; only for an event about to be committed, since it makes strings. */
  final void connection(PacketConn conn) {
    localAddress = PacketConn.format(conn.localAddress());
    remoteAddress = PacketConn.format(conn.remoteAddress());
  }
}
