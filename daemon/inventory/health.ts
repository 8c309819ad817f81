import net from 'node:net';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, describeError, notFound } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ServerInfo } from '../protocol/servers.js';
import type { Database } from '../store/database.js';
import type { SecretReader } from '../vault/api.js';
import type { Inventory } from './inventory.js';
import { PROBE_COMMAND, parseProbe } from './probe.js';
import { type ServerColumns, type ServerRow, readServer, updateServer } from './records.js';
import { type SshTarget, runSsh } from './ssh.js';

/** Who asked for a check, for the vault's audit log and the logs. */
export interface CheckCall {
  readonly client: string;
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
}

/** Timeouts of one check. */
export interface HealthOptions {
  readonly tcpTimeoutMs?: number;
  readonly sshTimeoutMs?: number;
}

/** The SSH target of a stored server. */
export function sshTargetOf(row: ServerRow): SshTarget {
  return {
    handle: row.handle,
    host: row.host,
    port: row.ssh_port,
    user: row.ssh_user,
    keySecret: row.ssh_key_secret,
    pinnedFingerprint: row.host_key_fingerprint,
  };
}

/** Resolves once a TCP connection to host:port opens; rejects with Unreachable otherwise. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host, port });
    const fail = (reason: string): void => {
      socket.destroy();
      reject(new ZavhozError(ErrorCodes.Unreachable, `Nothing answers on ${host}:${port} (${reason}). Check that the server is running and that port ${port} is open to this machine.`));
    };
    socket.setTimeout(timeoutMs, () => fail('no answer in time'));
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/**
 * Health checks: TCP connect, then SSH with the server's vault key reading free RAM, free disk and listening ports.
 * The first contact pins the host key; a different key later is refused (HostKeyMismatch) and remembered as
 * "offered" until the user accepts it. One check per server runs at a time; a second caller shares it.
 */
export class HealthChecker {
  private readonly running = new Map<string, Promise<ServerInfo>>();

  constructor(
    private readonly store: Database,
    private readonly inventory: Inventory,
    private readonly secrets: SecretReader,
    private readonly audit: AuditLog,
    private readonly options: HealthOptions = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Checks one server and returns it updated; throws Unreachable / AuthenticationFailed / HostKeyMismatch after recording the failure. */
  check(handle: string, call: CheckCall): Promise<ServerInfo> {
    const active = this.running.get(handle);
    if (active) return active;
    const started = this.run(handle, call).finally(() => this.running.delete(handle));
    this.running.set(handle, started);
    return started;
  }

  /** Pins the host key the server offered at its last refused contact. */
  async acceptHostKey(handle: string, call: CheckCall): Promise<{ server: ServerInfo; previous: string | null; accepted: string }> {
    const now = this.clock().toISOString();
    // Read and pinned in one transaction: a check that records another offered key meanwhile cannot slip between.
    const { previous, accepted } = await this.store.transaction(async (tx) => {
      const row = await readServer(tx, handle);
      if (!row) throw notFound(`Server ${handle}`, 'List servers with `zavhoz server list --all`.');
      const offered = row.offered_host_key_fingerprint;
      if (!offered) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Server ${handle} has not presented a different host key, so there is nothing to accept. Run \`zavhoz server check ${handle}\` to contact it.`,
        );
      }
      await updateServer(tx, row, { host_key_fingerprint: offered, offered_host_key_fingerprint: null }, now);
      await this.audit.record(
        { client: call.client, requestId: call.requestId, action: 'accept-host-key', subject: `server:${handle}`, detail: { previous: row.host_key_fingerprint ?? '', accepted: offered } },
        tx,
      );
      return { previous: row.host_key_fingerprint, accepted: offered };
    });
    this.inventory.changed([handle]);
    return { server: await this.inventory.show(handle), previous, accepted };
  }

  private async run(handle: string, call: CheckCall): Promise<ServerInfo> {
    const row = await this.inventory.row(handle);
    const target = sshTargetOf(row);
    if (!target.keySecret) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `Server ${handle} has no SSH key to check it with. Set one with \`zavhoz server update ${handle} --ssh-key-secret NAME\`.`,
      );
    }
    try {
      await tcpProbe(target.host, target.port, this.options.tcpTimeoutMs ?? 5_000);
      const use = { client: call.client, requestId: call.requestId, action: 'ssh', detail: { server: handle, purpose: 'health-check' } };
      const result = await runSsh(target, this.secrets, use, PROBE_COMMAND, {
        allowFirstContact: true,
        readyTimeoutMs: this.options.sshTimeoutMs ?? 10_000,
        signal: call.signal,
      });
      if (result.code !== 0 && result.stdout.length === 0) {
        throw new ZavhozError(ErrorCodes.Unreachable, `The health probe on ${handle} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
      }
      const probe = parseProbe(result.stdout);
      await this.record(handle, (current) => ({
        status: current.status === 'missing' ? 'missing' : current.allocation_count > 0 ? 'in_use' : 'ready',
        // Free RAM is only shown against the total of the same reading: the probe's MemTotal replaces a provider's
        // or a hand-given figure, and without one the free figure is dropped rather than set against another total.
        available_ram_mb: probe.memTotalMb === null ? null : probe.memAvailableMb,
        // Disk likewise: free space against the total of the same filesystem reading.
        available_disk_mb: probe.diskTotalMb === null ? null : probe.diskAvailableMb,
        listening_ports: JSON.stringify(probe.listeningPorts),
        ram_mb: probe.memTotalMb ?? current.ram_mb,
        disk_mb: probe.diskTotalMb ?? current.disk_mb,
        cpu_cores: current.cpu_cores ?? probe.cpuCores,
        host_key_fingerprint: result.firstContact ? result.fingerprint : current.host_key_fingerprint,
        offered_host_key_fingerprint: null,
        last_check_error: null,
      }));
    } catch (error) {
      if (error instanceof ZavhozError && error.code === ErrorCodes.RequestCancelled) throw error;
      const offered = error instanceof ZavhozError && error.code === ErrorCodes.HostKeyMismatch && typeof error.data?.offered === 'string' ? error.data.offered : null;
      await this.record(handle, (current) => ({
        status: current.status === 'missing' ? 'missing' : 'unreachable',
        last_check_error: describeError(error, this.secrets.redactor).slice(0, 1000),
        ...(offered ? { offered_host_key_fingerprint: offered } : {}),
      }));
      throw error;
    }
    return this.inventory.show(handle);
  }

  /** Writes a check's outcome to the row as it is now (it may have changed, or gone, while the check ran). */
  private async record(handle: string, columns: (current: ServerRow) => ServerColumns): Promise<void> {
    const now = this.clock().toISOString();
    const wrote = await this.store.transaction(async (tx) => {
      const current = await readServer(tx, handle);
      if (!current) return false;
      await updateServer(tx, current, { ...columns(current), last_check_at: now }, now);
      return true;
    });
    if (wrote) this.inventory.changed([handle]);
  }
}

