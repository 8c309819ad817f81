/**
 * The hidden prompt for a secret value, on a real pseudo-terminal (util-linux `script` gives the CLI one) against a
 * real daemon and keychain: what is typed is never echoed and is what gets stored (read back with `secret reveal`),
 * a password is asked twice and must match, Ctrl-C stores nothing; a piped value still works as before.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { SecretMetadata } from '../../daemon/protocol/secrets.js';
import { CLI_SCRIPT, cliJson, cliOk } from '../harness/daemon.js';
import { terminateTree, waitUntil } from '../harness/processes.js';
import { type VaultDaemon, startVaultDaemon } from './vault-support.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Quotes one word for the shell `script -c` runs the command in. */
function quoted(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A CLI run on a pseudo-terminal: everything it printed (stdout and stderr, as a terminal shows them), and keys to type. */
interface TerminalRun {
  /** Waits until the screen shows `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  type(keys: string): void;
  /** The exit code and the whole screen. */
  readonly done: Promise<{ code: number; screen: string }>;
  readonly child: ChildProcessWithoutNullStreams;
}

function onTerminal(args: readonly string[], env: NodeJS.ProcessEnv): TerminalRun {
  const command = [process.execPath, CLI_SCRIPT, ...args].map(quoted).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: 'pipe' });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  const done = new Promise<{ code: number; screen: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, screen }));
  });
  return {
    child,
    done,
    waitFor: (pattern) => waitUntil(`the terminal to show ${pattern}; it shows ${JSON.stringify(screen)}`, () => (pattern.test(screen) ? true : undefined), 30_000).then(() => undefined),
    type: (keys) => void child.stdin.write(keys),
  };
}

describe('secret values typed at a hidden prompt', { skip: hasScript ? false : 'util-linux script is not installed' }, () => {
  let vault: VaultDaemon;
  const running: TerminalRun[] = [];

  before(async () => {
    vault = await startVaultDaemon('keychain');
  });
  after(async () => {
    for (const run of running) await terminateTree(run.child);
    await vault.dispose();
  });

  const terminal = (args: readonly string[]): TerminalRun => {
    const run = onTerminal(args, vault.daemon.env);
    running.push(run);
    return run;
  };
  const reveal = (handle: string): Promise<string> => cliOk(vault.daemon, ['secret', 'reveal', handle, '--yes']);
  const names = async (): Promise<string[]> => (await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list'])).map((secret) => secret.name);

  test('a password is asked twice, never echoed, and stored as typed', async () => {
    const run = terminal(['secret', 'set', 'DB_PASSWORD', '--type', 'password', '--project', 'shop']);
    await run.waitFor(/Value of DB_PASSWORD \(password; typing is not shown\): $/);
    run.type('correct-horse-7\r');
    await run.waitFor(/Type it again to confirm: $/);
    run.type('correct-horse-7\r');
    const { code, screen } = await run.done;
    assert.equal(code, 0, screen);
    assert.ok(!screen.includes('correct-horse'), `the value is not on the screen: ${JSON.stringify(screen)}`);
    const handle = /(sec_[a-z2-7]{8})/.exec(screen)?.[1];
    assert.ok(handle, screen);
    assert.equal(await reveal(handle), 'correct-horse-7');
  });

  test('two different passwords store nothing', async () => {
    const run = terminal(['secret', 'set', 'MISMATCHED', '--type', 'password']);
    await run.waitFor(/typing is not shown\): $/);
    run.type('first-try\r');
    await run.waitFor(/confirm: $/);
    run.type('second-try\r');
    const { code, screen } = await run.done;
    assert.equal(code, 1);
    assert.match(screen, /The two entries differ; nothing was stored/);
    assert.ok(!screen.includes('-try'));
    assert.ok(!(await names()).includes('MISMATCHED'));
  });

  test('a token is asked once; backspace edits what was typed; rotate asks too', async () => {
    const run = terminal(['secret', 'set', 'BOT_TOKEN', '--type', 'token', '--json']);
    await run.waitFor(/Value of BOT_TOKEN \(token; typing is not shown\): $/);
    run.type('tok-abcX\u007fd\r');
    const { code, screen } = await run.done;
    assert.equal(code, 0, screen);
    assert.ok(!screen.includes('tok-abc'));
    const handle = /"handle": "(sec_[a-z2-7]{8})"/.exec(screen)?.[1] ?? '';
    assert.equal(await reveal(handle), 'tok-abcd');

    const rotate = terminal(['secret', 'rotate', handle]);
    await rotate.waitFor(/Value of BOT_TOKEN \(token; typing is not shown\): $/);
    rotate.type('tok-second\r');
    const rotated = await rotate.done;
    assert.equal(rotated.code, 0, rotated.screen);
    assert.ok(!rotated.screen.includes('tok-second'));
    assert.equal(await reveal(handle), 'tok-second');
  });

  test('Ctrl-C cancels with exit 130 and stores nothing', async () => {
    const run = terminal(['secret', 'set', 'CANCELLED', '--type', 'text']);
    await run.waitFor(/typing is not shown\): $/);
    run.type('half-typed\u0003');
    const { code, screen } = await run.done;
    assert.equal(code, 130);
    assert.match(screen, /Cancelled; nothing was stored/);
    assert.ok(!screen.includes('half-typed'));
    assert.ok(!(await names()).includes('CANCELLED'));
  });

  test('a private key on a terminal is refused: it has many lines and comes through stdin', async () => {
    const { code, screen } = await terminal(['secret', 'set', 'SSH_KEY', '--type', 'private_key']).done;
    assert.equal(code, 2);
    assert.match(screen, /reads the value from standard input/);
  });

  test('a piped value works as before: no prompt, stdin as is', async () => {
    const set = await vault.daemon.cli(['secret', 'set', 'PIPED_PASSWORD', '--type', 'password'], { input: 'piped-value\n' });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stderr, '');
    assert.equal(await reveal(set.stdout.trim()), 'piped-value');
  });
});
