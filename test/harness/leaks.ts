/** Looking for a secret where it must not be: the tests' leak checks. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

/** A body line of a private key: what would show if the key leaked anywhere. */
export function keyBody(privateKey: string): string {
  const body = privateKey.split('\n').filter((line) => line && !line.startsWith('-----'))[1] ?? '';
  assert.ok(body.length > 20);
  return body;
}

/** Every file below `folder` whose bytes hold `needle`. */
export function filesHolding(folder: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && fs.readFileSync(full).includes(needle)) found.push(full);
    }
  };
  walk(folder);
  return found;
}
