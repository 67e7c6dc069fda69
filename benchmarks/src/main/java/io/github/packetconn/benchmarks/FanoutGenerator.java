package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
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

/**
 * Drives a fan-out server ({@link Fanout}'s protocol) with a fan-out {@link Workload} from <b>one
 * thread</b>: one selector, one publisher and {@code workload.clients()} subscribers, each a
 * non-blocking socket, the packetconn wire format. Every subscriber must receive every packet the
 * publisher sends, in order and intact; each is checked for its sequence number, length, send time
 * and bytes.
 *
 * <p>Packet {@code seq} of the publisher has the length and pattern slice of {@link Payloads} for
 * client 0, except that its first {@value #STAMP} bytes are its <b>stamp</b>: {@code seq} and the
 * {@code nanoTime} of the write that sent its first byte, both little-endian longs. A subscriber
 * takes the stamp's time from {@code nanoTime} at the read that brought the packet's last byte: the
 * <b>publish-to-delivery latency</b>, in one process on one clock.
 *
 * <pre>{@code
 * FanoutGenerator generator = new FanoutGenerator(address, Workload.FANOUT_SMALL, 1);
 * LoadResult result =
 *     generator.run(Duration.ofSeconds(5), Duration.ofSeconds(10), LoadListener.NONE);
 * System.out.println(result.packetsPerSecond() + " packets delivered/s");
 * }</pre>
 *
 * <p><b>Pacing</b>: the publisher keeps at most {@code workload.inFlight()} packets published and
 * not yet received in full by <em>every</em> subscriber, so it sends exactly as fast as the server
 * delivers to the slowest of them: a closed loop, like the echo workloads' windows. A fixed send
 * rate would measure a rate we chose, or an ever-growing queue; a window on one designated
 * subscriber would let the others fall behind it without bound, and a server that skips a member
 * whose send queue is full (packetconn's {@code trySend}) would then drop packets. With the window
 * on the slowest, no subscriber is ever more than the window behind, so a server queues at most
 * {@code inFlight} packets per subscriber (fanout-large: 8 × 64 KiB, far below packetconn's 4 MiB
 * send queue), and what is measured is the fan-out itself, not a buffering or dropping policy. It
 * costs one counter per packet in flight: the subscribers that received it.
 *
 * <p>Throughput counts <b>deliveries</b>: packets received by all subscribers together. Like the
 * {@link LoadGenerator} it allocates nothing in steady state and reports its own allocation and CPU
 * time per delivered packet. A run connects the subscribers (at most {@link
 * LoadGenerator#MAX_PENDING_CONNECTS} not yet joined at a time) and waits for each to be a member,
 * then connects the publisher, warms up, measures, stops publishing and waits up to {@link
 * LoadPhases#DRAIN_TIMEOUT} for every packet sent to reach every subscriber ({@link LoadPhases}).
 * Over TCP only. Not thread-safe: one run, on the calling thread.
 */
final class FanoutGenerator {
  /** Bytes at the start of each payload: its sequence number and its send time. */
  static final int STAMP = 16;

  private static final int HEAD = 4 + STAMP; // A frame's length prefix and stamp.

  private final SocketAddress address;
  private final Workload workload;
  private final Payloads payloads;
  private final byte[] pattern;
  private final long key; // The publisher's: Payloads.clientKey(0).
  private final int window; // Packets published and not yet received by every subscriber.
  private final long[] sentAt; // Send time of packet seq, at seq & slotMask.
  private final int[] received; // Subscribers that received packet seq in full, at seq & slotMask.
  private final int slotMask; // A power of two minus one, at least window - 1.
  private final ByteBuffer writeBuffer;
  private final ByteBuffer readBuffer;
  private final byte[] readArray;
  private final LoadMeter meter;
  private final LoadErrors errors = new LoadErrors();
  private final LoadPhases phases;
  private final Consumer<SelectionKey> onReady = this::onReady; // Allocated once, not per select.

  private Selector selector;
  private Subscriber[] subscribers;
  private int liveSubscribers; // Subscribers still open.
  private int joining; // Subscribers connecting or waiting for their answer to the hello.
  private int joined;
  private SocketChannel publisher;
  private SelectionKey publisherKey;
  private boolean publisherOpen;
  private boolean publisherWriteInterest; // OP_WRITE registered: its socket took part of a write.
  private long writeSeq; // The publisher's next packet, or the one written in part.
  private int writeOffset; // Bytes of frame writeSeq (header included) already written.
  private long oldest; // The oldest packet not yet received in full by every live subscriber.
  private boolean windowMoved; // Since the publisher last wrote: it may send more.

  /** Creates a generator for the fan-out {@code workload} against the server at {@code address}. */
  FanoutGenerator(SocketAddress address, Workload workload, long seed) {
    this(address, workload, seed, LoadGenerator.BUFFER_SIZE);
  }

  /** Creates a generator with buffers of {@code bufferSize} bytes (small ones for tests). */
  FanoutGenerator(SocketAddress address, Workload workload, long seed, int bufferSize) {
    if (!workload.fanout()) throw new IllegalArgumentException("not a fan-out: " + workload);
    if (!(address instanceof InetSocketAddress)) {
      throw new IllegalArgumentException("fan-out runs over TCP only: " + address);
    }
    if (bufferSize < HEAD) {
      throw new IllegalArgumentException("bufferSize < " + HEAD + ": " + bufferSize);
    }
    this.address = Objects.requireNonNull(address, "address");
    this.workload = workload;
    this.payloads = new Payloads(workload.minPayload(), workload.maxPayload(), seed);
    this.pattern = payloads.pattern;
    this.key = payloads.clientKey(0);
    this.window = workload.inFlight();
    int slots = Integer.highestOneBit(Math.max(1, window - 1)) << 1;
    this.sentAt = new long[slots];
    this.received = new int[slots];
    this.slotMask = slots - 1;
    this.writeBuffer = ByteBuffer.allocate(bufferSize).order(ByteOrder.LITTLE_ENDIAN);
    this.readBuffer = ByteBuffer.allocate(bufferSize).order(ByteOrder.LITTLE_ENDIAN);
    this.readArray = readBuffer.array();
    this.meter = new LoadMeter(workload);
    this.phases = new LoadPhases(meter);
  }

  /**
   * Connects, warms up for {@code warmup}, measures for {@code duration}, drains and closes.
   *
   * @throws IOException if the clients cannot all connect and join; errors after that are in the
   *     result
   */
  LoadResult run(Duration warmup, Duration duration, LoadListener listener) throws IOException {
    try (Selector selector = Selector.open()) {
      this.selector = selector;
      phases.run(warmup, duration, listener, new Clients());
    }
    return meter.result(errors);
  }

  /** {@return the packets the publisher sent in full} */
  long published() {
    return writeSeq;
  }

  /** {@return how many packets each subscriber received in full and in order, by subscriber} */
  long[] receivedBySubscriber() {
    return Arrays.stream(subscribers).mapToLong(s -> s == null ? 0 : s.readSeq).toArray();
  }

  // ---- connecting

  /** Connects every subscriber and waits for each to join, then connects the publisher. */
  private void connectAll() throws IOException {
    int count = workload.clients();
    subscribers = new Subscriber[count];
    Consumer<SelectionKey> onJoinReady =
        key -> {
          Subscriber subscriber = (Subscriber) key.attachment();
          try {
            join(subscriber, key);
          } catch (IOException e) {
            throw new UncheckedIOException(
                "subscriber " + subscriber.id + ": joining at " + address + " failed: "
                    + e.getMessage(),
                e);
          }
        };
    int next = 0;
    long lastProgress = System.nanoTime();
    while (joined < count) {
      int before = joined;
      for (; next < count && joining < LoadGenerator.MAX_PENDING_CONNECTS; next++) {
        SocketChannel channel = SocketChannel.open();
        Subscriber subscriber = new Subscriber(next, channel);
        subscribers[next] = subscriber;
        liveSubscribers++;
        joining++;
        channel.configureBlocking(false);
        if (channel.connect(address)) {
          channel.register(selector, SelectionKey.OP_READ, subscriber);
          hello(channel, Fanout.SUBSCRIBER);
        } else {
          channel.register(selector, SelectionKey.OP_CONNECT, subscriber);
        }
      }
      try {
        selector.select(onJoinReady, 100);
      } catch (UncheckedIOException e) {
        throw new IOException(e.getMessage(), e.getCause());
      }
      long now = System.nanoTime();
      if (joined > before) {
        lastProgress = now;
      } else if (now - lastProgress > LoadGenerator.CONNECT_TIMEOUT.toNanos()) {
        throw new IOException(
            "joining the fan-out at " + address + " timed out: " + joined + " of " + count
                + " subscribers joined, " + joining + " connecting or waiting for the answer to"
                + " their hello for " + LoadGenerator.CONNECT_TIMEOUT.toSeconds() + " s");
      }
    }
    SocketChannel channel = SocketChannel.open();
    publisher = channel;
    publisherOpen = true;
    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
    try {
      channel.socket().connect(address, (int) LoadGenerator.CONNECT_TIMEOUT.toMillis());
    } catch (IOException e) {
      throw new IOException(
          "the publisher: connect to " + address + " failed: " + e.getMessage(), e);
    }
    hello(channel, Fanout.PUBLISHER); // Blocking: 5 bytes.
    channel.configureBlocking(false);
    publisherKey = channel.register(selector, SelectionKey.OP_READ); // Reads only to see a close.
  }

  /** Moves a subscriber on: its connect finishes, it says hello, it reads the server's answer. */
  private void join(Subscriber subscriber, SelectionKey key) throws IOException {
    SocketChannel channel = subscriber.channel;
    if ((key.readyOps() & SelectionKey.OP_CONNECT) != 0) {
      if (!channel.finishConnect()) return;
      key.interestOps(SelectionKey.OP_READ);
      hello(channel, Fanout.SUBSCRIBER);
      return;
    }
    if (!key.isReadable()) return;
    ByteBuffer buffer = readBuffer;
    buffer.clear().limit(5 - subscriber.answerBytes); // Nothing else comes before the publisher.
    int count = channel.read(buffer);
    if (count < 0) throw new IOException("closed by the server before answering the hello");
    for (int i = 0; i < count; i++) {
      int at = subscriber.answerBytes + i;
      if (buffer.get(i) != (at < 4 ? (at == 0 ? 1 : 0) : Fanout.SUBSCRIBER)) {
        throw new IOException(
            "the answer to the hello is not the frame 01 00 00 00 'S': byte " + at + " is "
                + Fanout.describe(buffer.get(i) & 0xff));
      }
    }
    subscriber.answerBytes += count;
    if (subscriber.answerBytes == 5) {
      joining--;
      joined++;
    }
  }

  /** Writes the one-byte hello {@code role}; a fresh socket takes five bytes at once. */
  private void hello(SocketChannel channel, byte role) throws IOException {
    ByteBuffer hello = writeBuffer.clear().putInt(1).put(role).flip();
    int written = channel.write(hello);
    if (hello.hasRemaining()) throw new IOException("the socket took " + written + " of 5 bytes");
  }

  // ---- running

  private void onReady(SelectionKey key) {
    if (!key.isValid()) return; // Closed while an earlier key of this round was handled.
    if (key.attachment() instanceof Subscriber subscriber) {
      try {
        read(subscriber);
      } catch (IOException e) {
        fail(subscriber, "subscriber " + subscriber.id + ": " + e + " after " + subscriber.readSeq
            + " packets");
      }
      return;
    }
    try {
      if (key.isReadable()) readPublisher();
      if (publisherOpen && key.isWritable()) writePublisher(System.nanoTime());
    } catch (IOException e) {
      failPublisher("the publisher: " + e + " after " + writeSeq + " packets sent");
    }
  }

  // ---- the publisher

  private void writeSafely(long now) {
    try {
      writePublisher(now);
    } catch (IOException e) {
      failPublisher("the publisher: " + e + " after " + writeSeq + " packets sent");
    }
  }

  /** Writes what the window allows and the socket takes, from one buffer per write. */
  private void writePublisher(long now) throws IOException {
    windowMoved = false;
    ByteBuffer buffer = writeBuffer;
    while (true) {
      long last = // The first packet the window does not allow yet.
          phases.phase() == Phase.DRAIN ? writeSeq + (writeOffset > 0 ? 1 : 0) : oldest + window;
      long seq = writeSeq;
      int offset = writeOffset;
      buffer.clear();
      while (seq < last && buffer.hasRemaining()) {
        long hash = Payloads.hash(key, seq);
        int length = payloads.length(hash);
        int slot = (int) seq & slotMask;
        if (offset == 0) sentAt[slot] = now; // Not yet sent at all: stamped now.
        int frame = 4 + length;
        int count = Math.min(frame - offset, buffer.remaining());
        encode(buffer, seq, length, sentAt[slot], Payloads.offset(hash), offset, count);
        offset += count;
        if (offset == frame) {
          seq++;
          offset = 0;
        }
      }
      if (buffer.position() == 0) break; // The window is full.
      buffer.flip();
      int written = publisher.write(buffer);
      if (!buffer.hasRemaining()) {
        writeSeq = seq;
        writeOffset = offset;
        continue; // The socket may take more.
      }
      advance(written);
      if (!publisherWriteInterest) {
        publisherWriteInterest = true;
        publisherKey.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      }
      return;
    }
    if (publisherWriteInterest) {
      publisherWriteInterest = false;
      publisherKey.interestOps(SelectionKey.OP_READ);
    }
  }

  /**
   * Puts bytes {@code [offset, offset + count)} of the frame of packet {@code seq} into {@code
   * buffer}: its length prefix, its stamp ({@code seq} and {@code time}), then the pattern.
   */
  private void encode(
      ByteBuffer buffer,
      long seq,
      int length,
      long time,
      int patternOffset,
      int offset,
      int count) {
    if (offset == 0 && count >= HEAD) {
      buffer.putInt(length).putLong(seq).putLong(time);
      offset = HEAD;
      count -= HEAD;
    }
    for (; offset < HEAD && count > 0; offset++, count--) { // A split head: rare.
      long field = offset < 4 ? length : offset < 12 ? seq : time;
      int shift = 8 * (offset < 4 ? offset : offset < 12 ? offset - 4 : offset - 12);
      buffer.put((byte) (field >>> shift));
    }
    if (count > 0) buffer.put(pattern, patternOffset + offset - 4, count);
  }

  /** Moves the publisher's writer {@code written} bytes on from where it was. */
  private void advance(int written) {
    long seq = writeSeq;
    int offset = writeOffset;
    while (written > 0) {
      int frame = 4 + payloads.length(Payloads.hash(key, seq));
      int count = Math.min(frame - offset, written);
      written -= count;
      offset += count;
      if (offset == frame) {
        seq++;
        offset = 0;
      }
    }
    writeSeq = seq;
    writeOffset = offset;
  }

  /** Reads what the server sent the publisher: nothing, until it closes. */
  private void readPublisher() throws IOException {
    readBuffer.clear();
    int count = publisher.read(readBuffer);
    if (count < 0) {
      failPublisher("the publisher: closed by the server after " + writeSeq + " packets sent");
    } else if (count > 0) {
      errors.add("the publisher: the server sent it " + count + " bytes; a publisher gets nothing");
    }
  }

  // ---- the subscribers

  /** Reads what the socket has and checks it, packet by packet. */
  private void read(Subscriber s) throws IOException {
    ByteBuffer buffer = readBuffer;
    buffer.clear();
    int count = s.channel.read(buffer);
    if (count < 0) {
      fail(s, "subscriber " + s.id + ": closed by the server after " + s.readSeq + " packets");
      return;
    }
    long now = System.nanoTime();
    int position = 0;
    while (position < count && s.open) {
      if (s.headBytes < HEAD) {
        if (s.headBytes == 0 && count - position >= HEAD) {
          s.length = buffer.getInt(position);
          s.seq = buffer.getLong(position + 4);
          s.time = buffer.getLong(position + 12);
          s.headBytes = HEAD;
          position += HEAD;
        } else { // A head split across reads: a byte at a time.
          long b = buffer.get(position++) & 0xff;
          int at = s.headBytes++;
          if (at < 4) {
            s.length |= (int) b << (8 * at);
          } else if (at < 12) {
            s.seq |= b << (8 * (at - 4));
          } else {
            s.time |= b << (8 * (at - 12));
          }
          if (s.headBytes < HEAD) continue;
        }
        startPacket(s);
        if (s.open && s.remaining == 0) endPacket(s, now);
      } else {
        int chunk = Math.min(s.remaining, count - position);
        if (s.checking) check(s, position, chunk);
        s.patternPosition += chunk;
        s.remaining -= chunk;
        position += chunk;
        if (s.remaining == 0) endPacket(s, now);
      }
    }
  }

  /** Checks a packet's head: its length, and that it is the next one, sent as stamped. */
  private void startPacket(Subscriber s) {
    if (s.length < workload.minPayload() || s.length > workload.maxPayload()) {
      fail(
          s,
          "subscriber " + s.id + " seq " + s.readSeq + ": length prefix " + s.length
              + " is no packet of this workload (" + workload.minPayload() + ".."
              + workload.maxPayload() + " bytes): the stream is out of step");
      return;
    }
    if (s.seq != s.readSeq || s.seq >= writeSeq) {
      fail(
          s,
          "subscriber " + s.id + ": packet seq " + s.seq + " arrived, expected " + s.readSeq
              + (s.seq >= writeSeq
                  ? " (only " + writeSeq + " sent)"
                  : " (skipped, repeated or reordered)"));
      return;
    }
    long hash = Payloads.hash(key, s.seq);
    int expected = payloads.length(hash);
    s.remaining = s.length - STAMP;
    s.patternPosition = Payloads.offset(hash) + STAMP;
    s.checking = s.length == expected;
    s.stamped = s.time == sentAt[(int) s.seq & slotMask];
    if (!s.checking) {
      errors.add("subscriber " + s.id + " seq " + s.seq + ": " + s.length + " bytes, expected "
          + expected + " (merged or cut?)");
    } else if (!s.stamped) {
      errors.add("subscriber " + s.id + " seq " + s.seq + ": send time " + s.time + ", stamped "
          + sentAt[(int) s.seq & slotMask]);
    }
  }

  private void check(Subscriber s, int position, int length) {
    int at =
        Arrays.mismatch(
            readArray, position, position + length,
            pattern, s.patternPosition, s.patternPosition + length);
    if (at < 0) return;
    s.checking = false;
    errors.add(
        String.format(
            "subscriber %d seq %d: byte %d of %d is 0x%02x, expected 0x%02x",
            s.id,
            s.seq,
            s.length - s.remaining + at,
            s.length,
            readArray[position + at],
            pattern[s.patternPosition + at]));
  }

  /** Counts a delivery, times it, and moves the window when every subscriber has the oldest. */
  private void endPacket(Subscriber s, long now) {
    if (s.stamped) meter.recordLatency(now - s.time);
    meter.countPacket(s.length);
    int slot = (int) s.seq & slotMask;
    received[slot]++;
    s.readSeq++;
    s.headBytes = 0;
    s.length = 0;
    s.seq = 0;
    s.time = 0;
    if (received[slot] == liveSubscribers) moveWindow();
  }

  /** Retires every oldest packet all live subscribers have received. */
  private void moveWindow() {
    while (oldest < writeSeq && received[(int) oldest & slotMask] == liveSubscribers) {
      received[(int) oldest & slotMask] = 0;
      oldest++;
      windowMoved = true;
    }
  }

  // ---- errors and closing

  /**
   * Counts an error and closes the subscriber, which then takes no further part: its deliveries of
   * the packets in the window no longer count, since the window waits for live subscribers only.
   */
  private void fail(Subscriber s, String message) {
    errors.add(message);
    if (!s.open) return;
    close(s);
    for (long seq = oldest; seq < s.readSeq; seq++) received[(int) seq & slotMask]--;
    moveWindow(); // The others may have all the oldest packets now.
  }

  private void failPublisher(String message) {
    errors.add(message);
    closePublisher();
  }

  private void close(Subscriber s) {
    if (!s.open) return;
    s.open = false;
    liveSubscribers--;
    closeQuietly(s.channel);
  }

  private void closePublisher() {
    if (!publisherOpen) return;
    publisherOpen = false;
    closeQuietly(publisher);
  }

  private void closeAll() {
    if (subscribers != null) {
      for (Subscriber s : subscribers) {
        if (s != null) close(s);
      }
    }
    if (publisher != null) closeQuietly(publisher); // Maybe never connected: closed all the same.
    publisherOpen = false;
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Closing a socket we are done with: nothing to recover.
    }
  }

  /** The publisher and the subscribers, as the run's phases drive them. */
  private final class Clients implements LoadPhases.Traffic {
    @Override
    public void connect() throws IOException {
      connectAll();
    }

    @Override
    public void start(long now) {
      writeSafely(now);
    }

    @Override
    public long poll(long timeoutMillis) throws IOException {
      selector.select(onReady, timeoutMillis);
      long now = System.nanoTime();
      if (windowMoved && publisherOpen && !publisherWriteInterest) writeSafely(now);
      return now;
    }

    @Override
    public boolean drained() {
      return writeOffset == 0 && oldest >= writeSeq;
    }

    @Override
    public boolean stopped() {
      return !publisherOpen || liveSubscribers == 0;
    }

    @Override
    public void reportMissing() {
      for (Subscriber s : subscribers) {
        long missing = s.open ? writeSeq - s.readSeq : 0;
        if (missing <= 0) continue;
        errors.add(
            missing,
            "subscriber " + s.id + ": " + missing + " packets from seq " + s.readSeq
                + " still missing " + LoadPhases.DRAIN_TIMEOUT.toSeconds()
                + " s after the measured period");
      }
    }

    @Override
    public void close() {
      closeAll();
    }
  }

  /** One subscriber: its socket and where its reader is. Confined to the generator's thread. */
  private static final class Subscriber {
    final int id;
    final SocketChannel channel;
    boolean open = true;
    int answerBytes; // Bytes of the server's answer to the hello read so far, 0..5.

    long readSeq; // The next packet expected.
    int headBytes; // 0..19 while reading a frame's length prefix and stamp, 20 after.
    int length; // The current packet's payload length, from its prefix.
    long seq; // Its sequence number, from its stamp.
    long time; // Its send time, from its stamp.
    int remaining; // Its payload bytes still to read.
    int patternPosition; // Where the next payload byte should be in the pattern.
    boolean checking; // Its bytes are still compared (false after its first error).
    boolean stamped; // Its send time is the publisher's: its latency counts.

    Subscriber(int id, SocketChannel channel) {
      this.id = id;
      this.channel = channel;
    }
  }
}
