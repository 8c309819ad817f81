/**
 * What day-2 operations need from the rest of the daemon, as narrow ports the wiring fills in: where each deployed
 * project lives (the allocator and the inventory) and an authenticated SSH connection to its server.
 */
import type { SshConnection } from '../inventory/ssh.js';
import type { NotificationDefinition } from '../protocol/define.js';
import type { CurrentRelease } from '../protocol/services.js';
import type { SecretUse } from '../vault/api.js';

/** One allocated module of a project: the port its server publishes it on. */
export interface PlacedModule {
  readonly module: string;
  readonly port: number;
}

/** Where a project lives: its server (by handle and address) and its modules' ports. */
export interface Placement {
  readonly project: string;
  readonly server: string;
  /** The server's address, for URLs; empty when the server is no longer in the inventory. */
  readonly host: string;
  readonly modules: readonly PlacedModule[];
  /** Why the server cannot be used (it left the inventory), if it cannot. */
  readonly problem?: string;
  /** The project's newest release, if one was recorded. */
  readonly release: CurrentRelease | null;
}

/** The ports of {@link OperationsService}. */
export interface OperationsHost {
  /** Every project with an allocation, or the one named (empty when it has none). */
  placements(project?: string): Promise<Placement[]>;
  /** An SSH connection to a managed server with its vault key and pinned host key. */
  openSsh(server: string, use: SecretUse, signal?: AbortSignal): Promise<SshConnection>;
}

/** The client connections, for what goes to one of them only (followed log lines, a wait's progress). */
export interface ClientConnections {
  /** Sends a notification to one connection; false when it is gone. */
  notifyConnection<P>(connectionId: number, definition: NotificationDefinition<P>, params: P): boolean;
  /** True while the connection is open. */
  isConnected(connectionId: number): boolean;
}
