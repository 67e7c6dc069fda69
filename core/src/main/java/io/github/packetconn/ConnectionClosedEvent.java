package io.github.packetconn;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** A connection ended: how, why, after how long, and what crossed it (its {@link ConnectionStats}). */
@Name("io.github.packetconn.ConnectionClosed")
@Label("Connection Closed")
@Description("A connection ended: how, why, after how long, and the packets and bytes that crossed it")
final class ConnectionClosedEvent extends ConnectionEvent {
  @Label("Kind")
  @Description("How it ended, as ServerStats counts it: CLEAN, PROTOCOL_ERROR, TRUNCATED, IO_ERROR,"
      + " TIMEOUT, ABORTED or HANDLER_FAILURE")
  String kind;

  @Label("Cause")
  @Description("Why it failed: the exception's type and message; empty for a clean close or an abort")
  String cause;

  @Label("Lifetime")
  @Description("From the connection's opening to its end")
  @Timespan(Timespan.NANOSECONDS)
  long lifetime;

  @Label("Packets In")
  @Description("Packets received: handed to the handler or to receive()")
  long packetsIn;

  @Label("Bytes In")
  @Description("Bytes read from the socket, headers and CRCs included (over TLS: after decryption)")
  @DataAmount(DataAmount.BYTES)
  long bytesIn;

  @Label("Packets Out")
  @Description("Packets accepted by send or trySend")
  long packetsOut;

  @Label("Bytes Out")
  @Description("Bytes written to the socket, headers and CRCs included (over TLS: before encryption)")
  @DataAmount(DataAmount.BYTES)
  long bytesOut;
}
