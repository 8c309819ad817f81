import crypto from 'node:crypto';
import os from 'node:os';
import { notFound } from '../core/errors.js';
import type { EnvPlan } from '../protocol/env.js';
import { DEFAULT_REGISTRY, RUN_STEPS, type RunAllocation, type RunDetail, type RunKind, type RunStatus, type RunStep, type RunSummary } from '../protocol/runs.js';
import type { Database, DatabaseRow as Row, DatabaseTransaction } from '../store/database.js';

/** What a run remembers of its request, to start it later if it was queued. Handles and paths only. */
export interface RunOptions {
  readonly projectFolder: string;
  readonly bindings: Readonly<Record<string, string>>;
  readonly repoUrl: string;
  readonly gitToken?: string;
  readonly registryToken?: string;
  readonly registry: string;
  readonly registryUser: string;
  /** Module → HTTP path of its health check (default `/`). */
  readonly healthPaths?: Readonly<Record<string, string>>;
  /** Keep a release that fails its health check instead of rolling back to the previous one. */
  readonly noRollback?: boolean;
}

/** A run as stored. */
export interface RunRecord extends RunDetail {
  readonly options: RunOptions;
  readonly pid: number | null;
}

/** A new run's fields. */
export interface NewRun {
  readonly id: string;
  readonly project: string;
  readonly kind: RunKind;
  /** A rollback: the release it redeploys. */
  readonly rollbackTo?: string;
  readonly status: 'queued' | 'running';
  readonly repository: string;
  readonly ref: string;
  readonly client: string;
  readonly requestId: string;
  readonly createdAt: string;
  readonly folder: string;
  readonly timeoutSeconds: number;
  readonly options: RunOptions;
  readonly allocation: RunAllocation | null;
  readonly plan: EnvPlan | null;
}

/** Fields a run may change as it goes. */
export interface RunChanges {
  readonly status?: RunStatus;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly exitCode?: number | null;
  readonly error?: string | null;
  readonly allocation?: RunAllocation;
  readonly plan?: EnvPlan;
  readonly steps?: readonly RunStep[];
  readonly pid?: number | null;
  readonly attempts?: number;
  readonly releaseId?: string;
  /** What a queued run waits for (another member's work on its project); null once it runs. */
  readonly waitingFor?: string | null;
}

const COLUMNS: Record<keyof RunChanges, string> = {
  status: 'status',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  exitCode: 'exit_code',
  error: 'error',
  allocation: 'allocation',
  plan: 'env_plan',
  steps: 'steps',
  pid: 'pid',
  attempts: 'attempts',
  releaseId: 'release_id',
  waitingFor: 'waiting_for',
};

/**
 * The id of the daemon that carries a run out, from its host and runs folder: on a team's shared store, each daemon
 * starts, recovers and interrupts only the runs it owns, never another member's.
 */
export function runOwnerOf(runsFolder: string): string {
  return crypto.createHash('sha256').update(`${os.hostname()}\0${runsFolder}`).digest('hex').slice(0, 16);
}

/** A new run id: `run_` and 10 random base32 characters. */
export function newRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `run_${[...crypto.randomBytes(10)].map((byte) => alphabet[byte % 32]).join('')}`;
}

/** Every step pending: the shape of a new run. */
export function initialSteps(): RunStep[] {
  return RUN_STEPS.map((name) => ({ name, status: 'pending' }));
}

/** The `deploy_runs` table: every write is one durable transaction. */
export class RunStore {
  /** `owner`: this daemon's id ({@link runOwnerOf}); without it, every run counts as this daemon's (reads only). */
  constructor(
    private readonly store: Database,
    private readonly owner?: string,
  ) {}

  /** Stores a new run, in `within` if given (with what else that transaction writes). */
  async insert(run: NewRun, within?: DatabaseTransaction): Promise<void> {
    const write = async (tx: DatabaseTransaction): Promise<void> => {
      await tx.run(
        `INSERT INTO deploy_runs (id, project, kind, rollback_to, status, repository, ref, client, request_id, created_at, folder,
           timeout_seconds, options, allocation, env_plan, steps, daemon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          run.id,
          run.project,
          run.kind,
          run.rollbackTo ?? null,
          run.status,
          run.repository,
          run.ref,
          run.client,
          run.requestId,
          run.createdAt,
          run.folder,
          run.timeoutSeconds,
          JSON.stringify(run.options),
          run.allocation ? JSON.stringify(run.allocation) : null,
          run.plan ? JSON.stringify(run.plan) : null,
          JSON.stringify(initialSteps()),
          this.owner ?? null,
        ],
      );
    };
    if (within) await write(within);
    else await this.store.transaction(write);
  }

  /** Changes some fields of a run, in `within` if given. */
  async update(id: string, changes: RunChanges, within?: DatabaseTransaction): Promise<void> {
    const assignments: string[] = [];
    const values: (string | number | null)[] = [];
    for (const [key, value] of Object.entries(changes) as [keyof RunChanges, RunChanges[keyof RunChanges]][]) {
      if (value === undefined) continue;
      assignments.push(`${COLUMNS[key]} = ?`);
      values.push(value === null || typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value));
    }
    if (assignments.length === 0) return;
    const write = async (tx: DatabaseTransaction): Promise<void> => {
      await tx.run(`UPDATE deploy_runs SET ${assignments.join(', ')} WHERE id = ?`, [...values, id]);
    };
    if (within) await write(within);
    else await this.store.transaction(write);
  }

  /** One run, or NotFound. */
  async get(id: string): Promise<RunRecord> {
    const row = await this.store.get('SELECT * FROM deploy_runs WHERE id = ?', [id]);
    if (!row) throw notFound(`Run ${id}`, 'List runs with: zavhoz run list');
    return toRecord(row);
  }

  /** Runs newest first, optionally of one project. */
  async list(options: { project?: string | undefined; limit: number; before?: string | undefined }): Promise<RunRecord[]> {
    // `before` (a run id) resumes a page after that run, in the same newest-first order.
    const after = options.before === undefined ? '' : ' AND (created_at, rowid) < (SELECT created_at, rowid FROM deploy_runs WHERE id = ?)';
    const resume = options.before === undefined ? [] : [options.before];
    const rows = options.project
      ? await this.store.all(`SELECT * FROM deploy_runs WHERE project = ?${after} ORDER BY created_at DESC, rowid DESC LIMIT ?`, [options.project, ...resume, options.limit])
      : await this.store.all(`SELECT * FROM deploy_runs WHERE 1 = 1${after} ORDER BY created_at DESC, rowid DESC LIMIT ?`, [...resume, options.limit]);
    return rows.map(toRecord);
  }

  /**
   * This daemon's runs in the given statuses, oldest first: on a team's shared store, another member's queued or
   * running runs are that member's daemon's to start, recover or interrupt.
   */
  async withStatus(statuses: readonly RunStatus[]): Promise<RunRecord[]> {
    const marks = statuses.map(() => '?').join(', ');
    const mine = this.owner === undefined ? '' : ' AND (daemon IS NULL OR daemon = ?)';
    const params = this.owner === undefined ? [...statuses] : [...statuses, this.owner];
    return (await this.store.all(`SELECT * FROM deploy_runs WHERE status IN (${marks})${mine} ORDER BY created_at, rowid`, params)).map(toRecord);
  }
}

/** The list form of a run. */
export function toSummary(run: RunRecord): RunSummary {
  return {
    id: run.id,
    project: run.project,
    kind: run.kind,
    status: run.status,
    repository: run.repository,
    ref: run.ref,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    exitCode: run.exitCode,
    error: run.error,
    allocation: run.allocation,
    client: run.client,
    requestId: run.requestId,
    releaseId: run.releaseId,
    rollbackTo: run.rollbackTo,
    ...(run.waitingFor !== undefined && run.status === 'queued' ? { waitingFor: run.waitingFor } : {}),
  };
}

/** The detail form of a run (drops the stored options and pid). */
export function toDetail(run: RunRecord): RunDetail {
  return {
    ...toSummary(run),
    steps: run.steps,
    plan: run.plan,
    folder: run.folder,
    timeoutSeconds: run.timeoutSeconds,
    attempts: run.attempts,
  };
}

function text(value: Row[string] | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

function json<T>(value: unknown, fallback: T): T {
  if (typeof value !== 'string') return fallback;
  return JSON.parse(value) as T;
}

function toRecord(row: Row): RunRecord {
  return {
    id: String(row.id),
    project: String(row.project),
    kind: row.kind === 'rollback' ? 'rollback' : 'deploy',
    releaseId: text(row.release_id),
    rollbackTo: text(row.rollback_to),
    status: String(row.status) as RunStatus,
    repository: String(row.repository),
    ref: String(row.ref),
    client: String(row.client),
    requestId: String(row.request_id),
    createdAt: String(row.created_at),
    startedAt: text(row.started_at),
    finishedAt: text(row.finished_at),
    ...(typeof row.waiting_for === 'string' ? { waitingFor: row.waiting_for } : {}),
    exitCode: row.exit_code === null || row.exit_code === undefined ? null : Number(row.exit_code),
    error: text(row.error),
    allocation: json<RunAllocation | null>(row.allocation, null),
    plan: json<EnvPlan | null>(row.env_plan, null),
    steps: json<RunStep[]>(row.steps, initialSteps()),
    options: json<RunOptions>(row.options, { projectFolder: '', bindings: {}, repoUrl: '', registry: DEFAULT_REGISTRY, registryUser: '' }),
    folder: String(row.folder),
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    attempts: Number(row.attempts ?? 0),
    timeoutSeconds: Number(row.timeout_seconds),
  };
}
