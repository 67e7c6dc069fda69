/**
 * The fixtures the module's tests share, each in one place: {@link
 * io.github.packetconn.testing.Loopback} (the address tests bind, raw sockets), {@link
 * io.github.packetconn.testing.Await} (how long a test waits, and how), {@link
 * io.github.packetconn.testing.Handlers} and {@link io.github.packetconn.testing.Recorder} (server
 * handlers), {@link io.github.packetconn.testing.Traffic} (what tests send and check, whole
 * scenarios), {@link io.github.packetconn.testing.Golden} and {@link
 * io.github.packetconn.testing.Frames} (bytes on the wire), {@link
 * io.github.packetconn.testing.Memory} (heap and allocation probes), {@link
 * io.github.packetconn.testing.TlsFixtures}, {@link io.github.packetconn.testing.Choices} (fuzz
 * inputs), and the JUnit extensions every test runs under ({@link
 * io.github.packetconn.testing.LeakCheck}, {@link io.github.packetconn.testing.LogCapture}). They
 * use the library's public API only; a fixture that needs a package-private part of it lives in
 * {@code io.github.packetconn} (as {@code CloseLines} does). A helper only one test class uses stays
 * in that class.
 */
package io.github.packetconn.testing;
