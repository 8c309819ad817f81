import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';

/**
 * Approvals: a deploy, rollback or undeploy of a project in the `protectedProjects` setting that no person confirmed
 * when it was asked for (an agent's, the rotation timer's, or the CLI's without `--yes`) waits as `awaiting_approval`
 * until someone approves it (then it starts, as it was asked) or rejects it; unanswered, it expires.
 */

/** Where an approval request stands. */
export const APPROVAL_STATUSES = ['awaiting_approval', 'approved', 'rejected', 'expired'] as const;
/** One of {@link APPROVAL_STATUSES}. */
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** What waits for approval. */
export const APPROVAL_KINDS = ['deploy', 'rollback', 'undeploy'] as const;
/** One of {@link APPROVAL_KINDS}. */
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

/** Minutes an approval request waits before it expires. */
export const APPROVAL_EXPIRY_MINUTES = 30;

/** Approval ids: `apr_` and 10 lowercase base32 characters (like run ids). */
export const approvalId = lazySchema(() => z.string().regex(/^apr_[a-z2-7]{10}$/, 'an approval id like apr_7f3k9x2mab (see zavhoz run approvals)'));

/**
 * Sent with a deploy, rollback or undeploy: a person confirmed it at that moment (VS Code after its dialog, the CLI
 * with `--yes` or a yes at its prompt). Ignored for agents. A protected project's run without it waits for approval.
 */
export const confirmedByPerson = lazySchema(() => z.boolean().default(false));

/** One approval request: what was asked (names and handles only), by whom, and what became of it. */
export interface Approval {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly project: string;
  readonly status: ApprovalStatus;
  /** Who asked: `agent`, `cli`, `vscode`, `daemon` (the rotation). */
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** What will run: the ref and repository of a deploy, the release of a rollback, keep-data of an undeploy. */
  readonly summary: string;
  /** Vault handles the deploy's request names (its plan binds more at run time). */
  readonly handles: readonly string[];
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  /** The run an approved deploy or rollback started. */
  readonly runId: string | null;
}

/** Lists approval requests, newest first: those awaiting a decision unless `all`. */
export const ApprovalsList = defineRequest('approvals/list', () => z.strictObject({ all: z.boolean().default(false) }), result<{ readonly approvals: readonly Approval[] }>());

/** Approves a waiting request: it starts now, as it was asked, under the approver's name. Agents cannot approve. */
export const RunsApprove = defineRequest('runs/approve', () => z.strictObject({ id: approvalId }), result<{ readonly approval: Approval; readonly runId: string | null }>());

/** Rejects a waiting request: nothing runs. */
export const RunsReject = defineRequest('runs/reject', () => z.strictObject({ id: approvalId }), result<{ readonly approval: Approval }>());

/**
 * Sent to every client when an approval request is made, decided or expires, and once more when an approved deploy or
 * rollback has its run (`runId`).
 */
export const ApprovalsDidChange = defineNotification(
  'approvals/didChange',
  () => z.strictObject({ id: z.string(), project: z.string(), status: z.enum(APPROVAL_STATUSES), runId: z.string().nullable().optional() }),
);
