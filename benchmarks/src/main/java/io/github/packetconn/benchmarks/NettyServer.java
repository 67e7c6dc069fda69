package io.github.packetconn.benchmarks;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ResourceLeakDetector;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the Netty servers under test share ({@link NettyEchoServer}, {@link NettyFanoutServer}):
 * native epoll, one event-loop thread that both accepts and serves (the server gets one core), the
 * pooled allocator, TCP_NODELAY, leak detection off, and in every connection's pipeline a {@link
 * LengthFieldBasedFrameDecoder} whose frames keep their 4-byte header, after a TLS handler if the
 * server speaks TLS, then the server's own handler. Given a {@link UnixDomainSocketAddress}, it
 * listens on that Unix domain socket with epoll's domain socket channels.
 *
 * <p>The allocator is {@link PooledByteBufAllocator#DEFAULT}, unless {@code
 * -Dio.netty.allocator.type} is given; then Netty's default for that type. (Netty 4.2's own default
 * is the adaptive allocator.)
 *
 * <p>Thread-safe; the handlers run on the one event-loop thread.
 */
final class NettyServer implements EchoServer {
  /** Longest frame: a 32 MiB payload, packetconn's default maximum, plus its 4-byte header. */
  private static final int MAX_FRAME_LENGTH = (32 << 20) + 4;

  private final EventLoopGroup loop;
  private final Channel channel;
  private final FailureLog failures;

  /**
   * Listens on {@code address} with {@code loop} (from {@link #newLoop}), which it then owns: it
   * shuts it down if binding fails, and when closed. Each connection's last handler comes from
   * {@code handler}; {@code ssl}, if not null, adds TLS.
   */
  NettyServer(
      EventLoopGroup loop,
      SocketAddress address,
      SslContext ssl,
      Supplier<ChannelHandler> handler,
      FailureLog failures)
      throws InterruptedException {
    this.loop = loop;
    this.failures = failures;
    ByteBufAllocator allocator = allocator();
    boolean unix = address instanceof UnixDomainSocketAddress;
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(loop) // One loop both accepts and serves.
            .channel(unix ? EpollServerDomainSocketChannel.class : EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.ALLOCATOR, allocator)
            .childOption(ChannelOption.ALLOCATOR, allocator);
    if (!unix) bootstrap.childOption(ChannelOption.TCP_NODELAY, true);
    SocketAddress bindAddress =
        unix
            ? new DomainSocketAddress(((UnixDomainSocketAddress) address).getPath().toString())
            : address;
    try {
      channel =
          bootstrap
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      if (ssl != null) ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                      ch.pipeline()
                          .addLast(
                              new LengthFieldBasedFrameDecoder(
                                  ByteOrder.LITTLE_ENDIAN, MAX_FRAME_LENGTH, 0, 4, 0, 0, true),
                              handler.get());
                    }
                  })
              .bind(bindAddress)
              .sync()
              .channel();
    } catch (InterruptedException | RuntimeException e) {
      loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** Turns leak detection off and checks for native epoll; {@return a group of one event loop} */
  static EventLoopGroup newLoop() {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "Netty native epoll is unavailable", Epoll.unavailabilityCause());
    }
    return new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  }

  /** {@return the allocator the servers use} */
  static ByteBufAllocator allocator() {
    return System.getProperty("io.netty.allocator.type") == null
        ? PooledByteBufAllocator.DEFAULT
        : ByteBufAllocator.DEFAULT;
  }

  @Override
  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort(); // Only asked of a TCP server.
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    failures.summarize();
  }
}
