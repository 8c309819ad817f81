/**
 * What the undeploy needs from the other capabilities, kept narrow: `wiring/undeploy.ts` joins these to the
 * allocator, the inventory's SSH and the GitHub service.
 */
import type { SecretUse } from '../vault/api.js';

/** Where a project lives: its allocated server and the ports of its modules. */
export interface UndeployTarget {
  readonly server: string;
  readonly modules: readonly string[];
  readonly ports: readonly number[];
}

/** What one remote command produced. */
export interface RemoteResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** An open SSH connection to the project's server. */
export interface RemoteShell {
  exec(command: string, options: { signal?: AbortSignal }): Promise<RemoteResult>;
  close(): void;
}

/** The allocation ledger and the servers, as the undeploy sees them. */
export interface UndeployTargets {
  /** The project's allocation, or undefined if it has none. */
  targetOf(project: string): Promise<UndeployTarget | undefined>;
  /** SSH to a managed server with its vault key and pinned host key. */
  openShell(server: string, use: SecretUse, signal: AbortSignal): Promise<RemoteShell>;
  /** Releases every allocation of the project; returns the modules released. */
  release(project: string): Promise<readonly string[]>;
}

/** What removing a project's CI secrets did. */
export interface CiSecretRemoval {
  /** `OWNER/NAME:SECRET` (or `OWNER/NAME@ENV:SECRET`) deleted, or already gone, on GitHub. */
  readonly removed: readonly string[];
  /** Secrets that stay, each with why and what to do. */
  readonly warnings: readonly string[];
}

/** Removes the Actions secrets Zavhoz pushed for a project (none pushed: nothing to do, no GitHub call). */
export type CiSecrets = (project: string, caller: UndeployCaller) => Promise<CiSecretRemoval>;

/** Who asked, for the audit log and the vault's loans; `signal` cancels. */
export interface UndeployCaller {
  readonly client: string;
  readonly requestId: string;
  readonly signal?: AbortSignal;
}
