package io.github.packetconn.benchmarks;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.PlatformDependent;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * The baseline: Netty 4.2's standard length-field echo at its best, on a {@link NettyServer}
 * (native epoll, one event-loop thread for accepting and for I/O, the pooled allocator,
 * TCP_NODELAY), whose {@link LengthFieldBasedFrameDecoder}'s frames (header included) are written
 * back as they come and flushed once per read. Given a {@link UnixDomainSocketAddress}, it listens
 * on that Unix domain socket.
 *
 * <p>{@link #tls} puts an {@link io.netty.handler.ssl.SslHandler} first in the pipeline, from
 * {@link SslProvider#JDK} (the JDK's {@code SSLEngine}, as packetconn uses) with the bench's key
 * ({@link BenchTls}), TLS 1.3 and 1.2; the rest of the pipeline is the same.
 */
final class NettyEchoServer {
  private NettyEchoServer() {}

  /** Starts the echo over plain TCP, or a Unix domain socket. */
  static EchoServer start(SocketAddress address) throws InterruptedException {
    return start(address, null);
  }

  /** Starts the echo over TLS. */
  static EchoServer tls(SocketAddress address) throws Exception {
    SslContext ssl =
        SslContextBuilder.forServer(BenchTls.keyManagers())
            .sslProvider(SslProvider.JDK)
            .protocols(BenchTls.PROTOCOLS)
            .build();
    return start(address, ssl);
  }

  private static EchoServer start(SocketAddress address, SslContext ssl)
      throws InterruptedException {
    FailureLog failures = new FailureLog(ssl == null ? "netty" : "netty-tls");
    EventLoopGroup loop = NettyServer.newLoop();
    ByteBufAllocator allocator = NettyServer.allocator();
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
    Echo echo = new Echo(failures);
    return new NettyServer(loop, address, ssl, () -> echo, failures);
  }

  /** Writes each frame back; flushes once per read of the socket. */
  @Sharable
  private static final class Echo extends ChannelInboundHandlerAdapter {
    private final FailureLog failures;

    Echo(FailureLog failures) {
      this.failures = failures;
    }

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
}
