package io.github.packetconn.cli;

import io.github.packetconn.Packet;
import io.github.packetconn.PacketConfig;
import io.github.packetconn.PacketConn;
import java.io.EOFException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * The echo client workload: clients on their own virtual threads, each on its own connection doing
 * <b>strict ping-pong</b> round trips (send one packet, wait for its echo, check it byte for byte).
 *
 * <p>Payloads have a size drawn uniformly from {@code [minSize, maxSize]} and random bytes, both
 * from a {@link Random} seeded with {@code seed + client}, so a run can be repeated exactly. Each
 * client stops after {@code packets} round trips, when {@code duration} is up, or at its first
 * error (a failed connect, a receive timeout, the server hanging up); a mismatched echo is counted
 * and the client goes on.
 *
 * <pre>{@code
 * EchoLoad.Result result = EchoLoad.run(
 *     EchoLoad.Settings.counted(address, PacketConfig.DEFAULT, 10, 1000, 0, 2048, 42),
 *     count -> System.out.println(count + " round trips"));
 * if (!result.ok()) result.failures().forEach(System.err::println);
 * }</pre>
 */
final class EchoLoad {
  /** How many mismatches are kept with their details; the rest are only counted. */
  static final int MISMATCHES_KEPT = 10;

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  /**
   * What to run.
   *
   * @param packets round trips per client, or 0 for no limit (then {@code duration} is required)
   * @param duration how long the clients run, or null for no limit
   * @param receiveTimeout how long a client waits for one echo before it reports an error
   */
  record Settings(
      InetSocketAddress address,
      PacketConfig config,
      int clients,
      long packets,
      Duration duration,
      int minSize,
      int maxSize,
      long seed,
      Duration receiveTimeout) {
    Settings {
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(config, "config");
      Objects.requireNonNull(receiveTimeout, "receiveTimeout");
      if (clients <= 0) throw new IllegalArgumentException("clients <= 0: " + clients);
      if (packets < 0) throw new IllegalArgumentException("packets < 0: " + packets);
      if (packets == 0 && duration == null) {
        throw new IllegalArgumentException("neither packets nor duration is limited");
      }
      if (minSize < 0) throw new IllegalArgumentException("minSize < 0: " + minSize);
      if (maxSize < minSize) {
        throw new IllegalArgumentException("maxSize(" + maxSize + ") < minSize(" + minSize + ")");
      }
      if (maxSize > config.maxPacketSize()) {
        throw new IllegalArgumentException(
            "maxSize " + maxSize + " exceeds maxPacketSize " + config.maxPacketSize());
      }
    }

    /**
     * {@return settings for {@code packets} round trips per client, with a 30 s receive timeout}
     */
    static Settings counted(
        InetSocketAddress address,
        PacketConfig config,
        int clients,
        long packets,
        int minSize,
        int maxSize,
        long seed) {
      return new Settings(
          address, config, clients, packets, null, minSize, maxSize, seed, Duration.ofSeconds(30));
    }

    /**
     * {@return settings for round trips until {@code duration} is up, with a 10 s receive timeout}
     */
    static Settings timed(
        InetSocketAddress address,
        PacketConfig config,
        int clients,
        Duration duration,
        int minSize,
        int maxSize,
        long seed) {
      return new Settings(
          address, config, clients, 0, duration, minSize, maxSize, seed, Duration.ofSeconds(10));
    }
  }

  /** An echo that differs from what was sent; {@code firstDifference} is -1 when sizes differ. */
  record Mismatch(int client, long sequence, int sentSize, int receivedSize, int firstDifference) {
    @Override
    public String toString() {
      String where = "client " + client + ", packet " + sequence + ": ";
      if (sentSize != receivedSize) {
        return where + "sent " + sentSize + " bytes, received " + receivedSize + " bytes";
      }
      return where + sentSize + " bytes, first difference at byte " + firstDifference;
    }
  }

  /**
   * What happened.
   *
   * @param roundTrips echoes received, matching or not
   * @param payloadBytes payload bytes of those echoes (each also went the other way)
   * @param mismatches the first {@link #MISMATCHES_KEPT} mismatches
   * @param errors why clients stopped early, one line each
   */
  record Result(
      Settings settings,
      long roundTrips,
      long payloadBytes,
      long elapsedNanos,
      Latencies latencies,
      long mismatchCount,
      List<Mismatch> mismatches,
      List<String> errors) {
    /** {@return true if every echo matched and no client failed} */
    boolean ok() {
      return mismatchCount == 0 && errors.isEmpty();
    }

    /** {@return round trips per second} */
    double packetsPerSecond() {
      return elapsedNanos == 0 ? 0 : roundTrips * 1e9 / elapsedNanos;
    }

    /** {@return echoed payload, in MiB per second each way} */
    double mebibytesPerSecond() {
      return elapsedNanos == 0 ? 0 : payloadBytes * 1e9 / elapsedNanos / (1 << 20);
    }

    /** {@return the counts of mismatches and errors, such as "2 mismatches, 1 error"} */
    String outcome() {
      return String.format(
          Locale.ROOT,
          "%,d %s, %,d %s",
          mismatchCount,
          mismatchCount == 1 ? "mismatch" : "mismatches",
          errors.size(),
          errors.size() == 1 ? "error" : "errors");
    }

    /** {@return one line per kept mismatch and per error, for the report} */
    List<String> failures() {
      List<String> lines = new ArrayList<>();
      for (Mismatch mismatch : mismatches) lines.add("mismatch: " + mismatch);
      if (mismatchCount > mismatches.size()) {
        lines.add("... and " + (mismatchCount - mismatches.size()) + " more mismatches");
      }
      for (String error : errors) lines.add("error: " + error);
      return lines;
    }
  }

  private final Settings settings;
  private final LongAdder roundTrips = new LongAdder();
  private final LongAdder payloadBytes = new LongAdder();
  private final LongAdder mismatchCount = new LongAdder();
  private final List<Mismatch> mismatches = Collections.synchronizedList(new ArrayList<>());
  private final List<String> errors = Collections.synchronizedList(new ArrayList<>());
  private final Latencies[] latencies;
  private volatile long deadline; // System.nanoTime() when timed clients stop.

  private EchoLoad(Settings settings) {
    this.settings = settings;
    this.latencies = new Latencies[settings.clients()];
  }

  /**
   * Runs the clients and waits for all of them, calling {@code progress} about once a second with
   * the round trips so far.
   *
   * @throws InterruptedException if interrupted while waiting; the clients are interrupted too
   */
  static Result run(Settings settings, LongConsumer progress) throws InterruptedException {
    return new EchoLoad(settings).run(progress);
  }

  private Result run(LongConsumer progress) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(settings.clients());
    List<Thread> threads = new ArrayList<>(settings.clients());
    long start = System.nanoTime();
    if (settings.duration() != null) deadline = start + settings.duration().toNanos();
    for (int i = 0; i < settings.clients(); i++) {
      int client = i;
      latencies[client] = new Latencies((int) Math.min(settings.packets(), 1 << 20));
      threads.add(
          Thread.ofVirtual()
              .name("echo-client-" + client)
              .start(
                  () -> {
                    try {
                      runClient(client);
                    } finally {
                      done.countDown();
                    }
                  }));
    }
    try {
      for (long next = start + SECOND;
          !done.await(next - System.nanoTime(), TimeUnit.NANOSECONDS); ) {
        progress.accept(roundTrips.sum());
        next += SECOND;
      }
    } catch (InterruptedException e) {
      for (Thread thread : threads) thread.interrupt();
      throw e;
    }
    long elapsed = System.nanoTime() - start;
    return new Result(
        settings,
        roundTrips.sum(),
        payloadBytes.sum(),
        elapsed,
        Latencies.merge(List.of(latencies)),
        mismatchCount.sum(),
        List.copyOf(mismatches),
        List.copyOf(errors));
  }

  private void runClient(int client) {
    Random random = new Random(settings.seed() + client);
    byte[] payload = new byte[settings.maxSize()];
    ByteBuffer sent = ByteBuffer.wrap(payload);
    Latencies recorded = latencies[client];
    long sequence = 0;
    try (PacketConn conn = PacketConn.connect(settings.address(), settings.config(), null)) {
      for (; more(sequence); sequence++) {
        int size = random.nextInt(settings.minSize(), settings.maxSize() + 1);
        fill(random, payload, size);
        long start;
        try (Packet packet = Packet.allocate(size)) {
          packet.writeBytes(payload, 0, size);
          start = System.nanoTime();
          conn.send(packet);
        }
        try (Packet echo = conn.receive(settings.receiveTimeout())) {
          long nanos = System.nanoTime() - start;
          if (echo == null) throw new EOFException("the server closed the connection");
          recorded.add(nanos);
          roundTrips.increment();
          payloadBytes.add(size);
          check(client, sequence, sent.limit(size), echo.payload());
        }
      }
    } catch (Exception e) {
      boolean noEcho =
          e instanceof EOFException
              || e instanceof java.net.SocketException // A packetconn server resets what it cannot read.
              || e instanceof SocketTimeoutException
              || e instanceof ProtocolException;
      String hint =
          sequence == 0 && noEcho ? " (is it an echo server, with the same CRC setting?)" : "";
      errors.add("client " + client + ", packet " + sequence + ": " + e + hint);
    }
  }

  private boolean more(long sequence) {
    if (settings.packets() > 0 && sequence >= settings.packets()) return false;
    if (settings.duration() != null && System.nanoTime() - deadline >= 0) return false;
    return !Thread.currentThread().isInterrupted();
  }

  private void check(int client, long sequence, ByteBuffer sent, ByteBuffer received) {
    int difference = sent.mismatch(received);
    if (difference < 0) return;
    mismatchCount.increment();
    boolean sameSize = sent.remaining() == received.remaining();
    Mismatch mismatch =
        new Mismatch(
            client, sequence, sent.remaining(), received.remaining(), sameSize ? difference : -1);
    synchronized (mismatches) {
      if (mismatches.size() < MISMATCHES_KEPT) mismatches.add(mismatch);
    }
  }

  /**
   * Fills {@code bytes[0, size)} with random bytes; {@link Random#nextBytes} fills whole arrays.
   */
  private static void fill(Random random, byte[] bytes, int size) {
    int i = 0;
    while (i < size) {
      for (int word = random.nextInt(), n = Math.min(size - i, 4); n-- > 0; word >>= 8) {
        bytes[i++] = (byte) word;
      }
    }
  }
}
