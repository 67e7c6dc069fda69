package io.github.packetconn;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Threshold;

/**
 * A connection stopped reading, so that TCP pushes back on its peer; the event lasts from the pause
 * to the resume (or to the close, if that came first).
 */
@Name("io.github.packetconn.Backpressure")
@Label("Reading Paused")
@Description("A connection stopped reading, so that TCP pushes back on its peer: from the pause to the"
    + " resume, or to the close")
@Threshold("10 ms") // Shorter pauses are the normal breathing of a busy server.
final class BackpressureEvent extends ConnectionEvent {
  /** A handler sent to a connection whose send queue was over sendQueueBytes. */
  static final String SEND_QUEUE_FULL = "send queue full";
  /** A handler's send found the memory budget's account of queued frames spent. */
  static final String QUEUED_BUDGET = "memory budget: queued frames";
  /** The memory budget's account of partly received frames was spent. */
  static final String PARTIAL_BUDGET = "memory budget: partly received frames";

  @Label("Reason")
  @Description("Why: 'send queue full', 'memory budget: queued frames' or 'memory budget: partly"
      + " received frames'")
  String reason;

  @Label("Sending To")
  @Description("For a full send queue: the remote address of the connection it belongs to, which this"
      + " connection's handler sends to")
  String sendingTo;
}
