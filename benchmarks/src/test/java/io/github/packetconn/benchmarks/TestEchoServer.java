package io.github.packetconn.benchmarks;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A blocking echo server for tests: one virtual thread per connection reads whole frames and writes
 * them back, after passing each through a {@link Fault} that may damage the stream.
 */
final class TestEchoServer implements AutoCloseable {
  /** Echoes frame {@code index} (counted per connection), perhaps changed. */
  interface Fault {
    Fault NONE = (connection, index, payload, out) -> writeFrame(out, payload);

    /** Writes the echo of {@code payload} to {@code out}. */
    void echo(int connection, long index, byte[] payload, OutputStream out) throws IOException;

    /** {@return a fault that flips one payload byte of frame {@code index} on connection 0} */
    static Fault corrupting(long index) {
      return (connection, i, payload, out) -> {
        if (connection == 0 && i == index && payload.length > 0) payload[payload.length / 2] ^= 1;
        writeFrame(out, payload);
      };
    }
  }

  private final ServerSocket socket;
  private final Fault fault;
  private final boolean swapFirstTwo;
  private final List<Socket> connections = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  /**
   * Starts a server on an ephemeral loopback port. With {@code swapFirstTwo}, connection 0 echoes
   * its first two frames in reverse order.
   */
  TestEchoServer(Fault fault, boolean swapFirstTwo) throws IOException {
    this.fault = fault;
    this.swapFirstTwo = swapFirstTwo;
    this.socket = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    this.acceptor = Thread.ofVirtual().start(this::accept);
  }

  TestEchoServer() throws IOException {
    this(Fault.NONE, false);
  }

  InetSocketAddress address() {
    return new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
  }

  private void accept() {
    int index = 0;
    while (true) {
      Socket connection;
      try {
        connection = socket.accept();
      } catch (IOException closed) {
        return;
      }
      connections.add(connection);
      int id = index++;
      Thread.ofVirtual().start(() -> serve(id, connection));
    }
  }

  private void serve(int id, Socket connection) {
    try (connection) {
      connection.setTcpNoDelay(true);
      DataInputStream in = new DataInputStream(connection.getInputStream());
      OutputStream out = connection.getOutputStream();
      byte[] held = null;
      for (long index = 0; ; index++) {
        byte[] payload = readFrame(in);
        if (payload == null) return;
        if (swapFirstTwo && id == 0 && index == 0) {
          held = payload;
          continue;
        }
        fault.echo(id, index, payload, out);
        if (held != null) {
          writeFrame(out, held);
          held = null;
        }
      }
    } catch (IOException e) {
      // The client went away: nothing to do.
    }
  }

  private static byte[] readFrame(DataInputStream in) throws IOException {
    byte[] prefix = new byte[4];
    int first = in.read(prefix, 0, 1);
    if (first < 0) return null;
    in.readFully(prefix, 1, 3);
    int length =
        (prefix[0] & 0xff) | (prefix[1] & 0xff) << 8 | (prefix[2] & 0xff) << 16 | prefix[3] << 24;
    if (length < 0) throw new EOFException("bad length " + length);
    byte[] payload = new byte[length];
    in.readFully(payload);
    return payload;
  }

  static void writeFrame(OutputStream out, byte[] payload) throws IOException {
    int length = payload.length;
    byte[] frame = new byte[4 + length];
    frame[0] = (byte) length;
    frame[1] = (byte) (length >>> 8);
    frame[2] = (byte) (length >>> 16);
    frame[3] = (byte) (length >>> 24);
    System.arraycopy(payload, 0, frame, 4, length);
    out.write(frame);
  }

  @Override
  public void close() throws IOException {
    socket.close();
    for (Socket connection : connections) connection.close();
    acceptor.interrupt();
  }
}
