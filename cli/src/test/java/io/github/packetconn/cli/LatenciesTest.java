package io.github.packetconn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

final class LatenciesTest {
  @Test
  void percentilesUseTheNearestRank() {
    List<Long> values = new ArrayList<>();
    for (long i = 1; i <= 1000; i++) values.add(i);
    Collections.shuffle(values, new Random(1));
    Latencies latencies = new Latencies(0);
    for (long value : values) latencies.add(value);

    assertEquals(1000, latencies.size());
    assertEquals(1, latencies.percentile(0.1));
    assertEquals(500, latencies.percentile(50));
    assertEquals(900, latencies.percentile(90));
    assertEquals(990, latencies.percentile(99));
    assertEquals(999, latencies.percentile(99.9));
    assertEquals(1000, latencies.percentile(100));
    assertEquals(1000, latencies.max());
  }

  @Test
  void emptyReportsZero() {
    Latencies latencies = new Latencies(4);
    assertEquals(0, latencies.percentile(50));
    assertEquals(0, latencies.max());
    assertEquals("none recorded", latencies.describe(50));
  }

  @Test
  void mergeCombinesEveryPart() {
    Latencies a = new Latencies(1);
    Latencies b = new Latencies(1);
    for (long i = 0; i < 100; i++) a.add(3_000 + i);
    b.add(1_000);
    b.add(2_000);
    Latencies merged = Latencies.merge(List.of(a, b, new Latencies(0)));
    assertEquals(102, merged.size());
    assertEquals(1_000, merged.percentile(0.5));
    assertEquals(3_099, merged.max());
    assertEquals("p50 3.0 us, p99.9 3.1 us, max 3.1 us", merged.describe(50, 99.9));
  }
}
