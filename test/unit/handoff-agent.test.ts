/**
 * Zavhoz's own ssh-agent and the agent checks of the hand-off, with the real ssh-agent and ssh-add: a daemon that
 * was killed leaves its agent behind, and the next one ends it before starting its own; a path that is not a socket
 * of this user never gets a key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DaemonAgent, addToAgent, checkAgentSocket } from '../../daemon/terminal/agent.js';
import { waitUntil } from '../harness/processes.js';

const execFileAsync = promisify(execFile);
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-agent-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `ssh-add -l` against a socket: 0 = keys listed, 1 = an agent with no keys, 2 = no agent there. */
async function listExitCode(socket: string): Promise<number> {
  try {
    await execFileAsync('ssh-add', ['-l'], { env: { PATH: process.env['PATH'], SSH_AUTH_SOCK: socket } });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

test("an agent left by a killed daemon is ended when the next daemon starts its own, and stop() ends that one", async () => {
  const socket = path.join(folder, 'ssh', 'agent.sock');
  const crashed = new DaemonAgent(socket);
  assert.equal(await crashed.ensure(), socket);
  const leftover = Number(fs.readFileSync(`${socket}.pid`, 'utf8'));
  assert.ok(alive(leftover));
  assert.equal(await listExitCode(socket), 1);

  // A new daemon: the first one never ran its shutdown.
  const next = new DaemonAgent(socket);
  assert.equal(await next.ensure(), socket);
  await waitUntil('the leftover agent has ended', () => (alive(leftover) ? undefined : true));
  const current = Number(fs.readFileSync(`${socket}.pid`, 'utf8'));
  assert.notEqual(current, leftover);
  assert.equal(await listExitCode(socket), 1);
  assert.equal(await next.ensure(), socket, 'a running agent is reused');

  await next.stop();
  await waitUntil('the agent has ended', () => (alive(current) ? undefined : true));
  assert.ok(!fs.existsSync(socket));
  assert.ok(!fs.existsSync(`${socket}.pid`));
});

test('only an absolute path to a socket of this user passes as an agent', () => {
  const file = path.join(folder, 'not-a-socket');
  fs.writeFileSync(file, '');
  const refused = (socket: string, why: RegExp): void =>
    assert.throws(() => checkAgentSocket(socket), (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.InvalidInput && why.test(error.message));
  refused(file, /is not a socket/);
  refused('agent.sock', /not an absolute path/);
  refused(path.join(folder, 'missing.sock'), /does not exist/);
});

test('ssh-add failing says which agent and how to check it, without the key', async () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-really-a-key-material-0123456789\n-----END OPENSSH PRIVATE KEY-----\n';
  await assert.rejects(
    addToAgent({ socket: path.join(folder, 'nobody.sock'), lifetimeSeconds: 60, privateKey: key, scratch: folder, redact: (text) => text }),
    (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.Unreachable);
      assert.match(error.message, /nobody\.sock/);
      assert.ok(!error.message.includes('not-really-a-key-material'));
      return true;
    },
  );
});
