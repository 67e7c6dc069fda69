package io.github.packetconn.cli;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The options of one command line: {@code --name value}, {@code --name=value} and flags.
 *
 * <p>A command names the flags and valued options it accepts; anything else, a missing value, an
 * option given twice or a stray argument is a {@link UsageException} whose message names the
 * offending word. Typed accessors check values against their range, with messages in the form
 * {@code "--port > 65535: 70000"}.
 *
 * <pre>{@code
 * Options options = Options.parse(args, Set.of("--crc"), Set.of("--host", "--port"));
 * int port = options.intValue("--port", 14572, 0, 65535);
 * boolean crc = options.flag("--crc");
 * }</pre>
 *
 * <p>{@code --help} is handled by {@link Main} before parsing.
 */
final class Options {
  private final Map<String, String> values; // Option name to its value; flags map to "".

  private Options(Map<String, String> values) {
    this.values = values;
  }

  /**
   * Parses {@code args}, accepting the options in {@code flags} (no value) and {@code valued}.
   *
   * @throws UsageException naming the first word that is not a known option or its value
   */
  static Options parse(List<String> args, Set<String> flags, Set<String> valued)
      throws UsageException {
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("--") || arg.equals("--")) {
        throw new UsageException("unexpected argument: " + arg);
      }
      int equals = arg.indexOf('=');
      String name = equals < 0 ? arg : arg.substring(0, equals);
      String value;
      if (flags.contains(name)) {
        if (equals >= 0) throw new UsageException(name + " takes no value: " + arg);
        value = "";
      } else if (valued.contains(name)) {
        if (equals >= 0) {
          value = arg.substring(equals + 1);
        } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
          value = args.get(++i);
        } else {
          throw new UsageException(name + " needs a value");
        }
        if (value.isEmpty()) throw new UsageException(name + " needs a value");
      } else {
        throw new UsageException("unknown option: " + name);
      }
      String previous = values.put(name, value);
      if (previous != null) {
        throw new UsageException(
            name + " given twice" + (value.isEmpty() ? "" : ": " + previous + " and " + value));
      }
    }
    return new Options(values);
  }

  /** {@return whether the flag {@code name} was given} */
  boolean flag(String name) {
    return values.containsKey(name);
  }

  /** {@return the value of {@code name}, or {@code defaultValue} when absent} */
  String string(String name, String defaultValue) {
    return values.getOrDefault(name, defaultValue);
  }

  /**
   * {@return the integer value of {@code name} in {@code [min, max]}, or {@code defaultValue}}
   *
   * @throws UsageException if the value is not an integer or out of range
   */
  int intValue(String name, int defaultValue, int min, int max) throws UsageException {
    return (int) longValue(name, defaultValue, min, max);
  }

  /**
   * {@return the integer value of {@code name} in {@code [min, max]}, or {@code defaultValue}}
   *
   * @throws UsageException if the value is not an integer or out of range
   */
  long longValue(String name, long defaultValue, long min, long max) throws UsageException {
    String text = values.get(name);
    if (text == null) return defaultValue;
    long value;
    try {
      value = Long.parseLong(text.replace("_", "")); // 1_000_000 reads better than 1000000.
    } catch (NumberFormatException e) {
      throw new UsageException(name + " is not an integer: " + text);
    }
    if (value < min) throw new UsageException(name + " < " + min + ": " + text);
    if (value > max) throw new UsageException(name + " > " + max + ": " + text);
    return value;
  }

  /**
   * {@return the decimal value of {@code name} in {@code [min, max]}, or {@code defaultValue}}
   *
   * @throws UsageException if the value is not a number or out of range
   */
  double decimal(String name, double defaultValue, double min, double max) throws UsageException {
    String text = values.get(name);
    if (text == null) return defaultValue;
    double value;
    try {
      value = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new UsageException(name + " is not a number: " + text);
    }
    if (!(value >= min)) { // Not "value < min": NaN must fail too.
      throw new UsageException(name + " < " + plain(min) + ": " + text);
    }
    if (value > max) throw new UsageException(name + " > " + plain(max) + ": " + text);
    return value;
  }

  /**
   * {@return the constant of {@code defaultValue}'s enum whose lower-case name is the value of
   * {@code name}, or {@code defaultValue}}
   *
   * @throws UsageException if no constant has that name
   */
  <E extends Enum<E>> E choice(String name, E defaultValue) throws UsageException {
    String text = values.get(name);
    if (text == null) return defaultValue;
    E[] constants = defaultValue.getDeclaringClass().getEnumConstants();
    StringJoiner names = new StringJoiner(", ");
    for (E constant : constants) {
      String lowerCase = constant.name().toLowerCase(Locale.ROOT);
      if (lowerCase.equals(text)) return constant;
      names.add(lowerCase);
    }
    throw new UsageException(name + " is not one of " + names + ": " + text);
  }

  /**
   * {@return {@code host:port} with the host resolved}
   *
   * @throws UsageException naming the host if it cannot be resolved
   */
  static InetSocketAddress address(String host, int port) throws UsageException {
    InetSocketAddress address = new InetSocketAddress(host, port);
    if (address.isUnresolved()) throw new UsageException("--host cannot be resolved: " + host);
    return address;
  }

  /** {@return {@code address} as {@code host:port}, as typed, without a resolved name's "/"} */
  static String text(SocketAddress address) {
    if (!(address instanceof InetSocketAddress inet)) return String.valueOf(address); // A Unix socket's path.
    String host = inet.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
  }

  private static String plain(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }
}
