import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds a file the bundle ships beside itself (`dist/sql-wasm.wasm`), falling back to the package in
 * node_modules when running from source (tests, tsx).
 */
export function locateAsset(fileName: string, packagePath: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, fileName);
  if (fs.existsSync(beside)) return beside;
  return createRequire(import.meta.url).resolve(packagePath);
}
