import type { AuditLog } from '../audit/auditLog.js';
import type { Logger, ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { DataPaths } from '../core/paths.js';
import type { Redactor } from '../core/redactor.js';
import type { SettingsService } from '../settings/settings.js';
import type { Database } from '../store/database.js';
import type { TeamVault } from '../vault/hashicorp/team.js';
import type { Vault } from '../vault/vault.js';
import type { Allocator } from '../allocation/allocator.js';
import type { InventoryService } from '../inventory/service.js';
import type { DeployService } from '../deploy/service.js';
import type { GithubService } from '../github/service.js';
import type { CiKeyService } from '../cikey/service.js';
import type { ConnectionNotifier } from '../deploy/runLog.js';
import type { ShellSessions } from '../terminal/sessions.js';
import type { SshHandoff } from '../terminal/handoff.js';
import type { OperationsService } from '../operations/service.js';
import type { ConnectedClient } from '../protocol/lifecycle.js';
import type { UndeployService } from '../undeploy/service.js';
import type { RotationService } from '../rotation/service.js';
import type { AgentAccess } from '../agentaccess/access.js';
import type { NotifyService } from '../notify/service.js';
import type { DomainService } from '../domains/service.js';
import type { ProxyService } from '../proxy/service.js';
import type { ApprovalService } from '../approvals/service.js';
import type { RunningTeamStore, TeamService } from '../team/service.js';

/**
 * The domain services of one daemon, handed to every handler module. Each capability adds its service here, builds
 * it in `wiring/<capability>.ts` (called from `wiring/index.ts`) and registers its handlers in `handlers/index.ts`.
 */
export interface Services {
  readonly paths: DataPaths;
  /** The daemon's database (the embedded store, or a team's), as domain code uses it. */
  readonly store: Database;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly log: ScopedLogger;
  readonly notifier: Notifier;
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  /** The secrets vault; other capabilities use it as a `SecretReader` (vault/api.ts). */
  readonly vault: Vault;
  /** The team's HashiCorp Vault / OpenBao: connection, status, where new secrets go (`vault/*`). */
  readonly teamVault: TeamVault;
  /** Servers, provider sync, health checks and SSH to managed servers (`inventory.openSsh`). */
  readonly inventory: InventoryService;
  /** Which server and ports each module of a project gets. */
  readonly allocator: Allocator;
  /** Deploy runs: env plans, Ansible runs with live logs, cancel. */
  readonly deploy: DeployService;
  /** GitHub Actions secrets: sealed pushes (`github.pushDeploySecrets` after a deploy) and drift. */
  readonly github: GithubService;
  /** Scoped CI deploy users and keys, one per project (what GitHub gets as DEPLOY_USER / DEPLOY_SSH_KEY). */
  readonly ciKeys: CiKeyService;
  /** Interactive SSH shells (`shell/*`), each owned by the connection that opened it. */
  readonly terminal: ShellSessions;
  /** Servers handed to the user's own SSH client: key into an ssh-agent with a lifetime, alias in Zavhoz's SSH config (`remote/*`). */
  readonly handoff: SshHandoff;
  /** Day-2 operations of deployed projects: status, redacted logs, restart/stop/start (`services/*`). */
  readonly operations: OperationsService;
  /** Takes projects off their servers (`undeploy/*`). */
  readonly undeploy: UndeployService;
  /** Rotation that applies itself: due generated secrets rotated, their projects redeployed (`rotation/run`). */
  readonly rotation: RotationService;
  /** What agents may do without a human at hand: grants per project, approved command lines (`agent/*`). */
  readonly agentAccess: AgentAccess;
  /** Outbound notifications: endpoints, the delivery queue, and the watchers that raise events (`notify/*`). */
  readonly notify: NotifyService;
  /** Domains of deployed projects: proxy routes with automatic HTTPS, and their DNS records (`domains/*`). */
  readonly domains: DomainService;
  /** The reverse proxy Zavhoz runs on each server that has a domain. */
  readonly proxy: ProxyService;
  /** The gate before runs of protected projects: approval requests, approve, reject, expiry (`runs/approve`, …). */
  readonly approvals: ApprovalService;
  /** Register background work (timers, child processes) that shutdown must stop. */
  readonly lifecycle: Lifecycle;
  /** One piece of work per project at a time: deploys, rollbacks and day-2 operations all hold their project here. */
  readonly locks: ProjectLocks;
  /** Team mode: which store the next start opens (`team/join`, `team/leave`) and what the team's store says. */
  readonly team: TeamService;
}

/** A daemon-wide hook for background work (timers, child processes) that shutdown must stop first. */
export interface Lifecycle {
  /** Registers a function that stops background work; called in reverse order on shutdown. */
  onShutdown(stop: () => Promise<void> | void): void;
  /** Asks the daemon to shut down. */
  requestShutdown(reason: string): void;
  /**
   * Registers one-off work the start began in the background (the notification seed), which the daemon lets settle
   * before it collects the start's garbage (core/startGarbage.ts). Optional: test wirings do without.
   */
  startedInBackground?(work: Promise<unknown>): void;
}

/** What the daemon process sets up before any capability: its files, store, log, RPC server and shutdown hooks. */
export interface Foundation {
  readonly paths: DataPaths;
  readonly store: Database;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly log: ScopedLogger;
  /**
   * Announces changes to every client (`Notifier`) and sends deploy and service logs to the connections that follow
   * them; `clients` tells a follow whether its connection is still there (left out by in-memory test servers).
   */
  readonly server: Notifier & ConnectionNotifier & { clients?(): readonly ConnectedClient[] };
  readonly lifecycle: Lifecycle;
  /** The daemon's own embedded store, where the team it joined is recorded (`store` itself outside a team). */
  readonly localStore?: Database;
  /** The team store the daemon runs on, with its record; undefined on the embedded store. */
  readonly team?: RunningTeamStore | undefined;
  /** Where the vault's backend choice and master key are read from (and removed): the daemon's own environment. */
  readonly environment: NodeJS.ProcessEnv;
}
