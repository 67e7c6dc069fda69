package io.github.packetconn.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Where a bench ran: CPU model and count, JVM, kernel, date, and the CPUs this process may use.
 *
 * @param cpus CPUs in the machine, whatever this process is pinned to
 * @param allowedCpus this process's CPU affinity, as {@code Cpus_allowed_list} ("0-1", "1")
 */
record Machine(
    String cpuModel, int cpus, String allowedCpus, String java, String kernel, Instant date) {
  /** {@return this machine, read from /proc where it exists} */
  static Machine current() {
    String model = "unknown";
    int cpus = 0;
    for (String line : lines(Path.of("/proc/cpuinfo"))) {
      if (line.startsWith("processor")) cpus++;
      if (line.startsWith("model name") && model.equals("unknown")) {
        model = line.substring(line.indexOf(':') + 1).strip();
      }
    }
    if (cpus == 0) cpus = Runtime.getRuntime().availableProcessors();
    String allowed = "";
    for (String line : lines(Path.of("/proc/self/status"))) {
      if (line.startsWith("Cpus_allowed_list:")) allowed = line.substring(18).strip();
    }
    String java =
        System.getProperty("java.vm.name")
            + " "
            + Runtime.version()
            + " ("
            + System.getProperty("java.vendor")
            + ")";
    String kernel = System.getProperty("os.name") + " " + System.getProperty("os.version");
    return new Machine(
        model, cpus, allowed, java, kernel, Instant.now().truncatedTo(ChronoUnit.SECONDS));
  }

  private static List<String> lines(Path path) {
    try {
      return Files.readAllLines(path);
    } catch (IOException e) {
      return List.of(); // Not Linux: report what the JVM knows.
    }
  }
}
