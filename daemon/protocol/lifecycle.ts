import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';

/**
 * The protocol version. Bump it on any incompatible change; `initialize` refuses a client whose version differs,
 * so an old extension never talks past a newer daemon. 3: `runs/log` answers a page (an older client would read only
 * the first one of a long log), and deploys, rollbacks and undeploys carry `confirmed` for approvals. 4: runs may be
 * `awaiting_approval` (kind `undeploy` too) and `runs/get` takes `apr_…` ids, which an older client cannot show.
 */
export const PROTOCOL_VERSION = 4;

/** Cap on one JSON-RPC message body; anything larger is refused before it is parsed. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const clientName = lazySchema(() => z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a lowercase name like "cli" or "vscode"'));

/** The first request on every connection: authenticates with the token file and checks protocol versions. */
export const Initialize = defineRequest(
  'initialize',
  () => z.strictObject({
    protocolVersion: z.number().int(),
    clientName,
    clientVersion: z.string().max(64).optional(),
    token: z.string().max(256),
  }),
  result<InitializeResult>(),
);

/** What the daemon says about itself after a successful `initialize`. */
export interface InitializeResult {
  readonly protocolVersion: number;
  readonly daemonVersion: string;
  readonly pid: number;
  readonly dataFolder: string;
}

/** Status of the running daemon, for `zavhoz daemon status` and the extension's status bar. */
export const DaemonStatus = defineRequest('daemon/status', () => z.strictObject({}), result<DaemonStatusResult>());

/** One connected client as the daemon sees it. */
export interface ConnectedClient {
  readonly id: number;
  readonly name: string;
  readonly version?: string;
  readonly connectedAt: string;
}

/** The daemon's answer to `daemon/status`. */
export interface DaemonStatusResult {
  readonly pid: number;
  readonly daemonVersion: string;
  readonly protocolVersion: number;
  readonly dataFolder: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly clients: readonly ConnectedClient[];
}

/** Asks the daemon to finish in-flight work and exit. */
export const DaemonShutdown = defineRequest('daemon/shutdown', () => z.strictObject({}), result<{ readonly stopping: true }>());

/** A trivial request used by health probes and the round-trip benchmark. */
export const DaemonPing = defineRequest(
  'daemon/ping',
  () => z.strictObject({ payload: z.string().max(1024).optional() }),
  result<{ readonly payload?: string }>(),
);

/** Asks for the daemon's (redacted) log lines as `daemon/log` notifications on this connection. */
export const DaemonLogSubscribe = defineRequest(
  'daemon/subscribeLog',
  () => z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }),
  result<{ readonly subscribed: true }>(),
);

/** One daemon log line (a JSON object as text, already redacted), for clients that subscribed. */
export const DaemonLog = defineNotification('daemon/log', () => z.strictObject({ line: z.string() }));

/** Sent to every client just before the daemon exits, so UIs can show "daemon stopped" at once. */
export const DaemonWillShutdown = defineNotification('daemon/willShutdown', () => z.strictObject({ reason: z.string() }));
