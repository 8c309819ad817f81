/**
 * The deploy playbook passes ansible-lint's production profile (playbooks/.ansible-lint). ansible-lint runs on a
 * copy of playbooks/ with its home and caches in a temporary folder: it writes to ~/.cache and ~/.ansible, and
 * Ansible would create the ansible.cfg's relative folders beside the playbook otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { playbooksFolder, RUN_FILES } from '../../daemon/deploy/runFolder.js';

/** Runs ansible-lint with the playbooks' config on a copy of the folder; resolves with its exit code and output. */
async function lint(copy: string, scratch: string): Promise<{ code: number | null; output: string }> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: path.join(scratch, 'home'),
    XDG_CACHE_HOME: path.join(scratch, 'cache'),
    ANSIBLE_HOME: path.join(scratch, 'ansible'),
    ANSIBLE_LOCAL_TEMP: path.join(scratch, 'tmp'),
    NO_COLOR: '1',
  };
  const child = spawn('ansible-lint', ['--nocolor', '--config-file', '.ansible-lint', RUN_FILES.playbook], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, output };
}

test('deploy_project.yml passes ansible-lint (production profile) with no finding', async (t) => {
  if (spawnSync('ansible-lint', ['--version']).error) {
    t.skip('ansible-lint is not installed here (apt-get install ansible-lint; CI installs it): the playbook was NOT linted');
    return;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-lint-'));
  try {
    const copy = path.join(scratch, 'playbooks');
    fs.cpSync(playbooksFolder(), copy, { recursive: true });
    const started = Date.now();
    const clean = await lint(copy, scratch);
    t.diagnostic(`ansible-lint took ${Date.now() - started} ms`);
    assert.equal(clean.code, 0, clean.output);
    assert.match(clean.output, /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/, clean.output);

    // The same run catches a finding, in a file the playbook includes: a command task (`Start containers`) that says
    // nothing of what it changed.
    const included = path.join(copy, RUN_FILES.containers);
    const original = fs.readFileSync(included, 'utf8');
    const planted = original.replace(/\n\s+changed_when: true\n/, '\n');
    assert.notEqual(planted, original, 'the finding was planted');
    fs.writeFileSync(included, planted);
    const found = await lint(copy, scratch);
    assert.notEqual(found.code, 0, found.output);
    assert.match(found.output, /no-changed-when/);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
