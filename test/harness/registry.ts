/**
 * A private image registry on loopback with htpasswd login (Debian's `docker-registry`, distribution 2.8), for the
 * test engine: `docker login` with the right password works and a wrong one is refused by the registry itself.
 * Started and stopped by the engine's supervisor (engineSupervisor.ts); tests reach it through `Engine.registry`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeLoopbackPort } from './net.js';
import { delay, hasExited, tailOf, waitForExit } from './processes.js';
import type { RegistryAccess } from './engineState.js';

/** A running registry, owned by the process that started it. */
export interface RegistryProcess {
  pid: number;
  access: RegistryAccess;
  stop(): Promise<void>;
}

const readyTimeoutMs = 30_000;


/** A bcrypt htpasswd line; the password goes through stdin (`-i`), never argv, as a real secret would. */
function htpasswdLine(username: string, password: string): string {
  const result = spawnSync('htpasswd', ['-iBn', username], { input: password, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`htpasswd failed (${result.error?.message ?? result.stderr}): install apache2-utils`);
  }
  return result.stdout.trim();
}

function configText(folder: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(folder, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    'auth:',
    '  htpasswd:',
    '    realm: zavhoz-test-registry',
    `    path: ${join(folder, 'htpasswd')}`,
    '',
  ].join('\n');
}

/** Resolves true once the registry answers /v2/ with 401 (up, and asking for a login). */
async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 401;
  } catch {
    return false;
  }
}

async function launch(folder: string, port: number): Promise<ChildProcess> {
  const configPath = join(folder, 'config.yml');
  writeFileSync(configPath, configText(folder, port), { mode: 0o600 });
  const logPath = join(folder, 'registry.log');
  const log = openSync(logPath, 'w', 0o600);
  let child: ChildProcess;
  try {
    child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  child.on('error', (error) => appendFileSync(logPath, `could not start docker-registry: ${error.message}\n`));
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(child)) throw new Error(`docker-registry exited before answering on 127.0.0.1:${port}:\n${tailOf(logPath)}`);
    if (await answers(port)) return child;
    await delay(50);
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within ${readyTimeoutMs} ms:\n${tailOf(logPath)}`);
}

/** Starts a registry that keeps its data, config, htpasswd file and log in `folder` (created 0700). */
export async function startRegistry(folder: string): Promise<RegistryProcess> {
  mkdirSync(join(folder, 'data'), { recursive: true, mode: 0o700 });
  const username = 'zavhoz-test';
  const password = randomBytes(18).toString('base64url');
  writeFileSync(join(folder, 'htpasswd'), `${htpasswdLine(username, password)}\n`, { mode: 0o600 });

  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && child === undefined; attempt += 1) {
    port = await freeLoopbackPort();
    try {
      child = await launch(folder, port);
    } catch (error) {
      lastError = error;
      if (!tailOf(join(folder, 'registry.log')).includes('address already in use')) break;
    }
  }
  if (child === undefined) throw lastError;
  const registry = child;
  return {
    pid: registry.pid ?? 0,
    access: { address: `127.0.0.1:${port}`, username, password },
    async stop(): Promise<void> {
      registry.kill('SIGTERM');
      if (!(await waitForExit(registry, 5_000))) registry.kill('SIGKILL');
      await waitForExit(registry, 5_000);
    },
  };
}
