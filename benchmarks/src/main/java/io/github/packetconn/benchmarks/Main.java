package io.github.packetconn.benchmarks;

/** Entry point of the benchmarks jar. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.out.println("packetconn benchmarks");
  }
}
