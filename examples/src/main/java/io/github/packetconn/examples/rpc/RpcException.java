package io.github.packetconn.examples.rpc;

/** The remote service failed a call; the message is the server's description of the failure. */
public final class RpcException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Makes the failure of a call whose service threw; {@code message} comes from the server. */
  public RpcException(String message) {
    super(message);
  }
}
