package io.github.packetconn;

import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A connection's first TLS handshake, from its start to its end or failure. */
@Name("io.github.packetconn.TlsHandshake")
@Label("TLS Handshake")
@Description("A connection's first TLS handshake, from its start to its end or failure")
final class TlsHandshakeEvent extends ConnectionEvent {
  @Label("Client")
  @Description("Whether this end is the client")
  boolean client;

  @Label("Success")
  @Description("Whether the handshake finished; if not, Failure says why")
  boolean success;

  @Label("Protocol")
  @Description("The negotiated protocol, such as TLSv1.3")
  String protocol;

  @Label("Cipher Suite")
  @Description("The negotiated cipher suite, such as TLS_AES_128_GCM_SHA256")
  String cipherSuite;

  @Label("Peer Principal")
  @Description("The subject of the peer's certificate; empty when the peer sent none")
  String peerPrincipal;

  @Label("Failure")
  @Description("Why the handshake failed: the exception's type and message")
  String failure;
}
