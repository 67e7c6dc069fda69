package io.github.packetconn;

import java.time.Duration;
import java.util.Objects;

/**
 * The settings of a connection, immutable and checked when built.
 *
 * <p>Start from {@link #DEFAULT} or {@link #builder()}; {@link #toBuilder()} derives a variant:
 *
 * <pre>{@code
 * PacketConfig config = PacketConfig.builder()
 *     .crc(true)                        // both peers must agree
 *     .maxPacketSize(1 << 20)
 *     .build();
 * }</pre>
 *
 * @param maxPacketSize largest payload sent or accepted, in bytes (default 32 MiB, go-packetconn's
 *     limit); a peer that announces more is disconnected
 * @param crc whether every frame carries a CRC-32 of its length and payload (default off)
 * @param readBufferSize bytes read from the socket per system call (default 256 KiB; one buffer
 *     per I/O thread, and one per receiver reading at that moment, not one per connection)
 * @param writeBufferSize most bytes written to the socket per system call (default 1 MiB)
 * @param sendQueueBytes bytes of encoded frames that may wait to be written before {@link
 *     PacketConn#send(Packet)} waits (default 4 MiB); a single larger packet is still accepted when
 *     the queue is empty
 * @param writeLowWaterMark queued bytes at or below which an unwritable connection turns writable
 *     again (default half the high water mark); see {@link PacketConn#isWritable()}
 * @param writeHighWaterMark queued bytes at or above which a connection turns unwritable (default
 *     1 MiB or half of {@code sendQueueBytes}, whichever is less: 1 MiB with the default 4 MiB
 *     queue). Unwritable is a signal, not a limit: sends still queue up to {@code sendQueueBytes}
 * @param flushDelay how long a send waits for more sends to share its write; zero (the default)
 *     writes as soon as the connection is ready
 * @param maxFlushDelay the longest a packet waits for company when {@code flushDelay} is set; zero
 *     means the same as {@code flushDelay}
 * @param tcpNoDelay whether to disable Nagle's algorithm (default true); Unix domain sockets ignore it
 * @param closeTimeout how long {@link PacketConn#close()} waits for queued packets to be written
 *     before it gives up and aborts (default 10 s)
 * @param memoryBudget caps what all connections sharing it hold for their peers, queued and partly
 *     received frames (default {@link MemoryBudget#shared()}: a quarter of the maximum heap, for each)
 * @param connectTimeout how long {@link PacketConn#connect} waits for the peer to accept before it
 *     fails with a {@link java.net.SocketTimeoutException} (default 10 s)
 * @param readIdleTimeout closes the connection with a {@link java.net.SocketTimeoutException} when
 *     nothing was received for this long while waiting for the peer; zero (the default) never does.
 *     The clock stops while the connection is not reading by its own choice (backpressure, or a
 *     receiver not calling {@code receive()})
 * @param writeStallTimeout closes the connection with a {@link java.net.SocketTimeoutException} when
 *     packets are queued and no byte of them could be written for this long: the peer stopped
 *     reading; zero (the default) never does
 * @param idleInterval calls {@link PacketHandler#onIdle} when nothing was sent for this long, and
 *     again every interval while that lasts, so the application can send a heartbeat; zero (the
 *     default) never does. Connections without a handler have no callback: their receivers time
 *     heartbeats with {@link PacketConn#receive(Duration)}
 * @param tcpKeepAlive whether to turn on SO_KEEPALIVE, the operating system's probes of a silent
 *     peer (default false; their timing is the system's, two hours by default on Linux)
 * @param tls TLS settings, a client's or a server's; null (the default) for plain TCP
 */
public record PacketConfig(
    int maxPacketSize,
    boolean crc,
    int readBufferSize,
    int writeBufferSize,
    int sendQueueBytes,
    int writeLowWaterMark,
    int writeHighWaterMark,
    Duration flushDelay,
    Duration maxFlushDelay,
    boolean tcpNoDelay,
    Duration closeTimeout,
    MemoryBudget memoryBudget,
    Duration connectTimeout,
    Duration readIdleTimeout,
    Duration writeStallTimeout,
    Duration idleInterval,
    boolean tcpKeepAlive,
    TlsConfig tls) {

  /** The defaults listed above. */
  public static final PacketConfig DEFAULT = builder().build();

  /** Checks every setting. */
  public PacketConfig {
    Objects.requireNonNull(flushDelay, "flushDelay");
    Objects.requireNonNull(maxFlushDelay, "maxFlushDelay");
    Objects.requireNonNull(closeTimeout, "closeTimeout");
    Objects.requireNonNull(memoryBudget, "memoryBudget");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(readIdleTimeout, "readIdleTimeout");
    Objects.requireNonNull(writeStallTimeout, "writeStallTimeout");
    Objects.requireNonNull(idleInterval, "idleInterval");
    if (maxPacketSize <= 0) throw new IllegalArgumentException("maxPacketSize <= 0: " + maxPacketSize);
    if (maxPacketSize > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "maxPacketSize > " + (Integer.MAX_VALUE - 8) + " (the largest Java array): " + maxPacketSize);
    }
    if (readBufferSize < 1024) throw new IllegalArgumentException("readBufferSize < 1024: " + readBufferSize);
    if (writeBufferSize < 1024) {
      throw new IllegalArgumentException("writeBufferSize < 1024: " + writeBufferSize);
    }
    if (sendQueueBytes <= 0) throw new IllegalArgumentException("sendQueueBytes <= 0: " + sendQueueBytes);
    if (writeLowWaterMark < 0) {
      throw new IllegalArgumentException("writeLowWaterMark < 0: " + writeLowWaterMark);
    }
    if (writeLowWaterMark >= writeHighWaterMark) {
      throw new IllegalArgumentException(
          "writeLowWaterMark(" + writeLowWaterMark + ") >= writeHighWaterMark(" + writeHighWaterMark + ")");
    }
    if (writeHighWaterMark > sendQueueBytes) {
      throw new IllegalArgumentException(
          "writeHighWaterMark(" + writeHighWaterMark + ") > sendQueueBytes(" + sendQueueBytes + ")");
    }
    if (flushDelay.isNegative()) throw new IllegalArgumentException("flushDelay < 0: " + flushDelay);
    if (maxFlushDelay.isNegative()) {
      throw new IllegalArgumentException("maxFlushDelay < 0: " + maxFlushDelay);
    }
    if (!maxFlushDelay.isZero() && maxFlushDelay.compareTo(flushDelay) < 0) {
      throw new IllegalArgumentException(
          "maxFlushDelay(" + maxFlushDelay + ") < flushDelay(" + flushDelay + ")");
    }
    if (closeTimeout.isNegative() || closeTimeout.isZero()) {
      throw new IllegalArgumentException("closeTimeout <= 0: " + closeTimeout);
    }
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      throw new IllegalArgumentException("connectTimeout <= 0: " + connectTimeout);
    }
    if (readIdleTimeout.isNegative()) {
      throw new IllegalArgumentException("readIdleTimeout < 0: " + readIdleTimeout);
    }
    if (writeStallTimeout.isNegative()) {
      throw new IllegalArgumentException("writeStallTimeout < 0: " + writeStallTimeout);
    }
    if (idleInterval.isNegative()) throw new IllegalArgumentException("idleInterval < 0: " + idleInterval);
  }

  /** {@return a builder holding the defaults} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return a builder holding this configuration's settings} */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxPacketSize = maxPacketSize;
    b.crc = crc;
    b.readBufferSize = readBufferSize;
    b.writeBufferSize = writeBufferSize;
    b.sendQueueBytes = sendQueueBytes;
    if (writeHighWaterMark != defaultHighWaterMark(sendQueueBytes) || writeLowWaterMark != writeHighWaterMark / 2) {
      b.writeWaterMarks(writeLowWaterMark, writeHighWaterMark); // Set by hand; defaults follow the queue.
    }
    b.flushDelay = flushDelay;
    b.maxFlushDelay = maxFlushDelay;
    b.tcpNoDelay = tcpNoDelay;
    b.closeTimeout = closeTimeout;
    b.memoryBudget = memoryBudget;
    b.connectTimeout = connectTimeout;
    b.readIdleTimeout = readIdleTimeout;
    b.writeStallTimeout = writeStallTimeout;
    b.idleInterval = idleInterval;
    b.tcpKeepAlive = tcpKeepAlive;
    b.tls = tls;
    return b;
  }

  /**
   * {@return the default high water mark for a send queue of {@code sendQueueBytes}: 1 MiB or half
   * the queue, whichever is less, and at least 1} The low one defaults to half of it.
   */
  static int defaultHighWaterMark(int sendQueueBytes) {
    return Math.max(1, Math.min(1 << 20, sendQueueBytes / 2));
  }

  /** {@return the bytes a frame of {@code payloadSize} takes on the wire with these settings} */
  int frameSize(int payloadSize) {
    return 4 + payloadSize + (crc ? 4 : 0);
  }

  /** Collects settings for a {@link PacketConfig}; {@link #build()} checks them. */
  public static final class Builder {
    private int maxPacketSize = Packet.DEFAULT_MAX_SIZE;
    private boolean crc;
    private int readBufferSize = 256 << 10;
    private int writeBufferSize = 1 << 20;
    private int sendQueueBytes = 4 << 20;
    private boolean waterMarksSet; // If not, the marks are derived from sendQueueBytes when built.
    private int writeLowWaterMark;
    private int writeHighWaterMark;
    private Duration flushDelay = Duration.ZERO;
    private Duration maxFlushDelay = Duration.ZERO;
    private boolean tcpNoDelay = true;
    private Duration closeTimeout = Duration.ofSeconds(10);
    private MemoryBudget memoryBudget = MemoryBudget.shared();
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration readIdleTimeout = Duration.ZERO;
    private Duration writeStallTimeout = Duration.ZERO;
    private Duration idleInterval = Duration.ZERO;
    private boolean tcpKeepAlive;
    private TlsConfig tls;

    private Builder() {}

    /**
     * Sets the largest payload, in bytes.
     *
     * @param bytes 1 or more (default 32 MiB); {@link #build()} checks it
     * @return this builder
     */
    public Builder maxPacketSize(int bytes) {
      this.maxPacketSize = bytes;
      return this;
    }

    /**
     * Turns the per-frame CRC-32 on or off.
     *
     * @param enabled true to add a CRC-32 to every frame and check the peer's; both peers must
     *     agree
     * @return this builder
     */
    public Builder crc(boolean enabled) {
      this.crc = enabled;
      return this;
    }

    /**
     * Sets the bytes read per system call.
     *
     * @param bytes 1024 or more (default 256 KiB)
     * @return this builder
     */
    public Builder readBufferSize(int bytes) {
      this.readBufferSize = bytes;
      return this;
    }

    /**
     * Sets the most bytes written per system call.
     *
     * @param bytes 1024 or more (default 1 MiB)
     * @return this builder
     */
    public Builder writeBufferSize(int bytes) {
      this.writeBufferSize = bytes;
      return this;
    }

    /**
     * Sets how many bytes of frames may wait to be written.
     *
     * @param bytes 1 or more (default 4 MiB)
     * @return this builder
     */
    public Builder sendQueueBytes(int bytes) {
      this.sendQueueBytes = bytes;
      return this;
    }

    /**
     * Sets when a connection turns unwritable and when writable again: {@link PacketConn#isWritable()}
     * turns false once the bytes queued reach {@code high}, and true again once writes bring them
     * down to {@code low}. The gap keeps a connection near the mark from flapping. Unless set, the
     * marks follow {@link #sendQueueBytes}: {@code high} is 1 MiB or half the queue, whichever is
     * less, and {@code low} half of {@code high} (1 MiB and 512 KiB with the default 4 MiB queue):
     * a healthy reader absorbs a burst of that size without turning unwritable, and a slow one is
     * noticed while half the queue is still free for what must be sent anyway.
     *
     * @param low 0 or more, below {@code high}; {@link #build()} checks it
     * @param high at most {@code sendQueueBytes}
     * @return this builder
     */
    public Builder writeWaterMarks(int low, int high) {
      this.writeLowWaterMark = low;
      this.writeHighWaterMark = high;
      this.waterMarksSet = true;
      return this;
    }

    /**
     * Sets how long a send waits for more sends to share its write.
     *
     * @param delay zero (the default: write at once) or more
     * @return this builder
     */
    public Builder flushDelay(Duration delay) {
      this.flushDelay = delay;
      return this;
    }

    /**
     * Sets the longest a packet waits for company when a flush delay is set.
     *
     * @param delay zero for the flush delay itself, else at least the flush delay
     * @return this builder
     */
    public Builder maxFlushDelay(Duration delay) {
      this.maxFlushDelay = delay;
      return this;
    }

    /**
     * Turns TCP_NODELAY on or off.
     *
     * @param enabled true (the default) to send small packets at once, false for Nagle's algorithm
     * @return this builder
     */
    public Builder tcpNoDelay(boolean enabled) {
      this.tcpNoDelay = enabled;
      return this;
    }

    /**
     * Sets how long a graceful close waits for queued packets.
     *
     * @param timeout more than zero (default 10 s)
     * @return this builder
     */
    public Builder closeTimeout(Duration timeout) {
      this.closeTimeout = timeout;
      return this;
    }

    /**
     * Sets the budget this connection shares with others; see {@link MemoryBudget}.
     *
     * @param budget shared by every connection given it (default {@link MemoryBudget#shared()})
     * @return this builder
     */
    public Builder memoryBudget(MemoryBudget budget) {
      this.memoryBudget = budget;
      return this;
    }

    /**
     * Sets how long a connect waits for the peer.
     *
     * @param timeout more than zero (default 10 s)
     * @return this builder
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /**
     * Sets how long nothing may be received before the connection closes; zero for never.
     *
     * @param timeout zero (the default) or more
     * @return this builder
     */
    public Builder readIdleTimeout(Duration timeout) {
      this.readIdleTimeout = timeout;
      return this;
    }

    /**
     * Sets how long queued bytes may wait for the peer to read before the connection closes.
     *
     * @param timeout zero (the default: never) or more
     * @return this builder
     */
    public Builder writeStallTimeout(Duration timeout) {
      this.writeStallTimeout = timeout;
      return this;
    }

    /**
     * Sets how long nothing may be sent before {@link PacketHandler#onIdle} is called.
     *
     * @param interval zero (the default: never) or more; only connections with a handler get the
     *     call
     * @return this builder
     */
    public Builder idleInterval(Duration interval) {
      this.idleInterval = interval;
      return this;
    }

    /**
     * Turns SO_KEEPALIVE on or off.
     *
     * @param enabled true for the operating system's keep-alive probes (default false)
     * @return this builder
     */
    public Builder tcpKeepAlive(boolean enabled) {
      this.tcpKeepAlive = enabled;
      return this;
    }

    /**
     * Sets TLS ({@link TlsConfig#client} or {@link TlsConfig#server}), or null for plain TCP.
     *
     * @param tls a client's or a server's settings, or null (the default) for plain TCP
     * @return this builder
     */
    public Builder tls(TlsConfig tls) {
      this.tls = tls;
      return this;
    }

    /**
     * {@return the configuration}
     *
     * @throws IllegalArgumentException naming the first setting out of range
     */
    public PacketConfig build() {
      return new PacketConfig(
          maxPacketSize,
          crc,
          readBufferSize,
          writeBufferSize,
          sendQueueBytes,
          waterMarksSet ? writeLowWaterMark : defaultHighWaterMark(sendQueueBytes) / 2,
          waterMarksSet ? writeHighWaterMark : defaultHighWaterMark(sendQueueBytes),
          flushDelay,
          maxFlushDelay,
          tcpNoDelay,
          closeTimeout,
          memoryBudget,
          connectTimeout,
          readIdleTimeout,
          writeStallTimeout,
          idleInterval,
          tcpKeepAlive,
          tls);
    }
  }
}
