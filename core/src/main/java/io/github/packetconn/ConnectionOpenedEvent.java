package io.github.packetconn;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A connection begins to be served: accepted by a server, or connected or wrapped by a client. */
@Name("io.github.packetconn.ConnectionOpened")
@Label("Connection Opened")
@Description("A connection was accepted, connected or wrapped, and its I/O thread serves it from now on")
final class ConnectionOpenedEvent extends ConnectionEvent {
  @Label("TLS")
  @Description("Whether the connection speaks TLS; its handshake is a TLS Handshake event")
  boolean tls;
}
