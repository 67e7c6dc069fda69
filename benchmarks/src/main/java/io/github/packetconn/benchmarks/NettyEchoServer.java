package io.github.packetconn.benchmarks;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.PlatformDependent;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * The baseline: Netty 4.2's standard length-field echo at its best. Native epoll, one event-loop
 * thread for accepting and for I/O (the server gets one core), the pooled allocator, TCP_NODELAY,
 * and a {@link LengthFieldBasedFrameDecoder} whose frames (header included) are written back as
 * they come and flushed once per read. Given a {@link UnixDomainSocketAddress}, it listens on that
 * Unix domain socket with epoll's domain socket channels.
 *
 * <p>{@link #tls} puts an {@link io.netty.handler.ssl.SslHandler} first in the pipeline, from
 * {@link SslProvider#JDK} (the JDK's {@code SSLEngine}, as packetconn uses) with the bench's key
 * ({@link BenchTls}), TLS 1.3 and 1.2; the rest of the pipeline is the same.
 *
 * <p>The allocator is {@link PooledByteBufAllocator#DEFAULT}, unless {@code
 * -Dio.netty.allocator.type} is given; then Netty's default for that type. (Netty 4.2's own default
 * is the adaptive allocator.)
 */
final class NettyEchoServer implements EchoServer {
  /** Longest frame: a 32 MiB payload, packetconn's default maximum, plus its 4-byte header. */
  private static final int MAX_FRAME_LENGTH = (32 << 20) + 4;

  private final EventLoopGroup group;
  private final Channel channel;
  private final FailureLog failures;

  NettyEchoServer(SocketAddress address) throws InterruptedException {
    this(address, null);
  }

  /** Starts the echo over TLS. */
  static NettyEchoServer tls(SocketAddress address) throws Exception {
    SslContext ssl =
        SslContextBuilder.forServer(BenchTls.keyManagers())
            .sslProvider(SslProvider.JDK)
            .protocols(BenchTls.PROTOCOLS)
            .build();
    return new NettyEchoServer(address, ssl);
  }

  private NettyEchoServer(SocketAddress address, SslContext ssl) throws InterruptedException {
    failures = new FailureLog(ssl == null ? "netty" : "netty-tls");
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException("Netty native epoll is unavailable", Epoll.unavailabilityCause());
    }
    ByteBufAllocator allocator =
        System.getProperty("io.netty.allocator.type") == null
            ? PooledByteBufAllocator.DEFAULT
            : ByteBufAllocator.DEFAULT;
    System.err.println("netty: epoll=" + Epoll.isAvailable()
        + " hasUnsafe=" + PlatformDependent.hasUnsafe()
        + " directBufferPreferred=" + PlatformDependent.directBufferPreferred()
        + " allocator=" + allocator.getClass().getName()
        + " leakDetection=" + ResourceLeakDetector.getLevel()
        + (ssl == null ? "" : " ssl=" + ssl.getClass().getSimpleName() + " " + ssl.cipherSuites())
        + " java=" + PlatformDependent.javaVersion());
    if (!PlatformDependent.hasUnsafe()) {
      System.err.println("netty: WARNING running without Unsafe, on slower paths: "
          + PlatformDependent.getUnsafeUnavailabilityCause());
    }

    group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Echo echo = new Echo();
    boolean unix = address instanceof UnixDomainSocketAddress;
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(group) // One loop both accepts and serves.
            .channel(unix ? EpollServerDomainSocketChannel.class : EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.ALLOCATOR, allocator)
            .childOption(ChannelOption.ALLOCATOR, allocator);
    if (!unix) bootstrap.childOption(ChannelOption.TCP_NODELAY, true);
    SocketAddress bindAddress =
        unix ? new DomainSocketAddress(((UnixDomainSocketAddress) address).getPath().toString()) : address;
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
                              echo);
                    }
                  })
              .bind(bindAddress)
              .sync()
              .channel();
    } catch (InterruptedException | RuntimeException e) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** Writes each frame back; flushes once per read of the socket. */
  @Sharable
  private final class Echo extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.write(msg); // As Netty's echo example: a promise per write, like users write.
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failures.connectionFailed(ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  @Override
  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort(); // Only asked of a TCP server.
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    failures.summarize();
  }
}
