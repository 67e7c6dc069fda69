package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS key material of the bench: one self-signed EC P-256 certificate for {@code localhost}
 * and {@code 127.0.0.1}, in {@code tls/bench.p12} on the class path (made by {@code make-key.sh}
 * beside it). Every TLS server and the {@link LoadGenerator} use it, so they all run the same key
 * and the same certificate check.
 *
 * <p>Checked in rather than made with {@code keytool} at bench start: each server runs in a JVM of
 * its own and would need the file passed to it, a runtime image need not have {@code keytool},
 * and a fixed key keeps runs comparable. It is a throwaway key for loopback benchmarks.
 *
 * <p>The generator offers a single cipher suite per protocol version ({@link #cipherSuite}), so
 * that every server negotiates the same one: Netty's JDK provider prefers AES-128, the JDK's own
 * defaults prefer AES-256. Thread-safe.
 */
final class BenchTls {
  /** The protocol versions {@code --tls} accepts; the first is the default. */
  static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  private static final String KEY_STORE = "/tls/bench.p12";
  private static final char[] PASSWORD = "changeit".toCharArray();

  private BenchTls() {}

  /** {@return the certificate and its key, for a server} */
  static KeyManagerFactory keyManagers() {
    try {
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(keyStore(), PASSWORD);
      return keys;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("bench TLS key " + KEY_STORE + ": " + e, e);
    }
  }

  /** {@return a server's context: the bench certificate, no client certificates asked} */
  static SSLContext serverContext() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyManagers().getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("bench TLS server context: " + e, e);
    }
  }

  /** {@return a client's context that trusts the bench certificate only} */
  static SSLContext clientContext() {
    try {
      KeyStore source = keyStore();
      KeyStore trusted = KeyStore.getInstance("PKCS12");
      trusted.load(null, null);
      Certificate certificate = source.getCertificate("bench");
      if (certificate == null) throw new IllegalStateException("no certificate \"bench\" in " + KEY_STORE);
      trusted.setCertificateEntry("bench", certificate);
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("bench TLS client context: " + e, e);
    }
  }

  /** {@return the one cipher suite the generator offers with {@code protocol}: AES-128-GCM} */
  static String cipherSuite(String protocol) {
    return switch (protocol) {
      case "TLSv1.3" -> "TLS_AES_128_GCM_SHA256";
      case "TLSv1.2" -> "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
      default -> throw new IllegalArgumentException("unknown TLS protocol " + protocol + ", expected one of " + PROTOCOLS);
    };
  }

  private static KeyStore keyStore() throws GeneralSecurityException {
    try (InputStream in = BenchTls.class.getResourceAsStream(KEY_STORE)) {
      if (in == null) throw new IllegalStateException("missing " + KEY_STORE + " on the class path");
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, PASSWORD);
      return store;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + KEY_STORE, e);
    }
  }
}
