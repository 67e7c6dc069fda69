package io.github.packetconn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pool's shared stacks and the reference count, under threads that use them at once. */
class BufferPoolTest {
  /**
   * Eight threads (four platform, four virtual) take and give storage of four classes at once, each
   * holding a few packets at a time, stamped all through with the thread's mark: a storage handed to
   * two threads at once would show the other's mark before it is given back.
   */
  @Test
  @Timeout(60)
  void storageTakenByManyThreadsAtOnceIsNeverShared() throws Exception {
    int threads = 8;
    CyclicBarrier start = new CyclicBarrier(threads);
    List<Thread> workers = new ArrayList<>();
    List<Throwable> failures = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      byte mark = (byte) (t + 1);
      Runnable work = () -> {
        try {
          start.await();
          Packet[] held = new Packet[8];
          for (int i = 0; i < 20_000; i++) {
            int slot = i % held.length;
            if (held[slot] != null) release(held[slot], mark);
            held[slot] = Packet.allocate(BufferPool.MIN_CAPACITY << (i % 4));
            java.util.Arrays.fill(held[slot].array(), mark);
          }
          for (Packet p : held) release(p, mark);
        } catch (Throwable e) {
          synchronized (failures) {
            failures.add(e);
          }
        }
      };
      workers.add(t % 2 == 0 ? Thread.ofPlatform().start(work) : Thread.ofVirtual().start(work));
    }
    for (Thread w : workers) w.join();
    assertEquals(List.of(), failures);
  }

  private static void release(Packet p, byte mark) {
    byte[] array = p.array();
    for (int i = 0; i < array.length; i++) {
      if (array[i] != mark) {
        throw new AssertionError("byte " + i + " of a " + array.length + "-byte storage held by thread "
            + mark + " is " + array[i] + ": another thread had it at the same time");
      }
    }
    assertTrue(p.release());
  }

  /**
   * A packet retained seven times and released by eight threads at once is released once, by
   * exactly one of them, whichever comes last; 500 times over.
   */
  @Test
  @Timeout(60)
  void ofManyReleasesAtOnceExactlyOneIsTheLast() throws Exception {
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < 500; round++) {
        Packet p = Packet.allocate();
        for (int i = 1; i < threads; i++) p.retain();
        CyclicBarrier start = new CyclicBarrier(threads);
        AtomicInteger last = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          done.add(pool.submit(() -> {
            start.await();
            if (p.release()) last.incrementAndGet();
            return null;
          }));
        }
        for (Future<?> f : done) f.get();
        assertEquals(1, last.get(), "releases that said they were the last, round " + round);
        assertEquals(0, p.refCount());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
