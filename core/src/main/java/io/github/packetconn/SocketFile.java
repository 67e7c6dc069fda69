package io.github.packetconn;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The file a Unix domain socket server is bound to: checked before the bind, deleted after the
 * close.
 *
 * <p>{@code bind(2)} refuses a path that exists, and a process that dies without closing leaves its
 * socket file behind. So before binding, a file that is <b>not a socket</b> is refused; a socket
 * file is probed with a connection and <b>replaced only if nothing accepts</b> it (it is stale); a
 * path where a server listens is refused. The JDK's messages leave the path out, so every failure
 * here names it.
 */
final class SocketFile {
  private static final int S_IFMT = 0170000; // The file type bits of st_mode.
  private static final int S_IFSOCK = 0140000;

  private final Path path;

  private SocketFile(Path path) {
    this.path = path;
  }

  /** Binds {@code server}, a UNIX channel, to {@code address}, replacing a stale socket file. */
  static SocketFile bind(ServerSocketChannel server, UnixDomainSocketAddress address, int backlog)
      throws IOException {
    Path path = address.getPath();
    if (isStale(path)) Files.deleteIfExists(path);
    try {
      server.bind(address, backlog);
    } catch (IOException e) {
      throw withPath(e, "cannot bind", path);
    }
    return new SocketFile(path);
  }

  /** Connects {@code channel}, a UNIX channel, to {@code address}, naming the path on failure. */
  static void connect(SocketChannel channel, UnixDomainSocketAddress address) throws IOException {
    try {
      channel.connect(address);
    } catch (IOException e) {
      throw withPath(e, "cannot connect to", address.getPath());
    }
  }

  /** Deletes the socket file, so the path is free for the next server. */
  void delete() throws IOException {
    Files.deleteIfExists(path);
  }

  /**
   * {@return true if {@code path} is a socket file nobody listens on, false if there is no file}
   *
   * @throws BindException if the file is not a socket, or a server listens on it
   */
  private static boolean isStale(Path path) throws IOException {
    boolean socket;
    try {
      socket = isSocket(path);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!socket) throw new BindException("cannot bind " + path + ": the file exists and is not a socket");
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.configureBlocking(false); // A full backlog must not block: a pending connect is a listener.
      probe.connect(UnixDomainSocketAddress.of(path));
    } catch (ConnectException e) {
      return true; // Refused: the socket file outlived its server.
    } catch (IOException e) {
      throw withPath(e, "cannot bind", path);
    }
    throw new BindException("cannot bind " + path + ": a server is listening on it");
  }

  private static boolean isSocket(Path path) throws IOException {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & S_IFMT) == S_IFSOCK;
    } catch (UnsupportedOperationException e) { // No "unix" view (Windows): sockets are "other" files.
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
    }
  }

  /**
   * {@return {@code e} with {@code path} in its message, of the same type where callers may test
   * it: the JDK's bare "No such file or directory" does not say which}
   */
  static IOException withPath(IOException e, String failed, Path path) {
    return SocketErrors.renamed(e, failed + " " + path + ": " + e.getMessage());
  }
}
