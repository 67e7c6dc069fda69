package io.github.packetconn.benchmarks;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.ResourceLeakDetector;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.SocketAddress;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Netty's fan-out ({@link Fanout}'s protocol), the standard way: the same server as {@link
 * NettyEchoServer} (native epoll, one event-loop thread, the pooled allocator, TCP_NODELAY, a
 * {@link LengthFieldBasedFrameDecoder} keeping each frame's header), with a {@link ChannelGroup} of
 * the subscribers. Each frame the publisher sends goes to the group with {@code writeAndFlush},
 * from the event loop: the group writes a {@code retainedDuplicate()} of the frame to every member,
 * with a promise each, and releases the frame. The group drops a member when it closes; closing
 * the server closes them all. Over TCP only.
 *
 * <p>Everything runs on the one event-loop thread.
 */
final class NettyFanoutServer implements EchoServer {
  /** Longest frame: a 32 MiB payload, packetconn's default maximum, plus its 4-byte header. */
  private static final int MAX_FRAME_LENGTH = (32 << 20) + 4;

  private final EventLoopGroup loop;
  private final Channel channel;
  private final ChannelGroup subscribers;
  private final FailureLog failures = new FailureLog("netty");

  NettyFanoutServer(SocketAddress address) throws InterruptedException {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "Netty native epoll is unavailable", Epoll.unavailabilityCause());
    }
    ByteBufAllocator allocator =
        System.getProperty("io.netty.allocator.type") == null
            ? PooledByteBufAllocator.DEFAULT
            : ByteBufAllocator.DEFAULT;
    loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    subscribers = new DefaultChannelGroup("subscribers", loop.next()); // Its futures: on the loop.
    try {
      channel =
          new ServerBootstrap()
              .group(loop) // One loop both accepts and serves.
              .channel(EpollServerSocketChannel.class)
              .option(ChannelOption.SO_BACKLOG, 1024)
              .option(ChannelOption.ALLOCATOR, allocator)
              .childOption(ChannelOption.ALLOCATOR, allocator)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ch.pipeline()
                          .addLast(
                              new LengthFieldBasedFrameDecoder(
                                  ByteOrder.LITTLE_ENDIAN, MAX_FRAME_LENGTH, 0, 4, 0, 0, true),
                              new Member());
                    }
                  })
              .bind(address)
              .sync()
              .channel();
    } catch (InterruptedException | RuntimeException e) {
      loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** One connection: its role comes with its first frame. */
  private final class Member extends ChannelInboundHandlerAdapter {
    private boolean publisher;
    private boolean subscriber;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws ProtocolException {
      ByteBuf frame = (ByteBuf) msg; // Header included.
      if (publisher) {
        subscribers.writeAndFlush(frame); // Takes the frame: a duplicate to each, then release.
        return;
      }
      try {
        if (subscriber) throw new ProtocolException("a subscriber sent a packet after its hello");
        int size = frame.readableBytes() - 4;
        int first = size > 0 ? frame.getUnsignedByte(frame.readerIndex() + 4) : -1;
        int hello = size == 1 ? first : -1;
        if (hello == Fanout.PUBLISHER) {
          publisher = true;
        } else if (hello == Fanout.SUBSCRIBER) {
          subscriber = true;
          subscribers.add(ctx.channel());
          ctx.writeAndFlush(ctx.alloc().buffer(5).writeIntLE(1).writeByte(Fanout.SUBSCRIBER));
        } else {
          throw new ProtocolException(
              "the first packet is no hello ('P' or 'S'): "
                  + size
                  + " bytes"
                  + (first >= 0 ? ", the first " + Fanout.describe(first) : ""));
        }
      } finally {
        frame.release();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failures.connectionFailed(ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  @Override
  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    failures.summarize();
  }
}
