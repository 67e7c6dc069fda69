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
 * <h2>Wire format</h2>
 *
 * <p>Each packet is one frame: {@code u32 little-endian payload length | payload | [u32
 * little-endian CRC-32]}. The CRC (CRC-32/IEEE over the four length bytes and the payload) is
 * present only when {@link io.github.packetconn.PacketConfig#crc()} is on, and both peers must
 * agree.
 */
package io.github.packetconn;
