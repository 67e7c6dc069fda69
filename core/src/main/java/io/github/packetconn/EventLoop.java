package io.github.packetconn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One selector thread that owns a set of connections: it reads them, runs their callbacks, and
 * writes their queued frames. A connection lives on one loop for its whole life; the loop alone
 * touches its selection key and writes its socket. Two things are shared with other threads and
 * locked: the send queue (senders append from any thread) and, for connections whose receivers
 * pull, the decoder (a receiver reads and decodes on its own thread).
 *
 * <p>Why a selector loop and not a virtual thread per connection: see the measurements in {@code
 * docs/design.md}. In short, a loop splits and echoes every frame of a read without a thread
 * hand-off, and coalesces each connection's writes into one system call per read.
 */
final class EventLoop implements Runnable {
  private static final System.Logger LOG = System.getLogger("io.github.packetconn");
  private static final VarHandle AWAKE;

  static {
    AWAKE = VarHandles.field(MethodHandles.lookup(), "awake", boolean.class);
  }

  /** Holds the shared loops, created on first use. */
  private static final class Group {
    static final EventLoop[] LOOPS = create();
    static final AtomicInteger NEXT = new AtomicInteger();

    private static EventLoop[] create() {
      int n = Integer.getInteger("packetconn.ioThreads", Runtime.getRuntime().availableProcessors());
      if (n <= 0) throw new IllegalArgumentException("packetconn.ioThreads <= 0: " + n);
      EventLoop[] loops = new EventLoop[n];
      for (int i = 0; i < n; i++) loops[i] = new EventLoop("packetconn-io-" + i, i);
      return loops;
    }
  }

  /** A thread that runs an event loop; lets any code ask which loop it is on. */
  private static final class LoopThread extends Thread {
    final EventLoop loop;

    LoopThread(EventLoop loop, String name) {
      super(loop, name);
      this.loop = loop;
      setDaemon(true);
    }
  }

  final int index; // This loop's place among the shared loops, from 0.
  private final Selector selector;
  private final LoopThread thread;
  private final ReentrantLock taskLock = new ReentrantLock();
  private ArrayDeque<Runnable> tasks = new ArrayDeque<>(); // Guarded by taskLock.
  private ArrayDeque<Runnable> running = new ArrayDeque<>(); // Loop only.
  private final ArrayDeque<LoopTransport> flushes = new ArrayDeque<>(); // Loop only.
  private final ArrayList<Timed> timers = new ArrayList<>(); // Loop only.
  private boolean timerAdded; // Since the select timeout was computed; loop only.
  private boolean inTimers; // runTimers() is calling onTimer; loop only.
  private final Consumer<SelectionKey> onReady = EventLoop::ready;
  private ByteBuffer readBuffer = direct(256 << 10); // Loop only; shared by all its connections.
  private volatile boolean awake = true; // False while the loop may block in select().
  LoopInput dispatching; // The connection whose packets are being handed out; loop only.
  final BufferPool.Cache storageCache = new BufferPool.Cache(); // Loop only.

  private EventLoop(String name, int index) {
    this.index = index;
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open a selector", e);
    }
    thread = new LoopThread(this, name);
    thread.start();
  }

  /** {@return the next loop, round robin} */
  static EventLoop next() {
    EventLoop[] loops = Group.LOOPS;
    return loops[Math.floorMod(Group.NEXT.getAndIncrement(), loops.length)];
  }

  /** {@return how many shared loops there are} */
  static int count() {
    return Group.LOOPS.length;
  }

  /** {@return the loop the calling thread runs, or null} */
  static EventLoop current() {
    return Thread.currentThread() instanceof LoopThread t ? t.loop : null;
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  Selector selector() {
    return selector;
  }

  /** Runs {@code task} on this loop, soon; waking it only if it may be blocked. */
  void execute(Runnable task) {
    taskLock.lock();
    try {
      tasks.addLast(task);
    } finally {
      taskLock.unlock();
    }
    if (!awake && AWAKE.compareAndSet(this, false, true)) selector.wakeup();
  }

  /** Queues a write of {@code conn}'s frames after the current read. Loop only. */
  void scheduleFlush(LoopTransport conn) {
    flushes.addLast(conn);
  }

  /** Asks for {@link Timed#onTimer} calls until it returns 0. Loop only. */
  void addTimer(Timed timed) {
    // Its deadline may now be earlier than the select timeout: compute that again. Not when timers
    // run (a timer re-arming itself from onTimer would loop forever): runTimers() takes the deadline
    // each returns.
    if (!timers.contains(timed)) {
      timers.add(timed);
      timerAdded = true;
    } else if (!inTimers) {
      timerAdded = true;
    }
  }

  /**
   * Cancels {@code key} and removes it from the selector now, so that closing its channel closes
   * the socket at once instead of at the next select. Loop only; other keys' readiness is handled
   * as at any select.
   */
  void deregister(SelectionKey key) throws IOException {
    key.cancel();
    selector.selectNow(onReady); // Flushes the cancelled-key set.
  }

  /** {@return the read buffer, at least {@code size} bytes, cleared and limited to size} */
  ByteBuffer readBuffer(int size) {
    if (readBuffer.capacity() < size) readBuffer = direct(size);
    return readBuffer.clear().limit(size);
  }

  @Override
  public void run() {
    while (true) {
      try {
        runTasks();
        long timeout;
        do { // Until no flush or task armed a timer after the timeout was computed.
          timerAdded = false;
          runFlushes(); // Whatever tasks and timers sent.
          timeout = runTimers();
          runFlushes();
        } while (timerAdded);
        awake = false;
        if (hasTasks()) {
          selector.selectNow(onReady);
        } else {
          selector.select(onReady, timeout);
        }
        awake = true;
      } catch (Throwable t) { // A bug in the library must not kill every connection on this loop.
        awake = true;
        logSafely(Level.ERROR, "unexpected failure in " + thread.getName(), t);
      }
    }
  }

  /** Writes every connection that queued frames since the last call. Loop only. */
  void runFlushes() {
    for (LoopTransport conn; (conn = flushes.pollFirst()) != null; ) conn.flushOnLoop(false);
  }

  private static void ready(SelectionKey key) {
    ((Selectable) key.attachment()).ready(key);
  }

  private boolean hasTasks() {
    taskLock.lock();
    try {
      return !tasks.isEmpty();
    } finally {
      taskLock.unlock();
    }
  }

  private void runTasks() {
    taskLock.lock();
    try {
      ArrayDeque<Runnable> swap = tasks;
      tasks = running;
      running = swap;
    } finally {
      taskLock.unlock();
    }
    for (Runnable task; (task = running.pollFirst()) != null; ) {
      try {
        task.run();
      } catch (Throwable t) {
        logSafely(Level.ERROR, "task failed on " + thread.getName(), t);
      }
    }
  }

  /** Fires due deadlines; returns milliseconds to the next one, or 0 for none. */
  private long runTimers() {
    if (timers.isEmpty()) return 0;
    long now = System.nanoTime();
    long next = 0;
    boolean any = false;
    inTimers = true;
    try {
      for (int i = timers.size() - 1; i >= 0; i--) {
        long deadline = timers.get(i).onTimer(now);
        if (deadline == 0) {
          timers.remove(i);
        } else if (!any || deadline - next < 0) { // nanoTime() values wrap: compare differences.
          next = deadline;
          any = true;
        }
      }
    } finally {
      inTimers = false;
    }
    if (!any) return 0;
    long wait = Math.min(next - now, Long.MAX_VALUE - 999_999); // Overdue: negative.
    return Math.max(1, (wait + 999_999) / 1_000_000);
  }

  /** Logs, swallowing whatever logging itself throws (it may be out of file descriptors too). */
  static void logSafely(Level level, String message, Throwable t) {
    logSafely(LOG, level, message, t);
  }

  /** Logs to {@code logger}, swallowing whatever logging throws; a null {@code t} logs no trace. */
  static void logSafely(System.Logger logger, Level level, String message, Throwable t) {
    try {
      if (t == null) {
        logger.log(level, message);
      } else {
        logger.log(level, message, t);
      }
    } catch (Throwable ignored) {
      // Nothing better to do: the loop must keep running.
    }
  }

  private static ByteBuffer direct(int size) {
    return ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Something registered with a selector: a connection or a server socket. */
  interface Selectable {
    void ready(SelectionKey key);
  }

  /** Something with deadlines on this loop. */
  interface Timed {
    /** Fires what is due at {@code now}; returns the next deadline, or 0 to be forgotten. */
    long onTimer(long now);
  }
}
