import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { type PageInfo, pageFields } from './fields.js';
import { secretHandle } from './secrets.js';

/** Where a server stands: found by a provider, usable, hosting services, gone from its provider, or not answering. */
export const SERVER_STATUSES = ['discovered', 'ready', 'in_use', 'missing', 'unreachable'] as const;

/** One of {@link SERVER_STATUSES}. */
export type ServerStatus = (typeof SERVER_STATUSES)[number];

/** A server handle: lowercase, digits, `_` and `-`, e.g. `prod_vps_1`. Handles name servers everywhere. */
export const serverHandle = lazySchema(() => z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a handle like "prod_vps_1": lowercase letters, digits, "_" or "-", starting with a letter'));


const hostName = lazySchema(() => z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address'));
const label = lazySchema(() => z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a label of letters, digits and "_.:-"'));
const megabytes = lazySchema(() => z.number().int().min(0).max(1_000_000_000));
const sshPort = lazySchema(() => z.number().int().min(1).max(65_535));
const sshUser = lazySchema(() => z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'a Unix user name'));
const labels = lazySchema(() => z.array(label).max(32));
const cpuCores = lazySchema(() => z.number().int().min(1).max(4096));

/**
 * Where a server's reverse proxy stands: `not-installed` (no domain has needed it), `running` (the last apply or health
 * check found it up, or brought it back), `unhealthy` (that check or apply failed: `error` says why), `unknown` (the
 * server has domains, but no check has looked at its proxy since this daemon began keeping track).
 */
export const PROXY_STATES = ['not-installed', 'running', 'unhealthy', 'unknown'] as const;

/** One of {@link PROXY_STATES}. */
export type ProxyState = (typeof PROXY_STATES)[number];

/** A server's reverse proxy (Caddy, run by Zavhoz for its domains) as the views show it. No address, no secret. */
export interface ServerProxy {
  readonly state: ProxyState;
  /** The proxy's version as it reported it (`v2.6.2`), once seen running. */
  readonly version: string | null;
  /** Domains routed through it. */
  readonly domains: number;
  /** When an apply or health check last looked at it. */
  readonly checkedAt: string | null;
  /** Why it is unhealthy. */
  readonly error: string | null;
}

/** A server's proxy in a few words, the same in every view: `proxy running v2.6.2, 2 domains`, `no proxy`. */
export function describeProxy(proxy: ServerProxy): string {
  if (proxy.state === 'not-installed') return 'no proxy';
  const domains = proxy.domains === 1 ? '1 domain' : `${String(proxy.domains)} domains`;
  const state = { running: 'running', unhealthy: 'unhealthy', unknown: 'not checked yet' }[proxy.state];
  return `proxy ${state}${proxy.version === null ? '' : ` ${proxy.version}`}, ${domains}`;
}

/** A server as every client sees it. Carries handles and names, never a secret value. */
export interface ServerInfo {
  readonly handle: string;
  /** The provider's name for it (or the handle for servers added by hand). */
  readonly name: string;
  readonly host: string;
  readonly sshPort: number;
  readonly sshUser: string;
  /** Vault handle of the SSH private key, if one is set. */
  readonly sshKeySecret: string | null;
  readonly ramMb: number | null;
  readonly diskMb: number | null;
  readonly cpuCores: number | null;
  /** From the last health check. */
  readonly availableRamMb: number | null;
  readonly availableDiskMb: number | null;
  /** RAM promised to allocations on this server. */
  readonly reservedRamMb: number;
  /** Number of allocated modules (services) on this server. */
  readonly services: number;
  /** TCP ports seen listening at the last health check. */
  readonly listeningPorts: readonly number[];
  readonly labels: readonly string[];
  readonly provider: string | null;
  readonly providerId: string | null;
  readonly providerStatus: string | null;
  readonly os: string | null;
  /** False for ghost servers (personal machines): stored, never offered to automation. */
  readonly managed: boolean;
  readonly status: ServerStatus;
  readonly missingSince: string | null;
  /** SHA256 fingerprint pinned at first contact. */
  readonly hostKeyFingerprint: string | null;
  /** A different key the server presented and that was refused; `server accept-host-key` pins it. */
  readonly offeredHostKeyFingerprint: string | null;
  readonly lastCheckAt: string | null;
  readonly lastCheckError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Its reverse proxy: in the answers of `servers/list`, `servers/show` and `servers/check`. */
  readonly proxy?: ServerProxy;
}

/** Lists servers by handle, a page at a time: managed ones only unless `all`. */
export const ServersList = defineRequest(
  'servers/list',
  () => z.strictObject({ all: z.boolean().default(false), ...pageFields }),
  result<{ readonly servers: readonly ServerInfo[] } & PageInfo>(),
);

/** One server by handle. */
export const ServersShow = defineRequest('servers/show', () => z.strictObject({ handle: serverHandle }), result<ServerInfo>());

/** SSH port of a server added without one. */
export const DEFAULT_SSH_PORT = 22;

/** SSH user of a server added without one. */
export const DEFAULT_SSH_USER = 'root';

/** Adds a server by hand. It is `discovered` until a health check reaches it. */
export const ServersAdd = defineRequest(
  'servers/add',
  () => z.strictObject({
    handle: serverHandle,
    host: hostName,
    sshPort: sshPort.default(DEFAULT_SSH_PORT),
    sshUser: sshUser.default(DEFAULT_SSH_USER),
    sshKeySecret: secretHandle.optional(),
    ramMb: megabytes.optional(),
    diskMb: megabytes.optional(),
    cpuCores: cpuCores.optional(),
    labels: labels.default([]),
  }),
  result<ServerInfo>(),
);

/** Changes how a server is reached or described (host, SSH settings, capacity, labels). */
export const ServersUpdate = defineRequest(
  'servers/update',
  () => z.strictObject({
    handle: serverHandle,
    host: hostName.optional(),
    sshPort: sshPort.optional(),
    sshUser: sshUser.optional(),
    sshKeySecret: secretHandle.nullable().optional(),
    ramMb: megabytes.optional(),
    diskMb: megabytes.optional(),
    cpuCores: cpuCores.optional(),
    labels: labels.optional(),
  }),
  result<ServerInfo>(),
);

/** Removes a server; refused while it has allocations unless `force`, which releases them. */
export const ServersRemove = defineRequest(
  'servers/remove',
  () => z.strictObject({ handle: serverHandle, force: z.boolean().default(false) }),
  result<{ readonly removed: string; readonly releasedAllocations: number }>(),
);

/** Makes a server managed again (takes it off the `ghostServers` setting). */
export const ServersManage = defineRequest('servers/manage', () => z.strictObject({ handle: serverHandle }), result<ServerInfo>());

/** Makes a server a ghost (adds it to `ghostServers`); refused while it has allocations unless `force`. */
export const ServersGhost = defineRequest(
  'servers/ghost',
  () => z.strictObject({ handle: serverHandle, force: z.boolean().default(false) }),
  result<ServerInfo>(),
);

/** What one provider sync changed. */
export interface SyncResult {
  readonly provider: string;
  readonly total: number;
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly missing: readonly string[];
  readonly restored: readonly string[];
  readonly unchanged: number;
  /** Server details fetched (`GET /server/{id}`): new and changed servers only. */
  readonly detailsFetched: number;
}

/** Syncs the inventory with the configured provider now. */
export const ServersSync = defineRequest('servers/sync', () => z.strictObject({}), result<SyncResult>());

/** Health-checks one server now (TCP, then SSH with its vault key) and returns it updated. */
export const ServersCheck = defineRequest('servers/check', () => z.strictObject({ handle: serverHandle }), result<ServerInfo>());

/** Pins the host key a server presented at its last refused contact. */
export const ServersAcceptHostKey = defineRequest(
  'servers/acceptHostKey',
  () => z.strictObject({ handle: serverHandle }),
  result<{ readonly server: ServerInfo; readonly previous: string | null; readonly accepted: string }>(),
);

/** Sent to every client after servers were added, changed or removed. */
export const ServersDidChange = defineNotification(
  'servers/didChange',
  () => z.strictObject({ handles: z.array(z.string()) }),
);

/** What one `servers/upload` or `servers/fetch` copied (paths and size: never contents). */
export interface ServerFileTransfer {
  readonly server: string;
  /** Absolute path on this machine. */
  readonly local: string;
  /** Absolute path on the server. */
  readonly remote: string;
  readonly bytes: number;
  /** The destination's permission bits, e.g. `0640`. */
  readonly mode: string;
}

const absolutePath = lazySchema(() => z.string().min(1).max(4096).regex(/^\//, 'an absolute path (starting with /)'));
const localPath = lazySchema(() => z.string().min(1).max(4096).refine((text) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(text), 'an absolute path on this machine'));

/** Permission bits as octal text: `640` or `0640`. */
export const fileMode = lazySchema(() => z.string().regex(/^0?[0-7]{3}$/, 'octal permission bits like 0640'));

/**
 * Uploads a file of this machine (read by the daemon, as the user) to a managed server over SFTP: streamed, written
 * to a temporary file beside `remote` and renamed over it, with `mode` (default: the local file's bits). A `remote`
 * that is a folder gets the file under its local name. Audited (paths, size). Cancellable.
 */
export const ServersUpload = defineRequest(
  'servers/upload',
  () => z.strictObject({ handle: serverHandle, local: localPath, remote: absolutePath, mode: fileMode.optional() }),
  result<ServerFileTransfer>(),
);

/**
 * Downloads a file of a managed server over SFTP to this machine (written by the daemon, as the user): streamed,
 * written to a temporary file beside `local` and renamed over it, with the remote file's bits. A `local` that is a
 * folder gets the file under its remote name. Audited (paths, size). Cancellable.
 */
export const ServersFetch = defineRequest(
  'servers/fetch',
  () => z.strictObject({ handle: serverHandle, remote: absolutePath, local: localPath }),
  result<ServerFileTransfer>(),
);

/** Bounds and default of how long `servers/reboot` waits for SSH to answer again, in seconds. */
export const REBOOT_TIMEOUT = { default: 300, min: 10, max: 3600 } as const;

/** The phases of a reboot, in order, as `servers/rebootProgress` reports them. */
export const REBOOT_PHASES = ['waiting', 'rebooting', 'down', 'up', 'checking'] as const;

/**
 * Reboots a managed server: `reboot` over SSH (as root, else `sudo -n`), then waits for SSH to go away and to answer
 * again (up to `timeoutSeconds`), then health-checks it. Waits for running work (deploys, undeploys) of the projects
 * on it, and holds them off until done. `confirm` must be true. Audited. Cancellable (the reboot itself is not undone).
 */
export const ServersReboot = defineRequest(
  'servers/reboot',
  () => z.strictObject({
    handle: serverHandle,
    confirm: z.literal(true),
    timeoutSeconds: z.number().int().min(REBOOT_TIMEOUT.min).max(REBOOT_TIMEOUT.max).default(REBOOT_TIMEOUT.default),
  }),
  result<{ readonly server: ServerInfo; readonly downAfterSeconds: number; readonly upAfterSeconds: number }>(),
);

/** Sent to every client as a reboot moves on (`detail`: e.g. what it waits for). */
export const ServersRebootProgress = defineNotification(
  'servers/rebootProgress',
  () => z.strictObject({ handle: z.string(), phase: z.enum(REBOOT_PHASES), detail: z.string().optional() }),
);
