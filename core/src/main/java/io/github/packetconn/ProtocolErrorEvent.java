package io.github.packetconn;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A peer broke the wire format, which closed its connection: the message says how. */
@Name("io.github.packetconn.ProtocolError")
@Label("Protocol Error")
@Description("A peer broke the wire format (a length above maxPacketSize, a CRC mismatch), which"
    + " closed its connection")
final class ProtocolErrorEvent extends ConnectionEvent {
  @Label("Message")
  @Description("What the peer sent, with its values, and the protocol its bytes spell when known")
  String message;
}
