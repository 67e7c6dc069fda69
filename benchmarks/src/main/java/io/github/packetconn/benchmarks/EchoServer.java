package io.github.packetconn.benchmarks;

import java.io.Closeable;
import java.io.IOException;

/**
 * A server under test, an echo or a fan-out ({@link Fanout}): listening once created, until {@link
 * #close()}.
 */
interface EchoServer extends Closeable {
  /** {@return the bound port} */
  int port();

  /** Stops accepting, closes every connection and releases the server's threads. */
  @Override
  void close() throws IOException;
}
