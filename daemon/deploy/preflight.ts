import { execFile } from 'node:child_process';
import { ZavhozError } from '../core/errors.js';
import { fingerprintOf, hostKeyMismatch } from '../inventory/ssh.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { DeployTarget } from './ports.js';

/** What one child process printed and how it ended. */
interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with an argument array (never a shell), with a clean environment and an abort signal. */
export function runProgram(
  program: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal; timeoutMs?: number },
): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      program,
      [...args],
      { env: options.env, signal: options.signal, timeout: options.timeoutMs ?? 30_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr: error && !stderr ? error.message : stderr });
      },
    );
  });
}

/** `host` for port 22, else `[host]:port`, as known_hosts and ssh-keyscan write it. */
function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The known_hosts line of each pinned host key found so far, by host, port and pin: a later run of the same server
 * needs no ssh-keyscan, which costs an SSH handshake of its own. The line holds the key whose fingerprint is the
 * pin, so OpenSSH still refuses a server that shows another key; a run whose login fails forgets the line
 * ({@link forgetKnownHosts}), and its retry scans again.
 */
const knownHostsFound = new Map<string, string>();

function knownHostsKey(target: DeployTarget): string {
  return `${target.host}\0${target.sshPort}\0${target.hostKeyFingerprint ?? ''}`;
}

/** Drops what {@link pinnedKnownHosts} remembered of the target's host key (its login failed). */
export function forgetKnownHosts(target: DeployTarget): void {
  knownHostsFound.delete(knownHostsKey(target));
}

/**
 * Fetches the server's host keys and keeps the one whose fingerprint is pinned in the inventory, as a known_hosts
 * line for OpenSSH (remembered for the next run of the same server and pin). No pin → PreconditionFailed; no key
 * matching the pin → HostKeyMismatch; no answer → Unreachable.
 */
export async function pinnedKnownHosts(target: DeployTarget, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  const remembered = target.hostKeyFingerprint ? knownHostsFound.get(knownHostsKey(target)) : undefined;
  if (remembered !== undefined) return remembered;
  const line = await scanPinnedKey(target, env, signal);
  knownHostsFound.set(knownHostsKey(target), line);
  return line;
}

async function scanPinnedKey(target: DeployTarget, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  const sshTarget = {
    handle: target.server,
    host: target.host,
    port: target.sshPort,
    user: target.sshUser,
    keySecret: target.sshKeySecret,
    pinnedFingerprint: target.hostKeyFingerprint,
  };
  if (!target.hostKeyFingerprint) {
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Server ${target.server} has no pinned host key yet. Run \`zavhoz server check ${target.server}\` once to record it, then deploy again.`,
    );
  }
  const scan = await runProgram('ssh-keyscan', ['-T', '10', '-p', String(target.sshPort), '-t', 'ed25519,ecdsa,rsa', target.host], {
    env,
    signal,
  });
  const offered: string[] = [];
  for (const line of scan.stdout.split('\n')) {
    const [, type, key] = line.trim().split(/\s+/);
    if (!type || !key || line.startsWith('#')) continue;
    const fingerprint = fingerprintOf(Buffer.from(key, 'base64'));
    if (fingerprint === target.hostKeyFingerprint) return `${knownHostsName(target.host, target.sshPort)} ${type} ${key}\n`;
    offered.push(fingerprint);
  }
  if (offered.length > 0) throw hostKeyMismatch(sshTarget, target.hostKeyFingerprint, offered.join(', '));
  throw unreachable(target, scan.stderr.trim().split('\n').pop() || 'no answer to the SSH handshake');
}

/** The error for a server that does not answer (retried with backoff by the run). */
export function unreachable(target: DeployTarget, reason: string): ZavhozError {
  return new ZavhozError(
    ErrorCodes.Unreachable,
    `Could not reach ${target.server} (${target.sshUser}@${target.host}:${target.sshPort}) over SSH: ${reason}. Check that the server is up and sshd listens on port ${target.sshPort}.`,
  );
}

/** The OpenSSH options every connection of a run uses: this run's key, known_hosts and control socket only. */
export function sshOptions(files: { key: string; knownHosts: string; controlDir: string }): string[] {
  return [
    // The user's ~/.ssh/config must not change where or how a deploy connects.
    '-F', '/dev/null',
    '-o', `IdentityFile=${files.key}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${files.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=10',
  ];
}

/**
 * Logs in once with the run's key and leaves a ControlPersist master behind, which the playbook's connections
 * reuse. `-f -N` authenticates and backgrounds the master without running a remote command: a command would start
 * the user's shell and its rc files (measured here: ~200 ms of the pre-flight). Wrong key → AuthenticationFailed
 * (not retried); no answer → Unreachable (the run retries).
 */
export async function checkLogin(
  target: DeployTarget,
  files: { key: string; knownHosts: string; controlDir: string },
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<void> {
  const args = [
    ...sshOptions(files),
    '-o', 'ControlMaster=auto',
    '-o', 'ControlPersist=60s',
    '-o', `ControlPath=${files.controlDir}/%C`,
    '-f',
    '-N',
    '-p', String(target.sshPort),
    '-l', target.sshUser,
    target.host,
  ];
  const outcome = await runProgram('ssh', args, { env, signal, timeoutMs: 30_000 });
  if (outcome.code === 0) return;
  if (signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'The pre-flight SSH check was cancelled.');
  const reason = outcome.stderr.trim().split('\n').pop() ?? '';
  if (/Permission denied|Too many authentication failures/.test(outcome.stderr)) {
    throw new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `SSH login as ${target.sshUser}@${target.host}:${target.sshPort} with key ${target.sshKeySecret} was refused (${reason}). Add the key's public half to ~${target.sshUser}/.ssh/authorized_keys on ${target.server}, or set another key with \`zavhoz server update ${target.server} --ssh-key-secret HANDLE\`.`,
    );
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(outcome.stderr)) {
    throw new ZavhozError(
      ErrorCodes.HostKeyMismatch,
      `The SSH host key of ${target.server} does not match the pinned one (${reason}). If the server was reinstalled, run \`zavhoz server accept-host-key ${target.server}\`.`,
    );
  }
  if (/invalid format|error in libcrypto|load key/i.test(outcome.stderr)) {
    throw new ZavhozError(
      ErrorCodes.InvalidInput,
      `The secret ${target.sshKeySecret} is not an SSH private key OpenSSH can use (${reason}). Store the right key with \`zavhoz secret rotate ${target.sshKeySecret} < keyfile\`.`,
    );
  }
  throw unreachable(target, reason || `ssh exited with ${String(outcome.code)}`);
}

/** Ends the SSH masters a run left (ControlPersist outlives the playbook otherwise). */
export async function closeMasters(sockets: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  await Promise.all(
    sockets.map((socket) => runProgram('ssh', ['-F', '/dev/null', '-o', `ControlPath=${socket}`, '-O', 'exit', 'zavhoz-run'], { env, timeoutMs: 5_000 })),
  );
}
