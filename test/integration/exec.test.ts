/**
 * `zavhoz exec` against a real daemon and a real keychain: a child that prints an injected canary in every form
 * (verbatim, base64, URL-encoded, split across two writes, on stdout and stderr) shows none of them through the CLI,
 * the daemon's files or the audit log, and really got the value; exit codes, signals, stdin and Ctrl-C pass through;
 * a missing command fails with one line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditList } from '../../daemon/protocol/audit.js';
import { CLI_SCRIPT } from '../harness/daemon.js';
import { startVaultDaemon, type VaultDaemon } from './vault-support.js';

/** A value whose base64 and URL-encoded forms differ from it (and from each other). */
const CANARY = `zv/${crypto.randomBytes(9).toString('hex')}+${crypto.randomBytes(9).toString('base64')}&q=1`;
const PROJECT = 'exec-shop';

function formsOf(value: string): Record<string, string> {
  return {
    verbatim: value,
    base64: Buffer.from(value).toString('base64'),
    'base64 unpadded': Buffer.from(value).toString('base64').replace(/=+$/, ''),
    base64url: Buffer.from(value).toString('base64url'),
    'URL-encoded': encodeURIComponent(value),
  };
}

function assertNoCanary(text: string, where: string): void {
  for (const [form, value] of Object.entries(formsOf(CANARY))) assert.ok(!text.includes(value), `${where} holds the canary ${form}`);
  // Half the value is a leak too (what a split write that escaped masking would show).
  assert.ok(!text.includes(CANARY.slice(0, 12)), `${where} holds the canary's first half`);
  assert.ok(!text.includes(CANARY.slice(-12)), `${where} holds the canary's second half`);
}

/** One CLI run with the process kept, so a test can signal it; resolves with how it ended. */
interface Running {
  readonly child: ChildProcess;
  output(): { stdout: string; stderr: string };
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

describe('zavhoz exec', () => {
  let vault: VaultDaemon;
  let folder: string;
  let handle: string;

  function start(args: readonly string[], options: { input?: string } = {}): Running {
    const child = spawn(process.execPath, [CLI_SCRIPT, ...args], { env: vault.daemon.env, cwd: folder, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.input !== undefined) child.stdin.end(options.input);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    return { child, output: () => ({ stdout, stderr }), ended };
  }

  async function waitForOutput(running: Running, text: string): Promise<void> {
    for (let waited = 0; waited < 60_000; waited += 20) {
      if (running.output().stdout.includes(text)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no "${text}" in the output: ${JSON.stringify(running.output())}`);
  }

  /** Writes a child script into the test folder and returns the argv that runs it. */
  function script(name: string, source: string): string[] {
    const file = path.join(folder, name);
    fs.writeFileSync(file, source);
    return [process.execPath, file];
  }

  before(async () => {
    vault = await startVaultDaemon('keychain');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-exec-'));
    const stored = await vault.daemon.cli(['secret', 'set', 'API_TOKEN', '--type', 'token', '--project', PROJECT, '--json'], { input: CANARY });
    assert.equal(stored.code, 0, stored.stderr);
    handle = (JSON.parse(stored.stdout) as { handle: string }).handle;
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await vault?.dispose();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('the child gets the value; no form of it reaches the output, the daemon files or the audit', async () => {
    const digestFile = path.join(folder, 'digest');
    const child = script(
      'print.cjs',
      `const value = process.env.API_TOKEN;
       require('fs').writeFileSync(${JSON.stringify(digestFile)}, require('crypto').createHash('sha256').update(value).digest('hex'));
       console.log('verbatim', value);
       console.log('base64', Buffer.from(value).toString('base64'));
       console.log('base64url', Buffer.from(value).toString('base64url'));
       console.log('url', encodeURIComponent(value));
       console.error('stderr', value);
       process.stdout.write('split ' + value.slice(0, 10));
       setTimeout(() => { process.stdout.write(value.slice(10) + ' end\\n'); }, 200);`,
    );
    const result = await start(['exec', '--project', PROJECT, '--', ...child]).ended;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(fs.readFileSync(digestFile, 'utf8'), crypto.createHash('sha256').update(CANARY).digest('hex'));
    assertNoCanary(result.stdout, 'stdout');
    assertNoCanary(result.stderr, 'stderr');
    for (const label of ['verbatim', 'base64', 'base64url', 'url', 'split']) assert.match(result.stdout, new RegExp(`^${label} \\[masked:API_TOKEN\\]`, 'm'), result.stdout);
    assert.match(result.stdout, /^split \[masked:API_TOKEN\] end$/m);
    assert.match(result.stderr, /^stderr \[masked:API_TOKEN\]$/m);

    // The same through a NAME=HANDLE pair, under another name.
    const renamed = script('renamed.cjs', 'console.log(process.env.OTHER_NAME);');
    const pair = await start(['exec', '--secret', `OTHER_NAME=${handle}`, '--', ...renamed]).ended;
    assert.equal(pair.stdout, '[masked:OTHER_NAME]\n');

    const client = await vault.daemon.connect('exec-test');
    try {
      const { entries } = await client.request(AuditList, { subject: handle });
      const uses = entries.filter((entry) => entry.action === 'exec');
      assert.equal(uses.length, 2, JSON.stringify(entries));
      assert.deepEqual(uses[1]!.detail.command, child);
      assert.equal(uses[1]!.detail.project, PROJECT);
      assertNoCanary(JSON.stringify(entries), 'the audit log');
    } finally {
      client.close();
    }
    for (const entry of fs.readdirSync(vault.daemon.home, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      assertNoCanary(fs.readFileSync(file, 'latin1'), file);
    }
  });

  test('exit codes, a signal and stdin pass through', async () => {
    const exit = await start(['exec', '--project', PROJECT, '--', process.execPath, '-e', 'process.exit(7)']).ended;
    assert.equal(exit.code, 7);
    const killed = await start(['exec', '--project', PROJECT, '--', process.execPath, '-e', "process.kill(process.pid, 'SIGTERM')"]).ended;
    assert.equal(killed.signal, 'SIGTERM');
    const echoed = await start(['exec', '--project', PROJECT, '--', process.execPath, '-e', 'process.stdin.pipe(process.stdout)'], { input: 'from stdin\n' }).ended;
    assert.equal(echoed.code, 0);
    assert.equal(echoed.stdout, 'from stdin\n');
  });

  test('Ctrl-C (SIGINT to the CLI) reaches the child; the CLI ends as the child does', async () => {
    const handles = script(
      'interrupt.cjs',
      `process.on('SIGINT', () => { console.log('child got SIGINT'); process.exit(42); });
       console.log('ready');
       setInterval(() => {}, 1000);`,
    );
    const running = start(['exec', '--project', PROJECT, '--', ...handles]);
    await waitForOutput(running, 'ready');
    running.child.kill('SIGINT');
    const result = await running.ended;
    assert.equal(result.code, 42);
    assert.match(result.stdout, /child got SIGINT/);

    const ignores = script('plain.cjs', "console.log('ready'); setInterval(() => {}, 1000);");
    const plain = start(['exec', '--project', PROJECT, '--', ...ignores]);
    await waitForOutput(plain, 'ready');
    plain.child.kill('SIGINT');
    assert.equal((await plain.ended).signal, 'SIGINT');
  });

  test('a command that does not exist fails with one clear line and 127', async () => {
    const result = await start(['exec', '--project', PROJECT, '--', 'zavhoz-no-such-command']).ended;
    assert.equal(result.code, 127);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'zavhoz: exec: zavhoz-no-such-command: command not found.\n');
  });

  test('secret import --replace leaves no value in the file; exec --env-file gives the command the same values', async () => {
    const password = `pw-${crypto.randomBytes(12).toString('hex')}`;
    const envFile = path.join(folder, '.env');
    const original = ['# shop settings', `DB_PASSWORD="${password}" # rotated monthly`, 'PORT=80', 'NODE_ENV=production', `API_TOKEN=zavhoz:${handle}`, ''].join('\n');
    fs.writeFileSync(envFile, original, { mode: 0o640 });
    fs.chmodSync(envFile, 0o640);
    const imported = await vault.daemon.cli(['secret', 'import', envFile, '--project', 'exec-env', '--replace', '--keep', 'NODE_ENV', '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    const handles = (JSON.parse(imported.stdout) as { handles: Record<string, string> }).handles;
    assert.deepEqual(Object.keys(handles), ['DB_PASSWORD']);
    const rewritten = fs.readFileSync(envFile, 'utf8');
    assert.equal(rewritten, original.replace(`"${password}"`, `zavhoz:${handles.DB_PASSWORD}`));
    assert.ok(!rewritten.includes(password));
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(folder).filter((name) => name.includes('.tmp')), []);

    const digestFile = path.join(folder, 'env-digest');
    const child = script(
      'env.cjs',
      `const { createHash } = require('crypto');
       const digest = (name) => createHash('sha256').update(process.env[name] ?? '').digest('hex');
       require('fs').writeFileSync(${JSON.stringify(digestFile)}, JSON.stringify({ DB_PASSWORD: digest('DB_PASSWORD'), API_TOKEN: digest('API_TOKEN'), PORT: process.env.PORT, NODE_ENV: process.env.NODE_ENV }));
       console.log(process.env.DB_PASSWORD, process.env.API_TOKEN, process.env.PORT);`,
    );
    const result = await start(['exec', '--env-file', envFile, '--', ...child]).ended;
    assert.equal(result.code, 0, result.stderr);
    const sha = (value: string): string => crypto.createHash('sha256').update(value).digest('hex');
    assert.deepEqual(JSON.parse(fs.readFileSync(digestFile, 'utf8')), { DB_PASSWORD: sha(password), API_TOKEN: sha(CANARY), PORT: '80', NODE_ENV: 'production' });
    assert.equal(result.stdout, '[masked:DB_PASSWORD] [masked:API_TOKEN] 80\n');

    const again = await vault.daemon.cli(['secret', 'import', envFile, '--project', 'exec-env', '--replace', '--keep', 'NODE_ENV']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to import/);
    assert.equal(fs.readFileSync(envFile, 'utf8'), rewritten);
  });

  test('an import that fails leaves the original file untouched, also when the daemon dies half-way', async () => {
    const envFile = path.join(folder, 'broken.env');
    const badKey = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'bm90IGEga2V5', '-----END OPENSSH PRIVATE KEY-----'].join('\n');
    const refused = [`GOOD_ONE=good-${crypto.randomBytes(8).toString('hex')}`, `BAD_KEY="${badKey}"`, ''].join('\n');
    fs.writeFileSync(envFile, refused);
    const result = await vault.daemon.cli(['secret', 'import', envFile, '--project', 'exec-broken', '--replace']);
    assert.notEqual(result.code, 0);
    assert.equal(fs.readFileSync(envFile, 'utf8'), refused);

    const halfWay = [`FIRST_ONE=first-${crypto.randomBytes(8).toString('hex')}`, `SECOND_ONE=second-${crypto.randomBytes(8).toString('hex')}`, ''].join('\n');
    fs.writeFileSync(envFile, halfWay);
    await vault.restart({ ZAVHOZ_TEST_FAULT: 'vault-after-keychain' });
    try {
      const crashed = await vault.daemon.cli(['secret', 'import', envFile, '--project', 'exec-broken', '--replace']);
      assert.notEqual(crashed.code, 0);
      assert.equal(fs.readFileSync(envFile, 'utf8'), halfWay);
    } finally {
      await vault.restart();
    }
    assert.deepEqual(fs.readdirSync(folder).filter((name) => name.includes('.tmp')), []);
  });
});
