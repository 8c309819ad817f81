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
  // Read here and now (~0.5 ms for its 0.7 MB): an asynchronous read's callback, which starts the compile, would
  // only run once the bundle's evaluation ends, and the store then waited for the compile (`npm run bench -- startup`).
  let compiling: Promise<CompiledWasm>;
  try {
    compiling = wasm.compile(fs.readFileSync(file));
  } catch (error) {
    compiling = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
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
