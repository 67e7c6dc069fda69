package io.github.packetconn;

import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connections that receive the same packets: a chat room, a game's match, a market-data topic.
 * {@link #send(Packet)} delivers a packet to every member and returns how many got it.
 *
 * <p><b>Members</b> join with {@link #add} and leave with {@link #remove}, and <b>leave by
 * themselves when they close</b>, however they close. A member that closes while a send is under way
 * is passed over quietly: {@code send} never throws for a member's state, from any thread, in a
 * handler or not.
 *
 * <p><b>A member that cannot keep up</b> (a reader slower than the senders, or one that stopped
 * reading) is handled by the policy chosen when the group is made:
 *
 * <ul>
 *   <li>{@link #skippingSlowMembers()}: a member that is not {@linkplain PacketConn#isWritable()
 *       writable} (its queue is over the high water mark) misses the packet, and so does one whose
 *       queue or memory budget has no room for it; {@link #skipped()} counts them. Sends never wait
 *       and never slow anyone down; a slow member gets what it can take, with gaps. For state that
 *       is sent again anyway (positions in a game, quotes).
 *   <li>{@link #closingSlowMembers(Duration)}: every member gets every packet, in order, or is
 *       aborted. A packet is queued for each member as {@link PacketConn#send(Packet)} would queue
 *       it: a thread that is not an I/O thread waits for room, in a handler it is queued at once and
 *       the connection being handled stops reading until the member's queue drains; so the senders
 *       go at the pace of the slowest member, but never for long: a member that stays unwritable
 *       for longer than the stall limit, or whose queue has no room for that long, is aborted (its
 *       peer sees a reset) and {@link #aborted()} counts it. The limit is kept by a timer, so a
 *       stalled member is aborted also when every sender waits for it. For messages that must all
 *       arrive (chat, commands).
 * </ul>
 *
 * <pre>{@code
 * PacketGroup room = PacketGroup.closingSlowMembers(Duration.ofSeconds(5));
 * PacketServer server = PacketServer.bind(14572, new PacketHandler() {
 *   public void onOpen(PacketConn conn) { room.add(conn); }  // leaves by itself when it closes
 *   public void onPacket(PacketConn from, Packet packet) {
 *     try (packet) { room.send(packet, from); }             // to everyone else
 *   }
 * });
 * }</pre>
 *
 * <p><b>Cost</b>: the members are an array replaced when one joins or leaves (copy on write), so a
 * send reads one field and walks an array. A packet of 1 KiB or more sent to three or more members
 * is <b>encoded once</b>, into pooled direct memory that the members' queues share: each member
 * with the first member's memory budget and CRC setting queues a range of it (in either style), and
 * the others a copy. Smaller packets are copied into each member's queue, which costs less than
 * sharing them. A member that falls behind holds the 256 KiB blocks of shared memory its frames are
 * in; past as many as its {@link PacketConfig#sendQueueBytes()} would fill, it gets copies, so what
 * it pins stays within its own bound however busy the other groups on its I/O thread are. Either way
 * nothing is allocated per delivery. Packets sent from one thread reach every member in the
 * order sent.
 *
 * <p>All methods are safe to call from any thread.
 */
public final class PacketGroup {
  private static final PacketConn[] NONE = {};
  private static final long SKIP = -1; // stallLimitNanos of a group that skips slow members.

  private final long stallLimitNanos; // SKIP, or how long a member may stay unwritable.
  private final StallWatch watch; // Null when skipping.
  private final Object lock = new Object(); // Held to replace members.
  private volatile PacketConn[] members = NONE;
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong aborted = new AtomicLong();

  private PacketGroup(long stallLimitNanos) {
    this.stallLimitNanos = stallLimitNanos;
    this.watch = stallLimitNanos == SKIP ? null : new StallWatch();
  }

  /**
   * {@return an empty group that skips a member while it is not writable} See the class
   * documentation.
   */
  public static PacketGroup skippingSlowMembers() {
    return new PacketGroup(SKIP);
  }

  /**
   * {@return an empty group that delivers every packet to every member, and aborts a member that
   * stays unwritable, or has no room for a packet, for longer than {@code stallLimit}} See the class
   * documentation.
   *
   * @param stallLimit zero or more; zero aborts a member as soon as it is found unwritable
   * @throws IllegalArgumentException if {@code stallLimit} is negative
   */
  public static PacketGroup closingSlowMembers(Duration stallLimit) {
    Objects.requireNonNull(stallLimit, "stallLimit");
    if (stallLimit.isNegative()) throw new IllegalArgumentException("stallLimit < 0: " + stallLimit);
    long nanos = stallLimit.compareTo(Duration.ofDays(365 * 100)) > 0 ? Long.MAX_VALUE / 4 : stallLimit.toNanos();
    return new PacketGroup(nanos);
  }

  /**
   * Adds {@code conn}, which stays a member until it is removed or closes.
   *
   * @param conn an open connection
   * @return false if it is a member already, or closing or closed (it is not added)
   */
  public boolean add(PacketConn conn) {
    Objects.requireNonNull(conn, "conn");
    synchronized (lock) {
      PacketConn[] m = members;
      if (indexOf(m, conn) >= 0 || !conn.isOpen() || !conn.memberships().join(this)) return false;
      PacketConn[] more = Arrays.copyOf(m, m.length + 1);
      more[m.length] = conn;
      members = more;
      return true;
    }
  }

  /**
   * Removes {@code conn}; sends that started before may still reach it.
   *
   * @param conn a connection
   * @return false if it was not a member
   */
  public boolean remove(PacketConn conn) {
    synchronized (lock) {
      if (!drop(conn)) return false;
      conn.memberships().leave(this);
      return true;
    }
  }

  /** Removes {@code conn}, which closed; its memberships are gone already. */
  void removeClosed(PacketConn conn) {
    synchronized (lock) {
      drop(conn);
    }
  }

  /** Takes {@code conn} out of the members; lock held. */
  private boolean drop(PacketConn conn) {
    PacketConn[] m = members;
    int i = indexOf(m, conn);
    if (i < 0) return false;
    PacketConn[] fewer = new PacketConn[m.length - 1];
    System.arraycopy(m, 0, fewer, 0, i);
    System.arraycopy(m, i + 1, fewer, i, m.length - i - 1);
    members = fewer.length == 0 ? NONE : fewer;
    return true;
  }

  private static int indexOf(PacketConn[] m, PacketConn conn) {
    for (int i = 0; i < m.length; i++) {
      if (m[i] == conn) return i;
    }
    return -1;
  }

  /**
   * {@return true if {@code conn} is a member}
   *
   * @param conn a connection
   */
  public boolean contains(PacketConn conn) {
    return indexOf(members, conn) >= 0;
  }

  /** {@return how many members there are now} */
  public int size() {
    return members.length;
  }

  /** {@return the members now, an immutable snapshot} */
  public List<PacketConn> members() {
    return List.of(members);
  }

  /**
   * Sends {@code packet} to every member, as the group's policy says. The packet is encoded into the
   * members' queues (once for all, or once for each: see the class description), so the caller
   * releases it when this returns, as after {@link PacketConn#send(Packet)}.
   *
   * @param packet sent whole, from byte 0; still the caller's to release
   * @return how many members it was queued for; members that closed meanwhile, and (when skipping)
   *     slow ones, are not counted
   * @throws IllegalStateException if the packet was released
   * @throws IllegalArgumentException if the packet exceeds a member's {@link
   *     PacketConfig#maxPacketSize()}; the members before it got the packet
   */
  public int send(Packet packet) {
    return send(packet, null);
  }

  /**
   * Sends {@code packet} to every member but {@code except}, typically the connection it came from.
   *
   * @param packet as for {@link #send(Packet)}
   * @param except a member to leave out, or null for none
   * @return how many members it was queued for
   * @throws IllegalStateException if the packet was released
   * @throws IllegalArgumentException if the packet exceeds a member's {@link
   *     PacketConfig#maxPacketSize()}; the members before it got the packet
   */
  public int send(Packet packet, PacketConn except) {
    Objects.requireNonNull(packet, "packet");
    PacketConn[] m = members;
    SharedFrame shared = m.length > 2 ? share(packet, m[0]) : null;
    try {
      return watch == null ? sendSkipping(packet, shared, m, except) : sendWaiting(packet, shared, m, except);
    } finally {
      if (shared != null) shared.slab().release(1);
    }
  }

  /**
   * {@return {@code packet} encoded once, for the members configured as {@code first} is, or null:
   * it is better copied} See docs/design.md, "Fan-out".
   */
  private static SharedFrame share(Packet packet, PacketConn first) {
    PacketConfig config = first.config();
    if (packet.size() > config.maxPacketSize()) return null; // The send throws as for one member.
    return FrameSharer.encode(packet, config.memoryBudget(), config.crc());
  }

  private int sendSkipping(Packet packet, SharedFrame shared, PacketConn[] m, PacketConn except) {
    int delivered = 0;
    for (PacketConn conn : m) {
      if (conn == except) continue;
      if (conn.isWritable() && conn.enqueue(packet, shared, 0, true)) {
        delivered++;
      } else if (conn.isOpen()) {
        skipped.incrementAndGet();
      }
    }
    return delivered;
  }

  private int sendWaiting(Packet packet, SharedFrame shared, PacketConn[] m, PacketConn except) {
    int delivered = 0;
    long timeout = EventLoop.current() != null ? -1 : stallLimitNanos; // An I/O thread never waits.
    for (PacketConn conn : m) {
      if (conn == except) continue;
      if (conn.enqueue(packet, shared, timeout, true)) {
        delivered++;
        if (!conn.isWritable()) watch.arm();
      } else if (conn.isOpen()) {
        abortSlow(
            conn,
            "no room in the send queue for " + TimeUnit.NANOSECONDS.toMillis(stallLimitNanos)
                + " ms (the PacketGroup's stall limit) with " + conn.queuedBytes()
                + " bytes queued; the peer reads too slowly");
      }
    }
    return delivered;
  }

  /** {@return how many times a member missed a packet because it was slow (when skipping)} */
  public long skipped() {
    return skipped.get();
  }

  /** {@return how many members this group aborted for falling behind (when closing slow members)} */
  public long aborted() {
    return aborted.get();
  }

  /** Aborts {@code conn} for falling behind, once, whichever thread finds it first. */
  private void abortSlow(PacketConn conn, String why) {
    if (!remove(conn)) return; // Another thread found it first, or it left.
    aborted.incrementAndGet();
    conn.abort(new SocketTimeoutException(why));
  }

  @Override
  public String toString() {
    return "PacketGroup[" + members.length + " members, "
        + (watch == null ? "skipping slow members, " + skipped() + " skipped"
            : "closing slow members after " + TimeUnit.NANOSECONDS.toMillis(stallLimitNanos) + " ms, "
                + aborted() + " aborted")
        + "]";
  }

  /**
   * Aborts members that stay unwritable for longer than the stall limit: armed by a send that left a
   * member unwritable, it looks at the members on an I/O thread's timer until none is unwritable.
   * Thread rule: {@link #arm()} from any thread, the rest on its loop.
   */
  private final class StallWatch implements EventLoop.Timed {
    private final EventLoop loop = EventLoop.next();
    private final AtomicBoolean armed = new AtomicBoolean();
    private final Runnable addTimer = () -> loop.addTimer(this);
    private long deadline; // When the earliest unwritable member reaches the limit; 0: look now.

    /** Makes sure the watch looks at the members soon; allocates nothing. */
    void arm() {
      if (!armed.get() && armed.compareAndSet(false, true)) loop.execute(addTimer);
    }

    @Override
    public long onTimer(long now) {
      if (deadline != 0 && now - deadline < 0) return deadline; // A member turning unwritable later is due later.
      armed.set(false); // Before looking: a send that finds a member unwritable from now on arms again.
      long next = 0;
      for (PacketConn conn : members) {
        if (conn.isWritable() || !conn.isOpen()) continue;
        long since = conn.unwritableSince();
        if (now - since >= stallLimitNanos) {
          abortSlow(
              conn,
              "not writable for " + TimeUnit.NANOSECONDS.toMillis(now - since) + " ms (the PacketGroup's stall limit is "
                  + TimeUnit.NANOSECONDS.toMillis(stallLimitNanos) + " ms) with " + conn.queuedBytes()
                  + " bytes queued; the peer reads too slowly");
        } else if (next == 0 || since + stallLimitNanos - next < 0) {
          next = since + stallLimitNanos;
        }
      }
      deadline = next;
      if (next != 0) armed.set(true); // Still watching: sends need not arm.
      return next;
    }
  }

  /**
   * The groups one connection is a member of, so that it leaves them all when it closes. Made on its
   * first {@link #add}; the close hook is registered once per connection, not once per join.
   * Lock order: a group's lock, then this.
   */
  static final class Memberships {
    private static final PacketGroup[] NO_GROUPS = {};
    private PacketGroup[] groups = NO_GROUPS; // Guarded by this.
    private boolean closed; // Guarded by this.

    Memberships(PacketConn conn, java.util.concurrent.CompletableFuture<Void> closeFuture) {
      closeFuture.whenComplete((ignored, failure) -> closed(conn));
    }

    /** {@return false if the connection has closed already} */
    synchronized boolean join(PacketGroup group) {
      if (closed) return false;
      groups = Arrays.copyOf(groups, groups.length + 1);
      groups[groups.length - 1] = group;
      return true;
    }

    synchronized void leave(PacketGroup group) {
      for (int i = 0; i < groups.length; i++) {
        if (groups[i] == group) {
          PacketGroup[] fewer = new PacketGroup[groups.length - 1];
          System.arraycopy(groups, 0, fewer, 0, i);
          System.arraycopy(groups, i + 1, fewer, i, groups.length - i - 1);
          groups = fewer;
          return;
        }
      }
    }

    private void closed(PacketConn conn) {
      PacketGroup[] left;
      synchronized (this) {
        closed = true;
        left = groups;
        groups = NO_GROUPS;
      }
      for (PacketGroup group : left) group.removeClosed(conn); // Outside this lock: see the order.
    }
  }
}
