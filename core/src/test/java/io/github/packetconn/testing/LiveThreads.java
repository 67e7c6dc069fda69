package io.github.packetconn.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of the threads alive in this JVM, virtual ones included, which {@link
 * Thread#getAllStackTraces()} leaves out: read from a JSON thread dump of the HotSpot diagnostic
 * bean (the JDK tracks every virtual thread for it unless {@code -Djdk.trackAllThreads=false}).
 * Through reflection, because the tests compile inside the library's module, which reads no
 * management module; they run on the class path, where all are there.
 */
public final class LiveThreads {
  private static final Pattern NAME = Pattern.compile("\"name\": \"((?:[^\"\\\\]|\\\\.)*)\"");

  private LiveThreads() {}

  /** {@return the names of the live threads whose name starts with {@code prefix}, sorted} */
  public static List<String> named(String prefix) {
    List<String> names = new ArrayList<>();
    Matcher m = NAME.matcher(dump());
    while (m.find()) {
      if (m.group(1).startsWith(prefix)) names.add(m.group(1));
    }
    names.sort(null);
    return names;
  }

  private static String dump() {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("threads");
      Path file = dir.resolve("dump.json"); // Must not exist yet.
      Class<?> beanType = Class.forName("com.sun.management.HotSpotDiagnosticMXBean");
      Class<?> formatType = Class.forName("com.sun.management.HotSpotDiagnosticMXBean$ThreadDumpFormat");
      @SuppressWarnings({"unchecked", "rawtypes"})
      Object json = Enum.valueOf((Class) formatType, "JSON");
      Object bean =
          Class.forName("java.lang.management.ManagementFactory")
              .getMethod("getPlatformMXBean", Class.class)
              .invoke(null, beanType);
      beanType.getMethod("dumpThreads", String.class, formatType).invoke(bean, file.toString(), json);
      String text = Files.readString(file);
      Files.delete(file);
      return text;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("cannot dump the threads", e);
    } finally {
      if (dir != null) dir.toFile().delete();
    }
  }
}
