/**
 * What the deploy pipeline needs from the other capabilities, kept narrow so the pipeline can be read (and
 * tested) on its own. `wiring/deploy.ts` wires these to the inventory, the allocator and the vault.
 */
import type { SecretReader, SecretUse, SecretVersions } from '../vault/api.js';
import type { SecretCatalog } from './envPlan.js';

export type { SecretVersionRef } from '../vault/api.js';

/**
 * The vault's secret versions as releases use them: a release records the version of each secret it delivered, a
 * rollback delivers exactly those, and the vault keeps every version a kept release holds.
 */
export type DeploySecretVersions = SecretVersions;

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

/** The server's proxy as a deploy switches over behind it: its container, config file and the modules with a domain. */
export interface ProxySwitch {
  readonly httpsPort: number;
  /** Seconds the proxy passes over a port that refused a connection: the slot stops only after that. */
  readonly failSeconds: number;
  /**
   * Each module with a domain, the domain its health is checked through, and its slot: the port its next release
   * listens on beside the old one, which the proxy dials while the module's own port refuses.
   */
  readonly modules: readonly { readonly module: string; readonly domain: string; readonly slotPort: number }[];
}

/** One allocated module of a project: its server and port. */
export interface ModuleAllocation {
  readonly module: string;
  readonly server: string;
  readonly port: number;
}

/** Finds (allocating if needed) where a project deploys. */
export interface DeployTargets {
  /**
   * Where the project deploys, with `modules` (those its compose files publish) allocated if they are not yet; none
   * given: the allocation as it is, or the default module for a project that has none.
   */
  targetFor(project: string, modules?: readonly string[]): Promise<DeployTarget>;
  /** Modules already allocated to the project (empty if none), without allocating. */
  modulesOf(project: string): Promise<string[]>;
  /** The project's allocations, by module (empty if none), without allocating. */
  allocationsOf(project: string): Promise<ModuleAllocation[]>;
  /**
   * Releases one module's allocation (its port and RAM go back to the server); undefined when it has none any more
   * (released by hand meanwhile).
   */
  releaseModule(project: string, module: string): Promise<ModuleAllocation | undefined>;
  /** The proxy switchover of a project with domains on its server; undefined: no module is behind the proxy. */
  proxySwitchOf?(project: string, server: string): Promise<ProxySwitch | undefined>;
}

/** The vault as the deploy pipeline uses it: lends values, finds handles by name, generates infra secrets. */
export interface DeploySecrets extends SecretReader, DeploySecretVersions {
  /** The handles and names the vault holds now, for planning a project's variables (no value). */
  catalog(): Promise<SecretCatalog>;
  /** Returns the handle of the project's generated secret `name`, generating and storing one if there is none. */
  ensureGenerated(project: string, name: string, use: SecretUse): Promise<string>;
  /** Tells the vault these handles reached a server (it drops previous versions kept since a rotation). */
  confirmDeployed(handles: readonly string[]): Promise<void> | void;
  /**
   * When the secret's current value stops being valid (ISO time), or null if it does not expire. A value given after
   * its secret's expiry date is a new one, not the one that expired: null.
   */
  expiresAt(handle: string): Promise<string | null>;
}
