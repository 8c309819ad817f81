// The record `npm start` keeps of the code-server it runs, so a second `npm start` can say where the first one is
// instead of failing on a busy port or starting a second server on the same profile.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { healthy } from '../test/e2e/codeServer.js';

/** What a running `npm start` wrote about itself. */
export interface StartInstance {
  /** The `npm start` process (Ctrl+C or SIGINT to it stops code-server). */
  readonly pid: number;
  /** code-server's own pid, the leader of its process group. */
  readonly serverPid: number;
  readonly url: string;
  readonly workspace: string;
}

function instanceFile(profile: string): string {
  return path.join(profile, 'instance.json');
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseInstance(text: string): StartInstance | undefined {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { pid, serverPid, url, workspace } = record;
  if (typeof pid !== 'number' || typeof serverPid !== 'number' || typeof url !== 'string' || typeof workspace !== 'string') return undefined;
  return { pid, serverPid, url, workspace };
}

/**
 * The instance recorded in `profile` when it still runs and answers; a record left by one that ended (killed,
 * machine restarted) is removed and undefined returned.
 */
export async function readRunningInstance(profile: string): Promise<StartInstance | undefined> {
  let instance: StartInstance | undefined;
  try {
    instance = parseInstance(readFileSync(instanceFile(profile), 'utf8'));
  } catch {
    return undefined;
  }
  if (instance !== undefined && alive(instance.pid) && alive(instance.serverPid) && (await healthy(instance.url))) return instance;
  clearInstance(profile);
  return undefined;
}

/** Records the running instance (0600: it names the user's workspace). */
export function writeInstance(profile: string, instance: StartInstance): void {
  writeFileSync(instanceFile(profile), `${JSON.stringify(instance)}\n`, { mode: 0o600 });
}

/** Forgets the instance record. */
export function clearInstance(profile: string): void {
  rmSync(instanceFile(profile), { force: true });
}

/** The port in `text`, or undefined when it is not a whole number in the unprivileged range. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const port = Number(text.trim());
  return port >= 1024 && port <= 65_535 ? port : undefined;
}

/** True when nothing listens on 127.0.0.1:`port` (we could bind it ourselves). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
