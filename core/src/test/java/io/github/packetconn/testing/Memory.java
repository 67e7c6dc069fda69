package io.github.packetconn.testing;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;

/** Heap, direct memory and allocation probes, for tests that bound what the library keeps or makes. */
public final class Memory {
  private Memory() {}

  /**
   * {@return heap in use after full collections} Collects until a collection frees less than 64
   * KiB (five at most), and takes the least seen.
   */
  public static long heapUsedAfterGc() {
    Runtime runtime = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      long now = runtime.totalMemory() - runtime.freeMemory();
      boolean stable = used - now < 64 << 10;
      used = Math.min(used, now);
      if (stable) break;
    }
    return used;
  }

  /** {@return the JDK's count of direct buffer bytes in use} */
  public static long directMemoryUsed() {
    List<BufferPoolMXBean> pools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
    for (BufferPoolMXBean pool : pools) {
      if ("direct".equals(pool.getName())) return pool.getMemoryUsed();
    }
    throw new AssertionError("no direct buffer pool among " + pools);
  }

  /**
   * {@return the bytes the threads {@code ids} have allocated on the heap so far} Through
   * reflection: the tests compile inside the library's module, which does not read jdk.management;
   * they run on the class path, where it is there.
   */
  public static long allocatedBytes(long... ids) {
    try {
      Object bytes =
          Class.forName("com.sun.management.ThreadMXBean")
              .getMethod("getThreadAllocatedBytes", long[].class)
              .invoke(ManagementFactory.getThreadMXBean(), (Object) ids);
      return Arrays.stream((long[]) bytes).sum();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot read the threads' allocated bytes", e);
    }
  }
}
