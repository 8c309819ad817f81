/**
 * No file in the repository keeps a merge's conflict markers: one was once committed in ARCHITECTURE.md, where no
 * compiler or linter looks.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');

test('no tracked text file holds merge conflict markers', () => {
  const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.md', '*.mjs', '*.json', '*.yml', '*.yaml', '*.j2', '*.sh', '.ci/*'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '');
  assert.ok(files.length > 50, 'git lists the repository');
  const marked = files.filter((file) => /^(<<<<<<< |>>>>>>> )/m.test(readFileSync(path.join(root, file), 'utf8')));
  assert.deepEqual(marked, []);
});
