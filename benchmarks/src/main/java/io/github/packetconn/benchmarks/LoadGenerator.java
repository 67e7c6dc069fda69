package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Drives an echo server with a {@link Workload} from <b>one thread</b>: one selector, one
 * non-blocking socket per client, the packetconn wire format (a 4-byte little-endian length, then
 * the payload; no CRC). Every echo is checked for length, order and content.
 *
 * <p>It is built not to be the bottleneck of what it measures: in steady state it <b>allocates
 * nothing</b> and holds no per-packet objects or per-client buffers. Payloads are slices of one
 * random pattern chosen by a hash of {@code (client, seq)} ({@link Payloads}), so the writer fills
 * one shared buffer with as many frames as each client's window allows and, after a partial write,
 * re-encodes the rest from the pattern; the reader checks each chunk against the pattern as it
 * arrives, so a 1 MiB echo needs no buffer either. One {@code nanoTime} stamps each write batch and
 * each read batch; round trips go to an HdrHistogram in nanoseconds. The result includes the bytes
 * the thread allocated and the CPU time it used per packet, to prove the point.
 *
 * <pre>{@code
 * LoadGenerator generator = new LoadGenerator(address, Workload.SMALL, 1);
 * LoadResult result =
 *     generator.run(Duration.ofSeconds(5), Duration.ofSeconds(10), LoadListener.NONE);
 * System.out.println(result.packetsPerSecond() + " packets/s, p99 " + result.p99Micros() + " us");
 * }</pre>
 *
 * <p>With {@value #BUSY_POLL_IN_FLIGHT} packets in flight or fewer (the latency workload) the
 * thread busy-polls its selector rather than sleeping in it, so that its own wake-up, tens of
 * microseconds on a virtual machine, does not add to the round trips it measures; it then uses its
 * whole CPU, and its CPU time per packet means nothing.
 *
 * <p><b>TLS</b> ({@code tlsProtocol} not null): each client runs an {@link SSLEngine} trusting
 * the bench's certificate ({@link BenchTls}, host name checked), offering one protocol version and
 * one cipher suite, handshaken as part of connecting ({@link TlsConnection}). The framing, checks
 * and timing are the same; buffers are heap ones for every workload. The engine allocates as it
 * wraps and unwraps, so over TLS the generator is not allocation-free; it still reports what it
 * allocated per packet.
 *
 * <p>A run connects at most {@link #MAX_PENDING_CONNECTS} clients at a time, warms up, measures,
 * then stops sending and waits up to {@link LoadPhases#DRAIN_TIMEOUT} for the echoes in flight, and
 * closes every socket ({@link LoadPhases}). Not thread-safe: one run at a time, on the calling
 * thread.
 */
final class LoadGenerator {
  /** Size of the shared read and write buffers. */
  static final int BUFFER_SIZE = 256 * 1024;

  /** Connects in progress at once, so that the server's accept backlog never overflows. */
  static final int MAX_PENDING_CONNECTS = 100;

  /** How long connecting may go without one more client connected. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** Workloads whose payloads are all at least this long use direct buffers. */
  static final int BULK_PAYLOAD = 16 * 1024;

  /** At most this many packets in flight in all, the generator busy-polls instead of blocking. */
  static final int BUSY_POLL_IN_FLIGHT = 8;

  /** Over TLS, buffers are at least this large: two records. */
  static final int MIN_TLS_BUFFER_SIZE = 40 * 1024;

  private final SocketAddress address;
  private final String tlsProtocol; // TLSv1.3 or TLSv1.2; null for plain TCP.
  private final SSLContext tlsContext; // Null for plain TCP.
  private final ByteBuffer tlsNetIn; // Ciphertext read, shared by all clients; null for plain TCP.
  private final ByteBuffer tlsNetOut; // Ciphertext to write, shared; null for plain TCP.
  private final boolean unix; // A Unix domain socket: no TCP_NODELAY, and connects never pend.
  private final Workload workload;
  private final Payloads payloads;
  private final byte[] pattern;
  private final int window; // Packets in flight per client.
  private final boolean busyPoll; // Waking from epoll_wait costs ~50 us on a VM: spin instead.
  // Small frames: heap buffers. The JDK copies them to and from a direct buffer in one bulk copy
  // per call, which costs less than a direct buffer's per-frame copies (126-158 vs 141-169 ns CPU
  // per packet, small workload), and Arrays.mismatch checks a heap buffer in place. Bulk frames
  // (large): direct buffers, checked against a direct copy of the pattern, saving two passes over
  // every byte (514-620 vs 571-634 us CPU per packet, large workload, same runs alternated).
  private final boolean bulk;
  private final ByteBuffer writeBuffer;
  private final ByteBuffer readBuffer;
  private final byte[] readArray; // readBuffer's array, or null if bulk.
  private final ByteBuffer patternBuffer; // A direct copy of the pattern if bulk, else null.
  private final LoadMeter meter;
  private final LoadErrors errors = new LoadErrors();
  private final LoadPhases phases;
  private final Consumer<SelectionKey> onReady = this::onReady; // Allocated once, not per select.

  private Selector selector;
  private LoadClient[] clients;
  private int live; // Clients still open.
  private String negotiated; // Over TLS: the protocol and cipher suite, for the log.

  /** Creates a generator for {@code workload} against the echo server at {@code address}. */
  LoadGenerator(SocketAddress address, Workload workload, long seed) {
    this(address, workload, seed, BUFFER_SIZE);
  }

  /** Creates a generator with buffers of {@code bufferSize} bytes (small ones for tests). */
  LoadGenerator(SocketAddress address, Workload workload, long seed, int bufferSize) {
    this(address, workload, seed, bufferSize, null);
  }

  /**
   * Creates a generator that speaks TLS {@code tlsProtocol} ({@code "TLSv1.3"} or {@code
   * "TLSv1.2"}), or plain TCP if it is null.
   */
  LoadGenerator(
      SocketAddress address, Workload workload, long seed, int bufferSize, String tlsProtocol) {
    if (bufferSize < 4) throw new IllegalArgumentException("bufferSize < 4: " + bufferSize);
    if (tlsProtocol != null) {
      BenchTls.cipherSuite(tlsProtocol); // Throws for an unknown protocol.
      if (address instanceof UnixDomainSocketAddress) {
        throw new IllegalArgumentException("TLS over a Unix domain socket: " + address);
      }
      bufferSize = Math.max(bufferSize, MIN_TLS_BUFFER_SIZE);
    }
    this.tlsProtocol = tlsProtocol;
    this.tlsContext = tlsProtocol == null ? null : BenchTls.clientContext();
    this.address = Objects.requireNonNull(address, "address");
    this.unix = address instanceof UnixDomainSocketAddress;
    this.workload = Objects.requireNonNull(workload, "workload");
    this.payloads = new Payloads(workload.minPayload(), workload.maxPayload(), seed);
    this.pattern = payloads.pattern;
    this.window = workload.inFlight();
    this.busyPoll = (long) workload.clients() * workload.inFlight() <= BUSY_POLL_IN_FLIGHT;
    this.bulk = tlsProtocol == null && workload.minPayload() >= BULK_PAYLOAD;
    this.writeBuffer = buffer(bufferSize).order(ByteOrder.LITTLE_ENDIAN);
    this.readBuffer = buffer(bufferSize).order(ByteOrder.LITTLE_ENDIAN);
    this.readArray = bulk ? null : readBuffer.array();
    this.patternBuffer = bulk ? ByteBuffer.allocateDirect(pattern.length).put(pattern) : null;
    // netIn no larger than the plaintext buffer (see TlsConnection); netOut takes a whole batch.
    this.tlsNetIn = tlsProtocol == null ? null : ByteBuffer.allocate(bufferSize);
    this.tlsNetOut = tlsProtocol == null ? null : ByteBuffer.allocate(2 * bufferSize);
    this.meter = new LoadMeter(workload);
    this.phases = new LoadPhases(meter);
  }

  private ByteBuffer buffer(int size) {
    return bulk ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
  }

  /**
   * Connects, warms up for {@code warmup}, measures for {@code duration}, drains and closes.
   *
   * @throws IOException if the clients cannot all connect; errors after that are in the result
   */
  LoadResult run(Duration warmup, Duration duration, LoadListener listener) throws IOException {
    try (Selector selector = Selector.open()) {
      this.selector = selector;
      phases.run(warmup, duration, listener, new Clients());
    }
    return meter.result(errors);
  }

  private void connectAll() throws IOException {
    int count = workload.clients();
    clients = new LoadClient[count];
    int next = 0;
    int[] pending = {0};
    int[] connected = {0};
    long lastProgress = System.nanoTime();
    IOException refused = null; // The last connect to a Unix socket that its full backlog refused.
    Consumer<SelectionKey> finish =
        key -> {
          LoadClient client = (LoadClient) key.attachment();
          try {
            if ((key.readyOps() & SelectionKey.OP_CONNECT) != 0) {
              if (!client.channel.finishConnect()) return;
              key.interestOps(SelectionKey.OP_READ);
              if (tlsProtocol != null) {
                startTls(client);
              } else {
                pending[0]--;
                connected[0]++;
                return;
              }
            }
            if (client.tls == null) return;
            if (!client.handshaken) {
              if (handshake(client)) {
                pending[0]--;
                connected[0]++;
              }
            } else if (key.isReadable()) { // TLS 1.3 session tickets: read them, or select spins.
              readBuffer.clear();
              if (client.tls.read(tlsNetIn, readBuffer, tlsNetOut) < 0) {
                throw new IOException("closed by the server after the TLS handshake");
              }
            }
          } catch (IOException e) {
            throw new UncheckedIOException(
                "client " + client.id + ": connect to " + address + " failed: " + e.getMessage(),
                e);
          }
        };
    while (connected[0] < count) {
      int before = connected[0]; // Before connecting: a connect may succeed at once.
      int started = 0;
      for (; next < count && pending[0] < MAX_PENDING_CONNECTS; next++) {
        // A Unix socket connects at once, before the server accepts, and fails (EAGAIN) when the
        // backlog is full; so connect a batch, let the server accept, and retry what failed.
        if (unix && started++ == MAX_PENDING_CONNECTS) break;
        SocketChannel channel =
            unix ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        channel.configureBlocking(false);
        if (!unix) channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        boolean done;
        try {
          done = channel.connect(address);
        } catch (IOException e) {
          channel.close();
          if (!unix) throw e;
          refused = e;
          break;
        }
        LoadClient client = new LoadClient(next, payloads.clientKey(next), window, channel);
        clients[next] = client;
        live++;
        if (done && tlsProtocol != null) { // Connected, the handshake still to go.
          client.selectionKey = channel.register(selector, SelectionKey.OP_READ, client);
          pending[0]++;
          startTls(client);
          if (handshake(client)) {
            pending[0]--;
            connected[0]++;
          }
        } else if (done) {
          client.selectionKey = channel.register(selector, SelectionKey.OP_READ, client);
          connected[0]++;
        } else {
          client.selectionKey = channel.register(selector, SelectionKey.OP_CONNECT, client);
          pending[0]++;
        }
      }
      try {
        selector.select(finish, unix ? 1 : 100);
      } catch (UncheckedIOException e) {
        throw new IOException(e.getMessage(), e.getCause());
      }
      long now = System.nanoTime();
      if (connected[0] > before) {
        lastProgress = now;
      } else if (now - lastProgress > CONNECT_TIMEOUT.toNanos()) {
        throw new IOException(
            "connecting to "
                + address
                + " timed out: "
                + connected[0]
                + " of "
                + count
                + " clients connected, "
                + pending[0]
                + " connects pending for "
                + CONNECT_TIMEOUT.toSeconds()
                + " s"
                + (refused != null ? "; last refused: " + refused.getMessage() : ""));
      }
    }
  }

  /** Creates the client's engine and starts its handshake. */
  private void startTls(LoadClient client) throws IOException {
    SSLEngine engine = tlsContext.createSSLEngine("127.0.0.1", client.channel.socket().getPort());
    engine.setUseClientMode(true);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(new String[] {tlsProtocol});
    parameters.setCipherSuites(new String[] {BenchTls.cipherSuite(tlsProtocol)});
    parameters.setEndpointIdentificationAlgorithm("HTTPS"); // The certificate names 127.0.0.1.
    engine.setSSLParameters(parameters);
    engine.beginHandshake();
    client.tls = new TlsConnection(engine, client.channel);
  }

  /** Moves the client's handshake on; {@return whether it is finished} */
  private boolean handshake(LoadClient client) throws IOException {
    boolean finished;
    try {
      finished = client.tls.handshake(tlsNetIn, tlsNetOut, readBuffer);
    } catch (IOException e) {
      throw new IOException("TLS handshake failed: " + e.getMessage(), e);
    }
    if (finished) {
      client.handshaken = true;
      if (negotiated == null) {
        negotiated =
            client.tls.engine().getSession().getProtocol()
                + " "
                + client.tls.engine().getSession().getCipherSuite();
      }
    }
    int ops = SelectionKey.OP_READ | (client.tls.hasPendingOutput() ? SelectionKey.OP_WRITE : 0);
    if (client.selectionKey.interestOps() != ops) client.selectionKey.interestOps(ops);
    return finished;
  }

  /** {@return the protocol and cipher suite the first TLS client negotiated, or null} */
  String negotiated() {
    return negotiated;
  }

  private void onReady(SelectionKey key) {
    LoadClient client = (LoadClient) key.attachment();
    try {
      int ready = key.readyOps();
      if ((ready & SelectionKey.OP_READ) != 0) read(client);
      if ((ready & SelectionKey.OP_WRITE) != 0 && client.open) write(client, System.nanoTime());
    } catch (IOException e) {
      fail(client, "client " + client.id + ": " + e + " after " + client.readSeq + " echoes");
    }
  }

  /** Writes as much of the client's window as its socket takes, from one buffer per write. */
  private void write(LoadClient client, long now) throws IOException {
    ByteBuffer buffer = writeBuffer;
    while (true) {
      long last = // The first packet the window does not allow yet.
          phases.phase() == Phase.DRAIN
              ? client.writeSeq + (client.writeOffset > 0 ? 1 : 0)
              : client.readSeq + window;
      long seq = client.writeSeq;
      int offset = client.writeOffset;
      buffer.clear();
      while (seq < last && buffer.hasRemaining()) {
        long hash = Payloads.hash(client.key, seq);
        int length = payloads.length(hash);
        if (offset == 0) client.sentAt[(int) seq & client.slotMask] = now;
        int frame = 4 + length;
        int count = Math.min(frame - offset, buffer.remaining());
        encode(buffer, length, Payloads.offset(hash), offset, count);
        offset += count;
        if (offset == frame) {
          seq++;
          offset = 0;
        }
      }
      if (buffer.position() == 0) break; // The window is full.
      buffer.flip();
      int written =
          client.tls == null ? client.channel.write(buffer) : client.tls.write(buffer, tlsNetOut);
      if (!buffer.hasRemaining()) {
        client.writeSeq = seq;
        client.writeOffset = offset;
        continue; // The socket may take more.
      }
      advance(client, written);
      if (!client.writeInterest) {
        client.writeInterest = true;
        client.selectionKey.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      }
      return;
    }
    if (client.tls != null && !client.tls.flush()) { // Ciphertext still to write.
      if (!client.writeInterest) {
        client.writeInterest = true;
        client.selectionKey.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      }
      return;
    }
    if (client.writeInterest) {
      client.writeInterest = false;
      client.selectionKey.interestOps(SelectionKey.OP_READ);
    }
  }

  /** Puts {@code count} bytes of a frame into {@code buffer}, from byte {@code offset} on. */
  private void encode(ByteBuffer buffer, int length, int patternOffset, int offset, int count) {
    if (offset == 0 && count >= 4) {
      buffer.putInt(length);
      offset = 4;
      count -= 4;
    }
    for (; offset < 4 && count > 0; offset++, count--) { // A split prefix: rare.
      buffer.put((byte) (length >>> (8 * offset)));
    }
    if (count > 0) buffer.put(pattern, patternOffset + offset - 4, count);
  }

  /** Moves the client's writer {@code written} bytes on from where it was. */
  private void advance(LoadClient client, int written) {
    long seq = client.writeSeq;
    int offset = client.writeOffset;
    while (written > 0) {
      int frame = 4 + payloads.length(Payloads.hash(client.key, seq));
      int count = Math.min(frame - offset, written);
      written -= count;
      offset += count;
      if (offset == frame) {
        seq++;
        offset = 0;
      }
    }
    client.writeSeq = seq;
    client.writeOffset = offset;
  }

  /** Reads what the socket has and checks it; writes more if echoes completed. */
  private void read(LoadClient client) throws IOException {
    ByteBuffer buffer = readBuffer;
    buffer.clear();
    int count =
        client.tls == null
            ? client.channel.read(buffer)
            : client.tls.read(tlsNetIn, buffer, tlsNetOut);
    if (count < 0) {
      fail(
          client,
          "client "
              + client.id
              + ": closed by the server after "
              + client.readSeq
              + " echoes, "
              + client.inFlight()
              + " packets in flight");
      return;
    }
    long now = System.nanoTime();
    long echoedBefore = client.readSeq;
    int position = 0;
    while (position < count && client.open) {
      if (client.headerBytes < 4) {
        int length;
        if (client.headerBytes == 0 && count - position >= 4) {
          length = buffer.getInt(position);
          position += 4;
        } else { // A prefix split across reads.
          client.header |= (readBuffer.get(position++) & 0xff) << (8 * client.headerBytes);
          if (++client.headerBytes < 4) continue;
          length = client.header;
          client.header = 0;
        }
        client.headerBytes = 4;
        startEcho(client, length);
        if (client.remaining == 0 && client.open) endEcho(client, now);
      } else {
        int chunk = Math.min(client.remaining, count - position);
        if (client.checking) check(client, position, chunk);
        client.patternPosition += chunk;
        client.remaining -= chunk;
        position += chunk;
        if (client.remaining == 0) endEcho(client, now);
      }
    }
    if (client.readSeq != echoedBefore && client.open && !client.writeInterest) {
      write(client, now);
    }
  }

  private void startEcho(LoadClient client, int length) {
    if (length < 0 || length > workload.maxPayload()) {
      fail(
          client,
          "client "
              + client.id
              + " seq "
              + client.readSeq
              + ": length prefix "
              + length
              + " is no packet of this workload ("
              + workload.minPayload()
              + ".."
              + workload.maxPayload()
              + " bytes): the stream is out of step");
      return;
    }
    client.remaining = length;
    client.echoLength = length;
    if (client.readSeq >= client.writeSeq) {
      client.expected = false;
      client.checking = false;
      errors.add(
          "client "
              + client.id
              + ": an echo of "
              + length
              + " bytes arrived with no packet in "
              + "flight ("
              + client.readSeq
              + " echoes so far)");
      return;
    }
    long hash = Payloads.hash(client.key, client.readSeq);
    int expectedLength = payloads.length(hash);
    client.expected = true;
    client.checking = length == expectedLength;
    client.patternPosition = Payloads.offset(hash);
    if (!client.checking) {
      errors.add(
          "client "
              + client.id
              + " seq "
              + client.readSeq
              + ": echo of "
              + length
              + " bytes, expected "
              + expectedLength
              + " (reordered, merged or cut?)");
    }
  }

  private void check(LoadClient client, int position, int length) {
    int at;
    if (bulk) { // Both direct: ByteBuffer.mismatch is as vectorised as Arrays.mismatch.
      readBuffer.limit(position + length).position(position);
      patternBuffer.limit(client.patternPosition + length).position(client.patternPosition);
      at = readBuffer.mismatch(patternBuffer);
      readBuffer.clear(); // Absolute gets check the limit.
    } else {
      at =
          Arrays.mismatch(
              readArray,
              position,
              position + length,
              pattern,
              client.patternPosition,
              client.patternPosition + length);
    }
    if (at < 0) return;
    client.checking = false;
    errors.add(
        String.format(
            "client %d seq %d: byte %d of %d is 0x%02x, expected 0x%02x",
            client.id,
            client.readSeq,
            client.echoLength - client.remaining + at,
            client.echoLength,
            readBuffer.get(position + at),
            pattern[client.patternPosition + at]));
  }

  private void endEcho(LoadClient client, long now) {
    client.headerBytes = 0;
    if (!client.expected) return;
    meter.recordLatency(now - client.sentAt[(int) client.readSeq & client.slotMask]);
    meter.countPacket(client.echoLength);
    client.readSeq++;
  }

  /** Counts an error and closes the client, which then takes no further part. */
  private void fail(LoadClient client, String message) {
    errors.add(message);
    close(client);
  }

  private void close(LoadClient client) {
    if (!client.open) return;
    client.open = false;
    live--;
    if (client.tls != null) client.tls.closeQuietly(tlsNetOut);
    try {
      client.channel.close();
    } catch (IOException ignored) {
      // Closing a socket we are done with: nothing to recover.
    }
  }

  private void closeAll() {
    if (clients == null) return;
    for (LoadClient client : clients) {
      if (client != null) close(client);
    }
  }

  /** The clients, as the run's phases drive them. */
  private final class Clients implements LoadPhases.Traffic {
    @Override
    public void connect() throws IOException {
      connectAll();
    }

    @Override
    public void start(long now) throws IOException {
      for (LoadClient client : clients) {
        if (client.open) write(client, now);
      }
    }

    @Override
    public long poll(long timeoutMillis) throws IOException {
      if (busyPoll) {
        selector.selectNow(onReady);
      } else {
        selector.select(onReady, timeoutMillis);
      }
      return System.nanoTime();
    }

    @Override
    public boolean drained() {
      for (LoadClient client : clients) {
        if (client.open && client.inFlight() > 0) return false;
      }
      return true;
    }

    @Override
    public boolean stopped() {
      return live == 0;
    }

    @Override
    public void reportMissing() {
      for (LoadClient client : clients) {
        long missing = client.open ? client.inFlight() : 0;
        if (missing == 0) continue;
        errors.add(
            missing,
            "client "
                + client.id
                + ": "
                + missing
                + " echoes from seq "
                + client.readSeq
                + " still missing "
                + LoadPhases.DRAIN_TIMEOUT.toSeconds()
                + " s after the measured period");
      }
    }

    @Override
    public void close() {
      closeAll();
    }
  }
}
