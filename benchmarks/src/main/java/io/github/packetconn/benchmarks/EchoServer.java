package io.github.packetconn.benchmarks;

import java.io.Closeable;
import java.io.IOException;

/** An echo server under test: listening once created, until {@link #close()}. */
interface EchoServer extends Closeable {
  /** {@return the bound port} */
  int port();

  /** Stops accepting, closes every connection and releases the server's threads. */
  @Override
  void close() throws IOException;
}
