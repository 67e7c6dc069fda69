package io.github.packetconn;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A strict leak check for tests: with {@code -Dpacketconn.leakCheck=true}, every packet records
 * where it was allocated, and {@link #assertNone()} fails at once, listing those sites, if any packet
 * is still unreleased.
 *
 * <p>Unlike a check that waits for the GC to collect a forgotten packet, this one is
 * <b>deterministic</b>: call it when everything should have been released (after a test, with its
 * connections closed) and it fails every time there is a leak, naming the code that allocated it. In
 * this mode a second release, or any use after the last one, also names the code that made the
 * first release.
 *
 * <pre>{@code
 * @AfterEach
 * void noLeaks() {
 *   PacketLeaks.assertNone(); // with -Dpacketconn.leakCheck=true in the test JVM
 * }
 * }</pre>
 *
 * <p>Recording costs a stack trace per packet, so leave it off in production; when it is off (the
 * default) packets record nothing, and {@link #assertNone()} checks nothing. Packets received by the
 * library count too: a packet handed to a {@link PacketHandler} or returned by {@link
 * PacketConn#receive()} is the receiver's to release. Packets the library holds for a connection (a
 * frame half received, packets not yet received) are released when the connection has closed.
 * Safe to use from any thread.
 */
public final class PacketLeaks {
  /** Whether the check is on; fixed when the class loads, so that off costs nothing. */
  static final boolean ENABLED = Boolean.getBoolean("packetconn.leakCheck");

  private static final Map<PacketStorage, Site> LIVE = new ConcurrentHashMap<>();

  private PacketLeaks() {}

  /** {@return true if packets record where they were allocated ({@code -Dpacketconn.leakCheck=true})} */
  public static boolean enabled() {
    return ENABLED;
  }

  /** {@return how many packets are allocated and not yet released; 0 when the check is off} */
  public static int count() {
    return LIVE.size();
  }

  /**
   * Fails if any packet allocated since the start or the last {@link #forget()} is unreleased.
   *
   * @throws AssertionError listing each allocation site with the number of packets it leaked, the
   *     first of them as the error's cause, so IDEs link to it
   */
  public static void assertNone() {
    if (LIVE.isEmpty()) return;
    List<Site> sites = new ArrayList<>(LIVE.values());
    if (sites.isEmpty()) return; // Released while we looked.
    Map<String, List<Site>> byStack = new LinkedHashMap<>();
    for (Site site : sites) byStack.computeIfAbsent(site.stack(), k -> new ArrayList<>()).add(site);
    StringBuilder message =
        new StringBuilder().append(sites.size()).append(sites.size() == 1 ? " packet" : " packets")
            .append(" not released, from ").append(byStack.size())
            .append(byStack.size() == 1 ? " allocation site:" : " allocation sites:");
    int shown = 0;
    for (List<Site> same : byStack.values()) {
      if (shown++ == 10) {
        message.append("\n(").append(byStack.size() - 10).append(" more sites)");
        break;
      }
      Site first = same.get(0);
      message.append("\n").append(same.size()).append(" × allocated by thread \"")
          .append(first.thread).append("\"").append(first.stack());
    }
    throw new AssertionError(message.toString(), sites.get(0));
  }

  /**
   * Waits up to {@code patience} for the unreleased packets to be released (by connections still
   * closing on other threads, or handlers finishing), then fails like {@link #assertNone()}.
   *
   * @param patience the longest to wait for the last releases
   * @throws InterruptedException if interrupted while waiting
   */
  public static void assertNone(Duration patience) throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    synchronized (LIVE) {
      for (long left; !LIVE.isEmpty() && (left = deadline - System.nanoTime()) > 0; ) {
        TimeUnit.NANOSECONDS.timedWait(LIVE, left);
      }
    }
    assertNone();
  }

  /** Stops tracking the packets allocated so far, released or not; for a test that leaks on purpose. */
  public static void forget() {
    LIVE.clear();
  }

  /** Records {@code storage} as taken by a new packet, here. */
  static void allocated(PacketStorage storage) {
    LIVE.put(storage, new Site("packet allocated", Thread.currentThread().getName()));
  }

  /**
   * Records the last release of {@code storage} and returns what its handle points to from now on: a
   * released storage that remembers this call's site, for the next misuse to name.
   */
  static PacketStorage released(PacketStorage storage) {
    LIVE.remove(storage);
    if (LIVE.isEmpty()) {
      synchronized (LIVE) {
        LIVE.notifyAll(); // Wake assertNone(Duration).
      }
    }
    PacketStorage tombstone = new PacketStorage(new byte[0]);
    tombstone.releasedAt = new Site("packet released", Thread.currentThread().getName());
    return tombstone;
  }

  /** Where a packet was allocated or released: a stack trace, and when. */
  static final class Site extends Throwable {
    private static final long serialVersionUID = 1L;

    private static final int MAX_FRAMES = 12; // Enough to reach the application's code.
    private static final StackWalker WALKER = StackWalker.getInstance();

    final String thread;
    private transient String stack;

    private final String what;
    private final long millis;

    Site(String what, String thread) {
      this.what = what;
      this.thread = thread;
      this.millis = System.currentTimeMillis();
      // The innermost frames only: a whole stack (deep under a test framework) costs ten times more.
      setStackTrace(
          WALKER.walk(
              frames ->
                  frames
                      .dropWhile(f -> f.getClassName().startsWith(PacketLeaks.class.getName()))
                      .limit(MAX_FRAMES + 1)
                      .map(StackWalker.StackFrame::toStackTraceElement)
                      .toArray(StackTraceElement[]::new)));
    }

    @Override
    public String getMessage() { // Made when asked: sites are recorded by the million.
      return what + " on thread \"" + thread + "\" at " + Instant.ofEpochMilli(millis);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this; // The constructor records a shorter stack.
    }

    /** {@return the innermost frames, one per line, without this class's own} */
    String stack() {
      if (stack == null) {
        StringBuilder b = new StringBuilder();
        int frames = 0;
        for (StackTraceElement frame : getStackTrace()) {
          String type = frame.getClassName();
          if (type.equals(PacketLeaks.class.getName()) || type.equals(Site.class.getName())) continue;
          if (frames++ == MAX_FRAMES) {
            b.append("\n\t...");
            break;
          }
          b.append("\n\tat ").append(frame);
        }
        stack = b.toString();
      }
      return stack;
    }
  }
}
