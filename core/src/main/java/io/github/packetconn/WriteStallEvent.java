package io.github.packetconn;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** {@link PacketConfig#writeStallTimeout()} closed a connection whose peer stopped reading. */
@Name("io.github.packetconn.WriteStall")
@Label("Write Stall Timeout")
@Description("writeStallTimeout closed a connection whose queued packets could not be written: the"
    + " peer stopped reading")
final class WriteStallEvent extends ConnectionEvent {
  @Label("Stalled For")
  @Description("How long no byte could be written while packets were queued")
  @Timespan(Timespan.NANOSECONDS)
  long stalled;

  @Label("Queued")
  @Description("The bytes queued and dropped")
  @DataAmount(DataAmount.BYTES)
  long queuedBytes;
}
