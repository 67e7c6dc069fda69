package io.github.packetconn.testing;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.github.packetconn.PacketConfig;
import io.github.packetconn.TlsConfig;
import java.io.InputStream;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The keys and certificates in src/test/resources/tls (made by make-fixtures.sh there) as {@link
 * SSLContext}s: a CA, a server and a client certificate it signed, a server certificate for another
 * host, and a CA that signed none of them.
 */
public final class TlsFixtures {
  /** The server's certificate for localhost, 127.0.0.1 and ::1; trusts the CA for client certificates. */
  public static final SSLContext SERVER = context("server.p12", "ca-trust.p12");
  /** A client with a certificate from the CA, trusting the CA. */
  public static final SSLContext CLIENT = context("client.p12", "ca-trust.p12");
  /** A client without a certificate, trusting the CA. */
  public static final SSLContext ANONYMOUS = context(null, "ca-trust.p12");
  /** A server whose certificate names example.com only. */
  public static final SSLContext ELSEWHERE = context("elsewhere.p12", "ca-trust.p12");
  /** A client trusting another CA only. */
  public static final SSLContext WRONG_CA = context(null, "other-ca-trust.p12");

  private TlsFixtures() {}

  /** {@return a config with {@code tls} and packets of up to 1 MiB, for a server or a client} */
  public static PacketConfig withTls(TlsConfig tls) {
    return PacketConfig.builder().tls(tls).maxPacketSize(1 << 20).build();
  }

  /** {@return a context with the key in {@code keyStore} (none if null) trusting {@code trustStore}} */
  private static SSLContext context(String keyStore, String trustStore) {
    try {
      char[] password = "changeit".toCharArray();
      KeyManagerFactory keys = null;
      if (keyStore != null) {
        keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(load(keyStore, password), password);
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(load(trustStore, password));
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
      return context;
    } catch (Exception e) {
      throw new IllegalStateException("TLS fixtures: " + e, e);
    }
  }

  private static KeyStore load(String name, char[] password) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = TlsFixtures.class.getResourceAsStream("/tls/" + name)) {
      assertNotNull(in, "missing fixture tls/" + name + ": run make-fixtures.sh");
      store.load(in, password);
    }
    return store;
  }
}
