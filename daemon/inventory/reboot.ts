/**
 * `server reboot`: reboots a managed server over SSH and follows it until it answers again, then health-checks it.
 * "Down" is the SSH connection going away; "up" is a new SSH login that runs a command. TCP is probed before each
 * login attempt, so a server that is still booting costs no vault loan (and no audit entry) per poll.
 */
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, describeError } from '../core/errors.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import { ErrorCodes } from '../protocol/errors.js';
import { REBOOT_PHASES, type ServerInfo, ServersRebootProgress } from '../protocol/servers.js';
import type { SecretUse } from '../vault/api.js';
import { type CheckCall, tcpProbe } from './health.js';
import type { SshConnection, SshOptions } from './ssh.js';

/** `reboot` with the root it needs: directly as root, else passwordless sudo (-n: an error, never a prompt). */
export const REBOOT_COMMAND = `sh -c 'PATH="$PATH:/usr/sbin:/sbin"; if [ "$(id -u)" -eq 0 ]; then exec reboot; else exec sudo -n reboot; fi'`;

/** How long the server gets to drop the SSH connection after `reboot` was accepted. */
const DOWN_TIMEOUT_MS = 120_000;
/** How long `reboot` itself may take to answer before the connection is assumed to be going down with it. */
const COMMAND_TIMEOUT_MS = 30_000;
/** Between two probes while the server boots. */
const POLL_INTERVAL_MS = 1_000;
/** One login attempt while it boots: short, since sshd may accept TCP long before it can answer. */
const LOGIN_TIMEOUT_MS = 5_000;

/** What a reboot needs from the inventory. */
export interface RebootDependencies {
  openSsh(handle: string, use: SecretUse, options: Omit<SshOptions, 'allowFirstContact'>): Promise<SshConnection>;
  /** Where the server is reached, for the TCP probe. */
  address(handle: string): Promise<{ host: string; port: number }>;
  check(handle: string, call: CheckCall): Promise<ServerInfo>;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
}

/** What a reboot answers: the server after its health check, and how long it was gone. */
export interface RebootResult {
  readonly server: ServerInfo;
  readonly downAfterSeconds: number;
  readonly upAfterSeconds: number;
}

/** Runs `work` while holding every one of `projects` (in a fixed order, so two such holders never deadlock). */
export function holdingAll(
  locks: Pick<ProjectLocks, 'hold'>,
  projects: readonly string[],
  activity: string,
  options: { signal?: AbortSignal | undefined; waiting?: (project: string, holder: string) => void },
): <T>(work: () => Promise<T>) => Promise<T> {
  const ordered = [...new Set(projects)].sort();
  return <T>(work: () => Promise<T>): Promise<T> =>
    ordered.reduceRight<() => Promise<T>>(
      (inner, project) => () =>
        locks.hold(project, activity, inner, { signal: options.signal, waiting: (holder) => options.waiting?.(project, holder.activity) }),
      work,
    )();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(cancelled()); return; }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = (): void => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function cancelled(): ZavhozError {
  return new ZavhozError(ErrorCodes.RequestCancelled, 'Stopped waiting for the server; the reboot itself, once started, goes on.');
}

/** Reboots servers; see the file's comment. */
export class ServerReboots {
  constructor(private readonly dependencies: RebootDependencies) {}

  /** Reboots `handle`, waits up to `timeoutSeconds` for SSH, then health-checks it; `hold` wraps it all (project locks). */
  async reboot(
    handle: string,
    timeoutSeconds: number,
    call: CheckCall,
    hold: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
  ): Promise<RebootResult> {
    const entry = { client: call.client, requestId: call.requestId, action: 'server-reboot', subject: `server:${handle}` };
    try {
      const result = await hold(() => this.run(handle, timeoutSeconds, call));
      await this.dependencies.audit.record({ ...entry, detail: { outcome: 'done', downAfterSeconds: result.downAfterSeconds, upAfterSeconds: result.upAfterSeconds } });
      return result;
    } catch (error) {
      const code = error instanceof ZavhozError ? error.code : ErrorCodes.InternalError;
      await this.dependencies.audit.record({ ...entry, detail: { outcome: code === ErrorCodes.RequestCancelled ? 'cancelled' : 'failed', code } });
      throw error;
    }
  }

  /** Tells clients how the reboot goes. */
  progress(handle: string, phase: (typeof REBOOT_PHASES)[number], detail?: string): void {
    this.dependencies.notifier.notify(ServersRebootProgress, { handle, phase, ...(detail === undefined ? {} : { detail }) });
  }

  private async run(handle: string, timeoutSeconds: number, call: CheckCall): Promise<RebootResult> {
    const use = (purpose: string): SecretUse => ({ client: call.client, requestId: call.requestId, action: 'ssh', detail: { server: handle, purpose } });
    const started = Date.now();
    this.progress(handle, 'rebooting');
    const connection = await this.dependencies.openSsh(handle, use('reboot'), { signal: call.signal });
    let downAfterSeconds: number;
    try {
      const gone = new Promise<void>((resolve) => connection.client.once('close', () => resolve()));
      const answer = await Promise.race([
        connection.exec(REBOOT_COMMAND, call.signal ? { signal: call.signal } : {}).then(
          (result) => ({ kind: 'answered' as const, result }),
          (error: unknown) => ({ kind: 'error' as const, error }),
        ),
        gone.then(() => ({ kind: 'gone' as const })),
        sleep(COMMAND_TIMEOUT_MS, call.signal).then(() => ({ kind: 'silent' as const })),
      ]);
      if (answer.kind === 'error') {
        if (answer.error instanceof ZavhozError && answer.error.code === ErrorCodes.RequestCancelled) throw answer.error;
        // The connection broke under the command: the reboot is under way.
      } else if (answer.kind === 'answered' && answer.result.code !== 0 && answer.result.code !== null) {
        const said = `${answer.result.stderr}${answer.result.stdout}`.trim().split('\n').slice(-2).join(' ').slice(0, 300);
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `${handle} refused to reboot (exit ${answer.result.code}: ${said || 'no message'}). Rebooting needs root or passwordless sudo for \`reboot\`; give the SSH user that, or reboot it from the provider's console.`,
        );
      }
      this.progress(handle, 'rebooting', 'waiting for the server to go down');
      const down = await Promise.race([gone.then(() => true), sleep(DOWN_TIMEOUT_MS, call.signal).then(() => false)]);
      if (!down) {
        throw new ZavhozError(
          ErrorCodes.Timeout,
          `${handle} accepted the reboot but still answered SSH ${DOWN_TIMEOUT_MS / 1000} s later. Check it with \`zavhoz server check ${handle}\`.`,
        );
      }
      downAfterSeconds = Math.round((Date.now() - started) / 1000);
    } finally {
      connection.close();
    }
    this.progress(handle, 'down', `went down after ${downAfterSeconds} s; waiting up to ${timeoutSeconds} s for SSH`);
    await this.waitForSsh(handle, started + timeoutSeconds * 1000, timeoutSeconds, use('reboot-wait'), call.signal);
    const upAfterSeconds = Math.round((Date.now() - started) / 1000);
    this.progress(handle, 'up', `SSH answers again after ${upAfterSeconds} s`);
    this.progress(handle, 'checking');
    const server = await this.dependencies.check(handle, call);
    return { server, downAfterSeconds, upAfterSeconds };
  }

  private async waitForSsh(handle: string, deadline: number, timeoutSeconds: number, use: SecretUse, signal: AbortSignal | undefined): Promise<void> {
    const { host, port } = await this.dependencies.address(handle);
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      try {
        await tcpProbe(host, port, Math.min(LOGIN_TIMEOUT_MS, Math.max(1, deadline - Date.now())));
        const connection = await this.dependencies.openSsh(handle, use, { signal, readyTimeoutMs: LOGIN_TIMEOUT_MS });
        try {
          const result = await connection.exec('true', signal ? { signal } : {});
          if (result.code === 0) return;
          last = `a login ran \`true\` with exit ${String(result.code)}`;
        } finally {
          connection.close();
        }
      } catch (error) {
        if (error instanceof ZavhozError && (error.code === ErrorCodes.RequestCancelled || error.code === ErrorCodes.HostKeyMismatch || error.code === ErrorCodes.AuthenticationFailed)) {
          throw error;
        }
        last = describeError(error);
      }
      await sleep(POLL_INTERVAL_MS, signal);
    }
    throw new ZavhozError(
      ErrorCodes.Timeout,
      `${handle} did not answer SSH within ${timeoutSeconds} s of the reboot (last: ${last}). It may still be booting: check it with \`zavhoz server check ${handle}\`, or look at the provider's console.`,
    );
  }
}
