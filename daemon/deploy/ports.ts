/**
 * What the deploy pipeline needs from the other capabilities, kept narrow so the pipeline can be read (and
 * tested) on its own. `wiring/deploy.ts` wires these to the inventory, the allocator and the vault.
 */
import type { ReleaseSecret } from '../protocol/releases.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { SecretCatalog } from './envPlan.js';

/** A secret pinned to one of its versions (the vault's `SecretVersionRef`): what a release records. */
export type SecretVersionRef = ReleaseSecret;

/**
 * The vault's secret versions as releases use them (vault/api.ts `SecretVersions`): a release records the version of
 * each secret it delivered, a rollback delivers exactly those, and the vault keeps every version a kept release holds.
 */
export interface DeploySecretVersions {
  /** The current version of each handle. */
  currentVersions(handles: readonly string[]): SecretVersionRef[];
  /** Lends the value of that version of the secret, like `withValue`. */
  withVersion<T>(ref: SecretVersionRef, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T>;
  /** Keeps these versions for as long as `holder` (a release id) holds them. */
  retain(holder: string, refs: readonly SecretVersionRef[]): Promise<void>;
  /** Lets go of every version `holder` kept. */
  releaseHolder(holder: string): Promise<void>;
}

/** Where a project deploys: its allocated server and ports, and how to log in. Handles and names, no values. */
export interface DeployTarget {
  readonly server: string;
  readonly host: string;
  readonly sshPort: number;
  readonly sshUser: string;
  /** Vault handle of the SSH private key. */
  readonly sshKeySecret: string;
  /** SHA256 fingerprint pinned by the inventory; null if the server was never reached. */
  readonly hostKeyFingerprint: string | null;
  /** Port of the project's main module. */
  readonly port: number;
  /** Every allocated module's port. */
  readonly modulePorts: Readonly<Record<string, number>>;
}

/** Finds (allocating if needed) where a project deploys. */
export interface DeployTargets {
  targetFor(project: string): DeployTarget;
  /** Modules already allocated to the project (empty if none), without allocating. */
  modulesOf(project: string): string[];
}

/** The vault as the deploy pipeline uses it: lends values, finds handles by name, generates infra secrets. */
export interface DeploySecrets extends SecretReader, SecretCatalog, DeploySecretVersions {
  /** Returns the handle of the project's generated secret `name`, generating and storing one if there is none. */
  ensureGenerated(project: string, name: string, use: SecretUse): Promise<string>;
  /** Tells the vault these handles reached a server (it drops previous versions kept since a rotation). */
  confirmDeployed(handles: readonly string[]): Promise<void> | void;
}
