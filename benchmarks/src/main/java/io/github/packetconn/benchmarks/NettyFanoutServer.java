package io.github.packetconn.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.net.ProtocolException;
import java.net.SocketAddress;

/**
 * Netty's fan-out ({@link Fanout}'s protocol), the standard way: on the same {@link NettyServer} as
 * {@link NettyEchoServer} (native epoll, one event-loop thread, the pooled allocator, TCP_NODELAY,
 * a {@link LengthFieldBasedFrameDecoder} keeping each frame's header), with a {@link ChannelGroup}
 * of the subscribers. Each frame the publisher sends goes to the group with {@code writeAndFlush},
 * from the event loop: the group writes a {@code retainedDuplicate()} of the frame to every member,
 * with a promise each, and releases the frame. The group drops a member when it closes; closing
 * the server closes them all. Over TCP only.
 *
 * <p>Everything runs on the one event-loop thread.
 */
final class NettyFanoutServer {
  private NettyFanoutServer() {}

  /** Starts the fan-out on {@code address}. */
  static EchoServer start(SocketAddress address) throws InterruptedException {
    FailureLog failures = new FailureLog("netty");
    EventLoopGroup loop = NettyServer.newLoop();
    // Its futures complete on the loop.
    ChannelGroup subscribers = new DefaultChannelGroup("subscribers", loop.next());
    return new NettyServer(loop, address, null, () -> new Member(subscribers, failures), failures);
  }

  /** One connection: its role comes with its first frame. */
  private static final class Member extends ChannelInboundHandlerAdapter {
    private final ChannelGroup subscribers;
    private final FailureLog failures;
    private boolean publisher;
    private boolean subscriber;

    Member(ChannelGroup subscribers, FailureLog failures) {
      this.subscribers = subscribers;
      this.failures = failures;
    }

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
}
