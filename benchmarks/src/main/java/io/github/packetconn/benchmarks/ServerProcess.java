package io.github.packetconn.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One echo server under test in its own JVM, driven through the {@link ServerMain} protocol: it
 * prints {@code READY <port>} (or {@code READY <path>} on a Unix domain socket) once listening, answers {@code stats} with a {@code STATS} line
 * ({@link JvmStats}) and exits on {@code quit}. Its other output goes to the harness's stderr, each
 * line prefixed with the server's name.
 *
 * <pre>{@code
 * try (ServerProcess server = ServerProcess.start("raw", command, System.err)) {
 *   CompletableFuture<JvmStats> before = server.requestStats();
 *   ... // load on server.address()
 * }
 * }</pre>
 *
 * <p>{@link #close()} sends {@code quit} and kills the JVM if it has not exited 10 s later; a
 * shutdown hook kills every server still running when the harness exits. Thread-safe.
 */
final class ServerProcess implements AutoCloseable {
  /** How long a server may take to print READY. */
  static final long READY_TIMEOUT_SECONDS = 60;

  /** How long a server may take to exit after {@code quit}. */
  static final long QUIT_TIMEOUT_SECONDS = 10;

  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> RUNNING.forEach(Process::destroyForcibly), "kill-servers"));
  }

  private final String name;
  private final Process process;
  private final PrintStream log;
  private final OutputStream commands;
  private final CompletableFuture<String> ready = new CompletableFuture<>(); // A port or a path.
  private final Queue<CompletableFuture<JvmStats>> statsRequests = new ArrayDeque<>();
  private boolean closed;

  private ServerProcess(String name, Process process, PrintStream log) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.commands = process.getOutputStream();
  }

  /**
   * Starts {@code command} and waits for its {@code READY} line.
   *
   * @param name the server's name, prefixed to its output
   * @throws IOException if it cannot start, exits or prints no READY line within 60 s
   */
  static ServerProcess start(String name, List<String> command, PrintStream log)
      throws IOException {
    Process process = new ProcessBuilder(command).start();
    RUNNING.add(process);
    ServerProcess server = new ServerProcess(name, process, log);
    Thread.ofPlatform().daemon().name(name + "-stdout").start(server::readStdout);
    Thread.ofPlatform()
        .daemon()
        .name(name + "-stderr")
        .start(() -> server.forward(process.getErrorStream()));
    try {
      server.ready.get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      return server;
    } catch (ExecutionException | TimeoutException | InterruptedException e) {
      server.kill();
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
      String reason =
          e instanceof TimeoutException
              ? "printed no READY line in " + READY_TIMEOUT_SECONDS + " s"
              : e.getCause() != null ? e.getCause().getMessage() : e.toString();
      throw new IOException("server " + name + " did not start: " + reason);
    }
  }

  /** {@return the port the server listens on} */
  int port() {
    return Integer.parseInt(ready.join());
  }

  /** {@return where the server listens: 127.0.0.1 and its port, or its Unix domain socket} */
  SocketAddress address() {
    String where = ready.join();
    return where.chars().allMatch(Character::isDigit)
        ? new InetSocketAddress("127.0.0.1", Integer.parseInt(where))
        : UnixDomainSocketAddress.of(where);
  }

  /** {@return the server's name} */
  String name() {
    return name;
  }

  /**
   * Asks for the server's counters; the future completes when its STATS line arrives, or
   * exceptionally if it exits first. Does not block.
   */
  synchronized CompletableFuture<JvmStats> requestStats() {
    CompletableFuture<JvmStats> stats = new CompletableFuture<>();
    try {
      commands.write("stats\n".getBytes(StandardCharsets.US_ASCII));
      commands.flush();
      statsRequests.add(stats);
    } catch (IOException e) {
      stats.completeExceptionally(e);
    }
    return stats;
  }

  /** Sends {@code quit}, waits up to 10 s for the exit, then kills the server. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) return;
      closed = true;
      try {
        commands.write("quit\n".getBytes(StandardCharsets.US_ASCII));
        commands.close();
      } catch (IOException e) {
        // The server is gone already: waitFor below sees it.
      }
    }
    try {
      if (!process.waitFor(QUIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        log.println(
            "[" + name + "] did not exit " + QUIT_TIMEOUT_SECONDS + " s after quit: killed");
        kill();
      } else if (process.exitValue() != 0) {
        log.println("[" + name + "] exited with status " + process.exitValue());
      }
    } catch (InterruptedException e) {
      kill();
      Thread.currentThread().interrupt();
    } finally {
      RUNNING.remove(process);
    }
  }

  private void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(QUIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    RUNNING.remove(process);
  }

  private void readStdout() {
    try (BufferedReader in = reader(process.getInputStream())) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("READY ") && !ready.isDone()) {
          String where = line.substring(6).strip();
          if (where.isEmpty()) {
            ready.completeExceptionally(new IOException("bad READY line: " + line));
          } else {
            ready.complete(where);
          }
        } else if (line.startsWith("STATS ")) {
          CompletableFuture<JvmStats> request;
          synchronized (this) {
            request = statsRequests.poll();
          }
          if (request == null) {
            log.println("[" + name + "] unrequested " + line);
          } else {
            try {
              request.complete(JvmStats.parse(line));
            } catch (IllegalArgumentException e) {
              request.completeExceptionally(e);
            }
          }
        } else {
          log.println("[" + name + "] " + line);
        }
      }
    } catch (IOException e) {
      log.println("[" + name + "] reading stdout failed: " + e);
    }
    exited();
  }

  /** Fails whoever still waits for an answer, once stdout has ended. */
  private void exited() {
    String status;
    try {
      status = "exited with status " + process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      status = "stdout closed";
    }
    IOException gone = new IOException("server " + name + " " + status);
    ready.completeExceptionally(gone);
    List<CompletableFuture<JvmStats>> pending;
    synchronized (this) {
      pending = new ArrayList<>(statsRequests);
      statsRequests.clear();
    }
    pending.forEach(request -> request.completeExceptionally(gone));
  }

  private void forward(InputStream stream) {
    try (BufferedReader in = reader(stream)) {
      String line;
      while ((line = in.readLine()) != null) log.println("[" + name + "] " + line);
    } catch (IOException e) {
      log.println("[" + name + "] reading stderr failed: " + e);
    }
  }

  private static BufferedReader reader(InputStream stream) {
    return new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
  }
}
