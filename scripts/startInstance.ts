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
  readonly workspace: string;
  /** Set once code-server answers: its own pid (the leader of its process group) and its URL. */
  readonly server?: { readonly pid: number; readonly url: string };
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
  const { pid, workspace, server } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || typeof workspace !== 'string') return undefined;
  if (server === undefined) return { pid, workspace };
  const { pid: serverPid, url } = (server ?? {}) as Record<string, unknown>;
  if (typeof serverPid !== 'number' || typeof url !== 'string') return undefined;
  return { pid, workspace, server: { pid: serverPid, url } };
}

function readInstance(profile: string): StartInstance | undefined {
  try {
    return parseInstance(readFileSync(instanceFile(profile), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The instance recorded in `profile` while it is still starting, or runs and answers. */
async function liveInstance(profile: string): Promise<StartInstance | undefined> {
  const instance = readInstance(profile);
  if (instance === undefined || !alive(instance.pid)) return undefined;
  if (instance.server === undefined) return instance;
  return alive(instance.server.pid) && (await healthy(instance.server.url)) ? instance : undefined;
}

/**
 * Makes this process the one `npm start` of `profile` (an exclusive create, so two starts typed at once cannot both
 * win), or returns the live instance that holds it. A record left by one that ended (killed, machine restarted)
 * is replaced.
 */
export async function claimProfile(profile: string, workspace: string): Promise<StartInstance | undefined> {
  const record = `${JSON.stringify({ pid: process.pid, workspace } satisfies StartInstance)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(instanceFile(profile), record, { mode: 0o600, flag: 'wx' });
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await liveInstance(profile);
    if (holder !== undefined) return holder;
    rmSync(instanceFile(profile), { force: true });
  }
  throw new Error(`could not claim ${instanceFile(profile)}: another npm start keeps replacing it`);
}

/** Records that code-server answers (0600: it names the user's workspace). */
export function recordServer(profile: string, instance: StartInstance): void {
  writeFileSync(instanceFile(profile), `${JSON.stringify(instance)}\n`, { mode: 0o600 });
}

/** Forgets the record, if it is this process's. */
export function releaseProfile(profile: string): void {
  if (readInstance(profile)?.pid === process.pid) rmSync(instanceFile(profile), { force: true });
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
