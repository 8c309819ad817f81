import crypto from 'node:crypto';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError, notFound } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import { APPROVAL_EXPIRY_MINUTES, type Approval, type ApprovalKind, ApprovalsDidChange, type ApprovalStatus } from '../protocol/approvals.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { RunDetail } from '../protocol/runs.js';
import type { Database, DatabaseRow as Row } from '../store/database.js';

/** The client name agent front ends connect with (agent/catalogue.ts's AGENT_CLIENT_NAME): never a person, whatever it sends. */
export const AGENT_CLIENT = 'agent';

/** Who asked or decided. */
export interface ApprovalCaller {
  readonly client: string;
  readonly requestId: string;
}

/** A request that may have to wait: what it is, and the parameters it starts with once approved (handles only). */
export interface GatedRequest {
  readonly kind: ApprovalKind;
  readonly project: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** One line for people: what will run. */
  readonly summary: string;
  readonly handles: readonly string[];
}

/** Starts what an approval let through; answers the run id (null for an undeploy, which has none). */
export type ApprovedStarter = (kind: ApprovalKind, params: Readonly<Record<string, unknown>>, caller: ApprovalCaller) => Promise<string | null>;

/**
 * Records an approved request whose start was refused as a failed run saying why (`reason`, a message for people);
 * answers the run's id.
 */
export type NotStartedRecorder = (kind: ApprovalKind, params: Readonly<Record<string, unknown>>, caller: ApprovalCaller, reason: string) => Promise<string>;

/** What the approvals are built from. */
export interface ApprovalOptions {
  readonly store: Database;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly log: ScopedLogger;
  /** The `protectedProjects` setting. */
  readonly protectedProjects: () => readonly string[];
  readonly start: ApprovedStarter;
  readonly notStarted: NotStartedRecorder;
  /** Told of every new request (the `approval.requested` notification). */
  readonly requested: (approval: Approval) => void;
  readonly now?: () => Date;
}

/**
 * The gate before a deploy, rollback or undeploy of a protected project starts: one no person confirmed is stored as
 * an approval request and refused for now (the caller is told the id and how to approve it); approving starts it as
 * it was asked, under the approver's name; rejecting or expiry lets nothing run. Every decision is audited.
 */
export class ApprovalService {
  constructor(private readonly options: ApprovalOptions) {}

  /** True when `project` matches a name or glob of `protectedProjects`. */
  isProtected(project: string): boolean {
    return this.options.protectedProjects().some((pattern) => globMatches(pattern, project));
  }

  /**
   * Lets the request through (returns) when its project is not protected or a person confirmed it; otherwise stores
   * it as awaiting approval and throws PreconditionFailed naming the approval and how to approve it.
   */
  async gate(request: GatedRequest, caller: ApprovalCaller, confirmed: boolean): Promise<void> {
    if (!this.isProtected(request.project)) return;
    if (confirmed && caller.client !== AGENT_CLIENT) return;
    const now = this.now();
    const approval: Approval = {
      id: newApprovalId(),
      kind: request.kind,
      project: request.project,
      status: 'awaiting_approval',
      requestedBy: caller.client,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + APPROVAL_EXPIRY_MINUTES * 60_000).toISOString(),
      summary: request.summary,
      handles: [...request.handles],
      decidedAt: null,
      decidedBy: null,
      runId: null,
    };
    await this.options.store.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO approvals (id, kind, project, status, requested_by, request_id, created_at, expires_at, summary, handles, params)
         VALUES (?, ?, ?, 'awaiting_approval', ?, ?, ?, ?, ?, ?, ?)`,
        [approval.id, approval.kind, approval.project, approval.requestedBy, caller.requestId, approval.createdAt, approval.expiresAt, approval.summary, JSON.stringify(approval.handles), JSON.stringify(request.params)],
      );
      await this.options.audit.record({ ...caller, action: 'approval-requested', subject: approval.project, detail: { approval: approval.id, kind: approval.kind } }, tx);
    });
    this.changed(approval);
    this.options.log.info('run waits for approval', { approval: approval.id, project: approval.project, kind: approval.kind, requestedBy: caller.client });
    try {
      this.options.requested(approval);
    } catch {
      // Telling people is best effort; the request is stored either way.
    }
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Project ${request.project} is protected: this ${request.kind} waits for a person's approval as ${approval.id} (until ${approval.expiresAt}). Approve it with \`zavhoz run approve ${approval.id}\` or in VS Code; reject it with \`zavhoz run reject ${approval.id}\`.`,
      { approval: approval.id, status: 'awaiting_approval' },
    );
  }

  /** Requests newest first: those awaiting a decision, or all. Expires the overdue ones first. */
  async list(all: boolean): Promise<Approval[]> {
    await this.expire();
    const rows = all
      ? await this.options.store.all('SELECT * FROM approvals ORDER BY created_at DESC, id DESC LIMIT 500')
      : await this.options.store.all("SELECT * FROM approvals WHERE status = 'awaiting_approval' ORDER BY created_at DESC, id DESC");
    return rows.map(toApproval);
  }

  /** The waiting requests (of `project`, or all) as runs in state `awaiting_approval`, newest first. */
  async waitingRuns(project?: string): Promise<RunDetail[]> {
    await this.expire();
    return (await this.options.store.all("SELECT * FROM approvals WHERE status = 'awaiting_approval' ORDER BY created_at DESC, id DESC"))
      .filter((row) => project === undefined || row.project === project)
      .map(rowRun);
  }

  /**
   * One request as a run: its run's id once approved and started (`runId`, for the caller to answer that run), else
   * the request itself as a run without steps (waiting, rejected or expired).
   */
  async asRun(id: string): Promise<{ runId: string } | { run: RunDetail }> {
    await this.expire();
    const row = await this.options.store.get('SELECT * FROM approvals WHERE id = ?', [id]);
    if (row === undefined) throw notFound(`Approval request ${id}`, 'See the waiting ones with `zavhoz run approvals`.');
    const runId = toApproval(row).runId;
    return runId === null ? { run: rowRun(row) } : { runId };
  }

  /**
   * Approves a waiting request and starts it under the approver's name. Agents cannot approve. One that cannot start
   * (its start is refused: a secret gone, a release archived…) becomes a failed run saying why, which ends the wait of
   * whoever follows the request, and the approver is told the reason; the request is decided, like any run that failed.
   */
  async approve(id: string, caller: ApprovalCaller): Promise<{ approval: Approval; runId: string | null }> {
    if (caller.client === AGENT_CLIENT) throw new ZavhozError(ErrorCodes.PreconditionFailed, 'An agent cannot approve a run; a person approves it with `zavhoz run approve` or in VS Code.');
    const { approval, params } = await this.decide(id, 'approved', caller);
    let runId: string | null;
    try {
      runId = await this.options.start(approval.kind, params, caller);
    } catch (error) {
      await this.notStarted(approval, params, caller, error);
      throw error;
    }
    if (runId !== null) {
      await this.options.store.transaction((tx) => tx.run('UPDATE approvals SET run_id = ? WHERE id = ?', [runId, id]));
      // Told again with the run, so a client waiting on the approval (`zavhoz deploy --wait`) can follow it.
      this.changed({ ...approval, runId });
    }
    return { approval: { ...approval, runId }, runId };
  }

  /** Records an approved request that could not start as a failed run, tied to the request, and tells who waits. */
  private async notStarted(approval: Approval, params: Readonly<Record<string, unknown>>, caller: ApprovalCaller, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    let runId: string | null = null;
    try {
      runId = await this.options.notStarted(approval.kind, params, caller, reason);
      await this.options.store.transaction((tx) => tx.run('UPDATE approvals SET run_id = ? WHERE id = ?', [runId, approval.id]));
    } catch (recordError) {
      // The request stays approved without a run, which reads as "could not start" (approvalRun) all the same.
      this.options.log.warn('an approved request that could not start was not recorded as a run', { approval: approval.id, error: String(recordError) });
    }
    await this.options.audit.record({ ...caller, action: 'approval-start-failed', subject: approval.project, detail: { approval: approval.id, ...(runId ? { run: runId } : {}) } });
    this.options.log.info('approved request could not start', { approval: approval.id, project: approval.project, kind: approval.kind, run: runId });
    if (runId !== null) this.changed({ ...approval, runId });
  }

  /** Rejects a waiting request: nothing runs. */
  async reject(id: string, caller: ApprovalCaller): Promise<{ approval: Approval }> {
    return { approval: (await this.decide(id, 'rejected', caller)).approval };
  }

  /** Marks overdue requests expired (audited); answers how many. */
  async expire(): Promise<number> {
    const now = this.now().toISOString();
    const overdue = await this.options.store.transaction(async (tx) => {
      const found = (await tx.all("SELECT * FROM approvals WHERE status = 'awaiting_approval' AND expires_at <= ?", [now])).map(toApproval);
      for (const approval of found) {
        await tx.run("UPDATE approvals SET status = 'expired', decided_at = ? WHERE id = ? AND status = 'awaiting_approval'", [now, approval.id]);
        await this.options.audit.record({ client: 'daemon', requestId: 'approvals', action: 'approval-expired', subject: approval.project, detail: { approval: approval.id, kind: approval.kind } }, tx);
      }
      return found;
    });
    for (const approval of overdue) this.changed({ ...approval, status: 'expired' });
    return overdue.length;
  }

  private async decide(
    id: string,
    status: Extract<ApprovalStatus, 'approved' | 'rejected'>,
    caller: ApprovalCaller,
  ): Promise<{ approval: Approval; params: Record<string, unknown> }> {
    await this.expire();
    const decidedAt = this.now().toISOString();
    // Read and decided in one transaction: two people approving at once start the run once; the second is told.
    const { current, params } = await this.options.store.transaction(async (tx) => {
      const row = await tx.get('SELECT * FROM approvals WHERE id = ?', [id]);
      if (row === undefined) throw notFound(`Approval request ${id}`, 'See the waiting ones with `zavhoz run approvals`.');
      const found = toApproval(row);
      if (found.status !== 'awaiting_approval') {
        throw new ZavhozError(ErrorCodes.Conflict, `Approval request ${id} is ${found.status} already${found.decidedBy ? ` (by ${found.decidedBy})` : ''}; ask for the ${found.kind} again if it should still run.`);
      }
      await tx.run("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ? WHERE id = ? AND status = 'awaiting_approval'", [status, decidedAt, caller.client, id]);
      await this.options.audit.record({ ...caller, action: status === 'approved' ? 'approval-approved' : 'approval-rejected', subject: found.project, detail: { approval: id, kind: found.kind, requestedBy: found.requestedBy } }, tx);
      return { current: found, params: JSON.parse(String(row.params)) as Record<string, unknown> };
    });
    const approval: Approval = { ...current, status, decidedAt, decidedBy: caller.client };
    this.changed(approval);
    return { approval, params };
  }

  private changed(approval: Approval): void {
    this.options.notifier.notify(ApprovalsDidChange, { id: approval.id, project: approval.project, status: approval.status, runId: approval.runId });
  }


  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

/** `*` matches any run of characters; everything else matches itself. */
export function globMatches(pattern: string, name: string): boolean {
  const expression = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return expression.test(name);
}

function newApprovalId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `apr_${[...crypto.randomBytes(10)].map((byte) => alphabet[byte % 32]).join('')}`;
}

/**
 * A request as a run: waiting is `awaiting_approval`; rejected and expired are `cancelled` with the reason; an approved
 * undeploy (which has no run) `succeeded`; an approved deploy or rollback without a run could not start (`failed`).
 */
export function approvalRun(approval: Approval, params: Readonly<Record<string, unknown>>, requestId: string): RunDetail {
  const text = (key: string): string => (typeof params[key] === 'string' ? params[key] : '');
  const approvedWithoutRun = approval.status === 'approved' && approval.kind !== 'undeploy';
  const status = approval.status === 'awaiting_approval' ? 'awaiting_approval' : approval.status === 'approved' ? (approvedWithoutRun ? 'failed' : 'succeeded') : 'cancelled';
  const error = approvedWithoutRun
    ? `Approved by ${approval.decidedBy ?? 'a person'}, but the ${approval.kind} could not start (the daemon log says why). Ask for it again.`
    : approval.status === 'rejected'
      ? `Rejected by ${approval.decidedBy ?? 'a person'} at ${approval.decidedAt ?? '?'}: nothing ran.`
      : approval.status === 'expired'
        ? `Nobody approved it before ${approval.expiresAt}: nothing ran. Ask for the ${approval.kind} again.`
        : null;
  return {
    id: approval.id,
    project: approval.project,
    kind: approval.kind,
    status,
    repository: text('repository'),
    ref: text('ref'),
    createdAt: approval.createdAt,
    startedAt: null,
    finishedAt: approval.decidedAt,
    exitCode: null,
    error,
    allocation: null,
    client: approval.requestedBy,
    requestId,
    releaseId: null,
    rollbackTo: approval.kind === 'rollback' ? text('to') || null : null,
    approval: {
      id: approval.id,
      status: approval.status,
      expiresAt: approval.expiresAt,
      summary: approval.summary,
      handles: approval.handles,
      decidedAt: approval.decidedAt,
      decidedBy: approval.decidedBy,
    },
    steps: [],
    plan: null,
    folder: text('folder'),
    timeoutSeconds: typeof params.timeoutSeconds === 'number' ? params.timeoutSeconds : 0,
    attempts: 0,
  };
}

function rowRun(row: Row): RunDetail {
  return approvalRun(toApproval(row), JSON.parse(String(row.params)) as Record<string, unknown>, String(row.request_id));
}

function toApproval(row: Row): Approval {
  const text = (value: Row[string] | undefined): string | null => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row.id),
    kind: String(row.kind) as ApprovalKind,
    project: String(row.project),
    status: String(row.status) as ApprovalStatus,
    requestedBy: String(row.requested_by),
    createdAt: String(row.created_at),
    expiresAt: String(row.expires_at),
    summary: String(row.summary),
    handles: JSON.parse(String(row.handles)) as string[],
    decidedAt: text(row.decided_at),
    decidedBy: text(row.decided_by),
    runId: text(row.run_id),
  };
}
