package io.github.packetconn;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * TLS for a connection, from a JDK {@link SSLContext}: no other dependency.
 *
 * <p>A <b>client</b> verifies that the server's certificate names the host it connected to (as
 * HTTPS does) and sends that host name for SNI; {@link #serverName} names another. A <b>server</b>
 * can ask for or require client certificates ({@link #clientAuth}). Both speak TLS 1.3 and 1.2 by
 * default. A handshake that fails, or does not finish within {@link #handshakeTimeout}, ends that
 * connection with the {@link javax.net.ssl.SSLException} or {@link java.net.SocketTimeoutException}
 * as its cause. Packets sent before the handshake finishes wait in the send queue.
 *
 * <pre>{@code
 * PacketConfig server = PacketConfig.builder()
 *     .tls(TlsConfig.server(sslContext).clientAuth(TlsConfig.ClientAuth.NEED))
 *     .build();
 * PacketConfig client = PacketConfig.builder().tls(TlsConfig.client(sslContext)).build();
 * }</pre>
 *
 * <p>Immutable: each {@code with}-style method returns a new configuration.
 */
public final class TlsConfig {
  /** Whether a server asks its clients for a certificate. */
  public enum ClientAuth {
    /** Does not ask (the default). */
    NONE,
    /** Asks; a client without a certificate is still accepted. */
    WANT,
    /** Requires a certificate the server's trust store accepts. */
    NEED
  }

  private final SSLContext context;
  private final boolean client;
  private final ClientAuth clientAuth;
  private final String serverName; // Null: the host connected to.
  private final boolean hostnameVerification;
  private final List<String> protocols;
  private final Duration handshakeTimeout;

  private TlsConfig(
      SSLContext context,
      boolean client,
      ClientAuth clientAuth,
      String serverName,
      boolean hostnameVerification,
      List<String> protocols,
      Duration handshakeTimeout) {
    this.context = Objects.requireNonNull(context, "context");
    this.client = client;
    this.clientAuth = Objects.requireNonNull(clientAuth, "clientAuth");
    this.serverName = serverName;
    this.hostnameVerification = hostnameVerification;
    this.protocols = List.copyOf(protocols);
    this.handshakeTimeout = Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
    if (this.protocols.isEmpty()) throw new IllegalArgumentException("no TLS protocols");
    if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
      throw new IllegalArgumentException("handshakeTimeout <= 0: " + handshakeTimeout);
    }
  }

  /**
   * {@return the TLS settings of a client: TLS 1.3 and 1.2, host name verified, 10 s handshake}
   *
   * @param context the client's trust (and, for mutual TLS, its key), as for any JDK TLS socket
   */
  public static TlsConfig client(SSLContext context) {
    return new TlsConfig(
        context, true, ClientAuth.NONE, null, true, List.of("TLSv1.3", "TLSv1.2"), Duration.ofSeconds(10));
  }

  /**
   * {@return the TLS settings of a server: TLS 1.3 and 1.2, no client certificate, 10 s handshake}
   *
   * @param context the server's key (and, to check client certificates, its trust)
   */
  public static TlsConfig server(SSLContext context) {
    return new TlsConfig(
        context, false, ClientAuth.NONE, null, false, List.of("TLSv1.3", "TLSv1.2"), Duration.ofSeconds(10));
  }

  /**
   * {@return these settings with the server asking for client certificates}
   *
   * @param auth whether the server asks for a certificate, and whether it must be given
   * @throws IllegalStateException on a client's settings
   */
  public TlsConfig clientAuth(ClientAuth auth) {
    if (client) throw new IllegalStateException("clientAuth is a server setting");
    return new TlsConfig(context, client, auth, serverName, hostnameVerification, protocols, handshakeTimeout);
  }

  /**
   * {@return these settings with {@code name} sent for SNI and verified in the server's certificate,
   * instead of the host connected to}
   *
   * @param name a DNS host name
   * @throws IllegalStateException on a server's settings
   */
  public TlsConfig serverName(String name) {
    if (!client) throw new IllegalStateException("serverName is a client setting");
    Objects.requireNonNull(name, "name");
    return new TlsConfig(context, client, clientAuth, name, hostnameVerification, protocols, handshakeTimeout);
  }

  /**
   * {@return these settings with host name verification on or off; off trusts any certificate the
   * trust store accepts, whatever host it names}
   *
   * @param enabled true (the default) to check that the certificate names the host
   */
  public TlsConfig hostnameVerification(boolean enabled) {
    return new TlsConfig(context, client, clientAuth, serverName, enabled, protocols, handshakeTimeout);
  }

  /**
   * {@return these settings with only {@code protocols} enabled, e.g. {@code "TLSv1.3"}}
   *
   * @param protocols JDK protocol names, at least one
   */
  public TlsConfig protocols(String... protocols) {
    return new TlsConfig(
        context, client, clientAuth, serverName, hostnameVerification, List.of(protocols), handshakeTimeout);
  }

  /**
   * {@return these settings with a handshake allowed {@code timeout} to finish}
   *
   * @param timeout more than zero (default 10 s)
   */
  public TlsConfig handshakeTimeout(Duration timeout) {
    return new TlsConfig(context, client, clientAuth, serverName, hostnameVerification, protocols, timeout);
  }

  /** {@return true for a client's settings} */
  public boolean isClient() {
    return client;
  }

  /** {@return the server's client certificate policy} */
  public ClientAuth clientAuth() {
    return clientAuth;
  }

  /** {@return the enabled protocols} */
  public List<String> protocols() {
    return protocols;
  }

  /** {@return how long a handshake may take} */
  public Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  @Override
  public String toString() {
    return "TlsConfig[" + (client ? "client" : "server") + ", " + protocols
        + (client ? ", hostnameVerification=" + hostnameVerification : ", clientAuth=" + clientAuth)
        + (serverName != null ? ", serverName=" + serverName : "") + "]";
  }

  /** Makes the engine of one connection to or from {@code peer}. */
  SSLEngine newEngine(SocketAddress peer) {
    SSLEngine engine;
    String host = serverName;
    if (host == null && peer instanceof InetSocketAddress inet) host = inet.getHostString();
    if (client && host != null) {
      engine = context.createSSLEngine(host, peer instanceof InetSocketAddress inet ? inet.getPort() : -1);
    } else {
      engine = context.createSSLEngine();
    }
    engine.setUseClientMode(client);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(protocols.toArray(String[]::new));
    if (client) {
      if (hostnameVerification) parameters.setEndpointIdentificationAlgorithm("HTTPS");
      if (host != null && isHostName(host)) parameters.setServerNames(List.of(new SNIHostName(host)));
    } else {
      switch (clientAuth) {
        case NEED -> parameters.setNeedClientAuth(true);
        case WANT -> parameters.setWantClientAuth(true);
        case NONE -> {}
      }
    }
    engine.setSSLParameters(parameters);
    return engine;
  }

  /** {@return true unless {@code host} is an IP address literal, which SNI must not carry} */
  private static boolean isHostName(String host) {
    if (host.indexOf(':') >= 0) return false; // IPv6.
    return !host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9')) && !host.endsWith(".");
  }
}
