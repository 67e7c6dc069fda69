package io.github.packetconn.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the {@code ./packetconn} launcher script with bash, as a user does, on stand-in jars: a copy
 * of the script in a temporary folder, beside a {@code cli/target/packetconn-cli.jar} and a {@code
 * benchmarks/target/packetconn-benchmarks.jar} that hold only a manifest naming the real main class
 * and this test's class path. So the script's dispatch and the real commands run, and nothing is
 * built.
 */
@Timeout(180)
final class LauncherTest {
  private static final List<String> COMMANDS =
      List.of("demo", "echo-server", "echo-client", "bench", "connections", "jmh");
  private static final long LAUNCH_SECONDS = 60; // One JVM start, on a busy machine.

  @TempDir static Path root;

  /** The exit status and output of one launch. */
  private record Launch(int status, String out, String err) {}

  @BeforeAll
  static void copyTheScriptBesideStandInJars() throws IOException {
    Path script = Path.of(System.getProperty("user.dir")).getParent().resolve("packetconn");
    assertTrue(Files.isExecutable(script), "no launcher script at " + script);
    Files.copy(script, root.resolve("packetconn"));
    standInJar("cli", "io.github.packetconn.cli.Main");
    standInJar("benchmarks", Main.class.getName());
  }

  @Test
  void helpListsEveryCommand() throws Exception {
    Launch help = launch("--help");

    assertEquals(0, help.status(), help.err());
    assertEquals(COMMANDS, commands(help.out()));
    assertEquals("", help.err());
  }

  @Test
  void noCommandOrAnUnknownOneListsEveryCommand() throws Exception {
    String help = launch("--help").out();

    Launch none = launch();
    assertEquals(0, none.status(), none.err());
    assertEquals(help, none.out());

    Launch unknown = launch("benchmark");
    assertEquals(2, unknown.status());
    assertEquals("", unknown.out());
    assertEquals("packetconn: unknown command: benchmark\n" + help, unknown.err());
  }

  @Test
  void everyCommandsHelpPrintsItsUsageAndExits0() throws Exception {
    for (String command : commands(launch("--help").out())) {
      Launch help = launch(command, "--help");

      assertEquals(0, help.status(), command + " --help: " + help.err());
      assertTrue(help.out().startsWith("Usage: "), command + " --help printed: " + help.out());
      assertTrue(help.out().lines().count() >= 5, command + " --help printed: " + help.out());
    }
  }

  @Test
  void jmhHelpIsJmhsOwn() throws Exception {
    Launch help = launch("jmh", "--help");

    assertEquals(0, help.status(), help.err());
    assertTrue(help.out().startsWith("Usage: java -jar ... [regexp*] [options]\n"), help.out());
    assertEquals(launch("jmh", "-h").out(), help.out());
  }

  /** {@return the command names listed under "Commands:" in {@code help}} */
  private static List<String> commands(String help) {
    List<String> names = new ArrayList<>();
    int start = help.indexOf("\nCommands:\n");
    assertTrue(start >= 0, help);
    Matcher line = Pattern.compile("\\G {2}([a-z-]+) +\\S[^\\n]*\\n").matcher(help);
    for (int at = start + "\nCommands:\n".length(); line.find(at); at = line.end()) {
      names.add(line.group(1));
    }
    return names;
  }

  /** Runs {@code bash packetconn args} in the stand-in root, with this test's JDK. */
  private static Launch launch(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("bash", root.resolve("packetconn").toString()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(root, "out", ".txt");
    Path err = Files.createTempFile(root, "err", ".txt");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    builder.environment().remove("PACKETCONN_JAVA_OPTS");
    Process process = builder.start();
    if (!process.waitFor(LAUNCH_SECONDS, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      fail("./packetconn " + String.join(" ", args) + " still ran after " + LAUNCH_SECONDS + " s");
    }
    return new Launch(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  /**
   * Writes {@code module/target/packetconn-module.jar}, whose manifest runs {@code mainClass} on
   * this test's class path, and the {@code lib/} folder beside it that the launcher expects.
   */
  private static void standInJar(String module, String mainClass) throws IOException {
    Path target = Files.createDirectories(root.resolve(module).resolve("target"));
    Files.createDirectories(target.resolve("lib"));
    StringJoiner classPath = new StringJoiner(" ");
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      classPath.add(Path.of(entry).toAbsolutePath().toUri().toString());
    }
    Manifest manifest = new Manifest();
    Attributes attributes = manifest.getMainAttributes();
    attributes.put(Attributes.Name.MANIFEST_VERSION, "1.0");
    attributes.put(Attributes.Name.MAIN_CLASS, mainClass);
    attributes.put(Attributes.Name.CLASS_PATH, classPath.toString());
    Path jarFile = target.resolve("packetconn-" + module + ".jar");
    try (OutputStream jar = Files.newOutputStream(jarFile)) {
      new JarOutputStream(jar, manifest).finish(); // The manifest is all there is.
    }
  }
}
