package io.github.packetconn;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** Finds the {@link VarHandle}s of the package's atomic fields, from their classes' static initializers. */
final class VarHandles {
  private VarHandles() {}

  /**
   * {@return the handle of the field {@code name} of type {@code type}, in the class that made
   * {@code lookup}} Fails that class's initialization if there is no such field.
   */
  static VarHandle field(MethodHandles.Lookup lookup, String name, Class<?> type) {
    try {
      return lookup.findVarHandle(lookup.lookupClass(), name, type);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
