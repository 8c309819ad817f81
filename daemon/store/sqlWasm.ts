/**
 * sql.js's WebAssembly, compiled while the daemon's bundle loads. The entry (daemon/boot.ts) starts compiling
 * `sql-wasm.wasm` before it evaluates the bundle, so the compile runs on V8's background threads while this thread
 * runs the bundle's top-level code; the store (snapshotFile.ts) then instantiates the finished module instead of
 * compiling it then. The entry and the daemon are separate bundles, so the compile in flight is handed over through
 * a process-wide symbol. Whatever goes wrong here, the store compiles the file itself.
 */
import fs from 'node:fs';

const KEY = Symbol.for('zavhoz.store.sqlWasm');

/** A compiled WebAssembly module. */
export type CompiledWasm = WebAssembly.Module;

/** An instantiated one. */
export interface WasmInstance {
  readonly exports: object;
}

/** The part of the WebAssembly API used here (the daemon's TypeScript has no DOM library, which declares it). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<CompiledWasm>;
  instantiate(module: CompiledWasm, imports: object): Promise<WasmInstance>;
}

/** Node's WebAssembly global. */
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type Holder = Record<symbol, Promise<CompiledWasm> | undefined>;

/** Starts compiling the WebAssembly file `file` in the background (the daemon's entry calls this first thing). */
export function startCompilingSqlWasm(file: string): void {
  // Node's callback API: `fs.promises` would load its module (~3 ms) for this one read.
  const read = new Promise<Buffer>((resolve, reject) => {
    fs.readFile(file, (error, bytes) => {
      if (error) reject(error);
      else resolve(bytes);
    });
  });
  const compiling = read.then((bytes) => wasm.compile(bytes));
  // Nobody may be waiting yet: a failure is seen (and handled) by whoever takes it.
  compiling.catch(() => undefined);
  (globalThis as Holder)[KEY] = compiling;
}

/** The compile the entry started, handed over once (undefined when running from source, or already taken). */
export function takeCompiledSqlWasm(): Promise<CompiledWasm> | undefined {
  const holder = globalThis as Holder;
  const compiling = holder[KEY];
  holder[KEY] = undefined;
  return compiling;
}
