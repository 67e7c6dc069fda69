package io.github.packetconn;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.JMException;
import javax.management.MBeanInfo;
import javax.management.MBeanNotificationInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.OpenMBeanAttributeInfoSupport;
import javax.management.openmbean.OpenMBeanConstructorInfoSupport;
import javax.management.openmbean.OpenMBeanInfoSupport;
import javax.management.openmbean.OpenMBeanOperationInfoSupport;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;

/**
 * An open MBean whose read-only attributes are the components of a stats record ({@link
 * ServerStats}, {@link ConnectionStats}) and its derived {@code double} accessors, named as in the
 * Java API and typed {@code long} or {@code double}, so JConsole shows them as plain numbers. A new
 * counter in a record shows up here by itself.
 *
 * <p>Names: {@code io.github.packetconn:type=PacketServer,name="host:port"} for each server, and,
 * only with {@code -Dpacketconn.jmx.connections=true}, {@code
 * io.github.packetconn:type=PacketConn,local="host:port",remote="host:port"} for each connection.
 * {@code -Dpacketconn.jmx=false} registers nothing.
 */
final class StatsMBean implements DynamicMBean {
  static final String DOMAIN = "io.github.packetconn";
  static final boolean ENABLED = !"false".equals(System.getProperty("packetconn.jmx"));

  /** {@return whether connections get MBeans too; read per connection, so tests may turn it on} */
  static boolean connections() {
    return ENABLED && Boolean.getBoolean("packetconn.jmx.connections");
  }

  private final Supplier<? extends Record> stats;
  private final Map<String, Method> accessors = new LinkedHashMap<>();
  private final MBeanInfo info;

  private StatsMBean(Class<? extends Record> type, Supplier<? extends Record> stats, String description) {
    this.stats = stats;
    for (RecordComponent c : type.getRecordComponents()) accessors.put(c.getName(), c.getAccessor());
    for (Method m : type.getDeclaredMethods()) { // Derived values, such as packetsPerFlush.
      if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers())
          && m.getParameterCount() == 0 && m.getReturnType() == double.class) {
        accessors.putIfAbsent(m.getName(), m);
      }
    }
    List<OpenMBeanAttributeInfoSupport> attributes = new ArrayList<>();
    for (Method m : accessors.values()) {
      OpenType<?> openType = m.getReturnType() == double.class ? SimpleType.DOUBLE : SimpleType.LONG;
      attributes.add(new OpenMBeanAttributeInfoSupport(m.getName(), m.getName(), openType, true, false, false));
    }
    info =
        new OpenMBeanInfoSupport(
            type.getName(),
            description,
            attributes.toArray(OpenMBeanAttributeInfoSupport[]::new),
            new OpenMBeanConstructorInfoSupport[0],
            new OpenMBeanOperationInfoSupport[0],
            new MBeanNotificationInfo[0]);
  }

  /**
   * Registers the stats {@code stats} supplies under {@code DOMAIN:keys}.
   *
   * @return the name, or null if registration is off or failed (logged at DEBUG: monitoring must
   *     not stop a server)
   */
  static ObjectName register(
      String keys, Class<? extends Record> type, Supplier<? extends Record> stats, String description) {
    if (!ENABLED) return null;
    try {
      ObjectName name = new ObjectName(DOMAIN + ":" + keys);
      ManagementFactory.getPlatformMBeanServer().registerMBean(new StatsMBean(type, stats, description), name);
      return name;
    } catch (JMException | RuntimeException e) {
      EventLoop.logSafely(System.Logger.Level.DEBUG, "cannot register MBean " + keys + ": " + e, null);
      return null;
    }
  }

  /** Unregisters {@code name} if it is not null. */
  static void unregister(ObjectName name) {
    if (name == null) return;
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    try {
      server.unregisterMBean(name);
    } catch (JMException | RuntimeException e) {
      EventLoop.logSafely(System.Logger.Level.DEBUG, "cannot unregister MBean " + name + ": " + e, null);
    }
  }

  @Override
  public Object getAttribute(String attribute) throws AttributeNotFoundException {
    Method accessor = accessors.get(attribute);
    if (accessor == null) throw new AttributeNotFoundException(attribute);
    return read(accessor, stats.get());
  }

  @Override
  public AttributeList getAttributes(String[] attributes) {
    Record snapshot = stats.get(); // One snapshot for all, so they agree with each other.
    AttributeList list = new AttributeList();
    for (String attribute : attributes) {
      Method accessor = accessors.get(attribute);
      if (accessor != null) list.add(new Attribute(attribute, read(accessor, snapshot)));
    }
    return list;
  }

  private static Object read(Method accessor, Record snapshot) {
    try {
      return accessor.invoke(snapshot);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void setAttribute(Attribute attribute) throws AttributeNotFoundException {
    throw new AttributeNotFoundException("read-only: " + attribute.getName());
  }

  @Override
  public AttributeList setAttributes(AttributeList attributes) {
    return new AttributeList();
  }

  @Override
  public Object invoke(String actionName, Object[] params, String[] signature) {
    throw new UnsupportedOperationException(actionName);
  }

  @Override
  public MBeanInfo getMBeanInfo() {
    return info;
  }
}
