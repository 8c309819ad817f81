import type * as z from 'zod';

/**
 * A schema shared by several requests' params (a handle, a name, a path), built the first time anything reads it,
 * like the requests' own schemas (`defineRequest` in define.ts): the ~40 such fields cost every daemon start ~5 ms of
 * CPU when built at load. The value stands for the schema itself (every property, `instanceof`, composition into
 * other schemas), so importers use it as before. This file imports zod's types only (no vscode-jsonrpc), so fields.ts
 * and secretFields.ts may use it.
 */
export function lazySchema<S extends z.ZodType>(build: () => S): S {
  let schema: S | undefined;
  const real = (): S => (schema ??= build());
  // The target only anchors the proxy: every trap answers from the real schema. Descriptors are reported
  // configurable, as the proxy's rules require for properties its target does not have.
  return new Proxy({} as S, {
    get: (_target, key) => Reflect.get(real(), key),
    set: (_target, key, value) => Reflect.set(real(), key, value),
    has: (_target, key) => Reflect.has(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(real(), key, descriptor),
    deleteProperty: (_target, key) => Reflect.deleteProperty(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
