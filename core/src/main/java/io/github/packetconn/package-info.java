/**
 * Send and receive packets over TCP or Unix domain sockets, wire-compatible with the Go library
 * go-packetconn.
 *
 * <p>{@link io.github.packetconn.Packet} holds one payload and packs and unpacks typed values;
 * {@link io.github.packetconn.PacketConn} sends and receives packets over one connection; {@link
 * io.github.packetconn.PacketServer} accepts connections.
 *
 * <h2>Who releases a packet</h2>
 *
 * <p>Every packet starts with one reference, held by whoever allocated or received it. <b>Whoever
 * holds a reference releases it, once</b>: with {@link io.github.packetconn.Packet#release()} or a
 * {@code try (Packet p = ...)} block.
 *
 * <ul>
 *   <li>{@link io.github.packetconn.Packet#allocate()} and {@link
 *       io.github.packetconn.Packet#of(byte[])} give the caller a reference.
 *   <li>{@link io.github.packetconn.PacketConn#send(Packet)} takes what it needs itself (it copies
 *       the frame into the send queue), so the caller still holds its reference and releases it;
 *       one packet can be sent to any number of connections before that release.
 *   <li>A received packet, from {@code receive()}, iteration or a {@link
 *       io.github.packetconn.PacketHandler}, belongs to the receiver, who releases it.
 *   <li>{@link io.github.packetconn.Packet#retain()} adds a reference for a second holder, who
 *       releases it in turn.
 * </ul>
 *
 * <p>Any use of a packet after its last release throws {@link IllegalStateException}, and so does a
 * second release. A packet never released is collected by the GC: it costs the pool a buffer, never
 * memory.
 *
 * <h2>Packets and threads</h2>
 *
 * <p>A reference belongs to a holder, not to a thread. A received packet may be handed to another
 * thread, through anything that hands objects over safely (an {@code ExecutorService}, a {@code
 * BlockingQueue}, a {@code CompletableFuture}); from then on that thread <b>owns</b> it: it reads
 * it, and <b>releases it exactly once</b> when done, and the thread that handed it over no longer
 * touches it. {@link io.github.packetconn.Packet#retain()} and {@link
 * io.github.packetconn.Packet#release()} are <b>atomic</b>, so two threads holding a reference each
 * may release them at the same time, in either order; the last release, on whichever thread,
 * returns the storage to the pool. The payload and the read position are <b>not thread-safe</b>:
 * one thread uses a packet at a time.
 *
 * <h2>Handlers, servers and many threads</h2>
 *
 * <ul>
 *   <li>A {@link io.github.packetconn.PacketHandler} runs on an I/O thread and must not block; it
 *       passes slow work, and the packet with it, to an executor (see its documentation).
 *   <li>A handler gets its connection, not its {@link io.github.packetconn.PacketServer}: keep the
 *       server in a field set when {@code bind} returns (see {@code PacketServer}).
 *   <li>To send one packet to many connections (a chat room, a topic), put them in a {@link
 *       io.github.packetconn.PacketGroup}: any thread sends to all of them, closed members leave by
 *       themselves, and slow ones are skipped or aborted as the group's policy says.
 *   <li>Any number of threads may send on one {@link io.github.packetconn.PacketConn}. To match
 *       replies to requests, tag each request with an id and complete a future per id from a
 *       handler: the {@code rpc} example in the project's {@code examples/} ({@code RpcClient},
 *       {@code RpcServer}) shows it, with timeouts and every pending call failed on close.
 * </ul>
 *
 * <h2>Wire format</h2>
 *
 * <p>Each packet is one frame: {@code u32 little-endian payload length | payload | [u32
 * little-endian CRC-32]}. The CRC (CRC-32/IEEE over the four length bytes and the payload) is
 * present only when {@link io.github.packetconn.PacketConfig#crc()} is on, and both peers must
 * agree.
 */
package io.github.packetconn;
