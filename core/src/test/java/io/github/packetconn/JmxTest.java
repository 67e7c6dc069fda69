package io.github.packetconn;

import static io.github.packetconn.testing.Await.awaitTrue;
import static io.github.packetconn.testing.Handlers.ECHO;
import static io.github.packetconn.testing.Loopback.LOOPBACK;
import static io.github.packetconn.testing.Loopback.port;
import static io.github.packetconn.testing.Traffic.assertEchoes;
import static io.github.packetconn.testing.Traffic.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JmxTest {
  static final MBeanServer MBEANS = ManagementFactory.getPlatformMBeanServer();

  static ObjectName serverName(PacketServer server) throws Exception {
    return new ObjectName("io.github.packetconn:type=PacketServer,name=\"127.0.0.1:" + server.port() + "\"");
  }

  @Test
  void serverIsRegisteredUnderTheDocumentedName() throws Exception {
    ObjectName name;
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      name = serverName(server);
      assertTrue(MBEANS.isRegistered(name), name.toString());
      try (PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
        assertEchoes(conn);
        // bytesOut and flushes are counted together after the write returns, which may trail the
        // client's receipt of the echo; packetsOut (counted when queued) says nothing of the write.
        awaitTrue(() -> attribute(name, "bytesOut").equals(14L), () -> "bytesOut");
        assertEquals(1L, MBEANS.getAttribute(name, "packetsOut"));
        assertEquals(1L, MBEANS.getAttribute(name, "connectionsOpen"));
        assertEquals(1L, MBEANS.getAttribute(name, "connectionsAccepted"));
        assertEquals(1L, MBEANS.getAttribute(name, "packetsIn"));
        assertEquals(14L, MBEANS.getAttribute(name, "bytesIn"));
        assertEquals(0L, MBEANS.getAttribute(name, "closedProtocolError"));
        assertEquals(1.0, MBEANS.getAttribute(name, "packetsPerFlush"));
      }
    }
    assertFalse(MBEANS.isRegistered(name), "unregistered after close");
  }

  @Test
  void attributesArePlainNumbersNamedAsInTheApi() throws Exception {
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      MBeanAttributeInfo[] attributes = MBEANS.getMBeanInfo(serverName(server)).getAttributes();
      List<String> names = Arrays.stream(attributes).map(MBeanAttributeInfo::getName).toList();
      List<String> expected =
          new java.util.ArrayList<>(
              Arrays.stream(ServerStats.class.getRecordComponents()).map(c -> c.getName()).toList());
      expected.add("packetsPerFlush");
      assertEquals(expected, names);
      for (MBeanAttributeInfo a : attributes) {
        assertTrue(a.isReadable() && !a.isWritable(), a.getName());
        assertTrue(a.getType().equals("java.lang.Long") || a.getType().equals("java.lang.Double"), a.getType());
      }
    }
  }

  @Test
  void connectionsAreRegisteredOnlyOnRequest() throws Exception {
    ObjectName pattern = new ObjectName("io.github.packetconn:type=PacketConn,*");
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO);
        PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
      assertEchoes(conn);
      assertEquals(0, MBEANS.queryNames(pattern, null).size());
    }
    System.setProperty("packetconn.jmx.connections", "true");
    ObjectName clientSide;
    try (PacketServer server = PacketServer.bind(LOOPBACK, PacketConfig.DEFAULT, ECHO)) {
      try (PacketConn conn = connect(server, PacketConfig.DEFAULT)) {
        clientSide =
            new ObjectName(
                "io.github.packetconn:type=PacketConn,local=\"127.0.0.1:" + port(conn.localAddress())
                    + "\",remote=\"127.0.0.1:" + server.port() + "\"");
        assertEchoes(conn);
        awaitTrue(() -> MBEANS.queryNames(pattern, null).size() == 2, () -> "both sides registered");
        assertEquals(1L, MBEANS.getAttribute(clientSide, "packetsIn"));
        // Counted after the client's write returns: that may trail the echo's arrival.
        awaitTrue(() -> attribute(clientSide, "bytesOut").equals(14L), () -> "client bytesOut");
      } finally {
        System.clearProperty("packetconn.jmx.connections");
      }
      awaitTrue(() -> MBEANS.queryNames(pattern, null).isEmpty(), () -> "unregistered after close");
    }
  }

  private static Object attribute(ObjectName name, String attribute) {
    try {
      return MBEANS.getAttribute(name, attribute);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
