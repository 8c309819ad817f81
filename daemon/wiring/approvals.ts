import { ApprovalService } from '../approvals/service.js';
import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import type { DeployRequest } from '../deploy/deployRequest.js';
import type { DeployService, NotStartedRun } from '../deploy/service.js';
import type { ApprovalKind } from '../protocol/approvals.js';
import type { NotifyService } from '../notify/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { UndeployService } from '../undeploy/service.js';
import type { Foundation } from './services.js';

/** What the approvals are built from, besides the foundation. */
export interface ApprovalNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly deploy: DeployService;
  readonly undeploy: UndeployService;
  readonly notify: NotifyService;
}

/** What a failed run of an approved request that could not start shows of it: names only, from its start params. */
function notStartedRun(kind: ApprovalKind, params: Readonly<Record<string, unknown>>): NotStartedRun {
  const text = (key: string): string => (typeof params[key] === 'string' ? params[key] : '');
  return {
    kind,
    project: text('project'),
    repository: text('repository'),
    ref: text('ref'),
    rollbackTo: text('to') || undefined,
    folder: text('folder'),
    timeoutSeconds: typeof params.timeoutSeconds === 'number' ? params.timeoutSeconds : 0,
  };
}

/** How often overdue approval requests are marked expired. */
const EXPIRY_CHECK_MS = 30_000;

/**
 * Builds the approval gate: an approved request starts its deploy, rollback or undeploy under the approver's name; a
 * new request raises `approval.requested`; overdue ones expire every 30 s (and whenever the list is read).
 */
export function wireApprovals(foundation: Foundation, needs: ApprovalNeeds): ApprovalService {
  const { store, server, logger, lifecycle } = foundation;
  const log = logger.child({ component: 'approvals' });
  const approvals = new ApprovalService({
    store,
    audit: needs.audit,
    notifier: server,
    log,
    protectedProjects: () => needs.settings.get('protectedProjects'),
    async start(kind, params, caller) {
      if (kind === 'deploy') return (await needs.deploy.start(params as unknown as DeployRequest, caller)).id;
      if (kind === 'rollback') return (await needs.deploy.rollback(params as { project: string; to?: string }, caller)).id;
      const { project, keepData } = params as { project: string; keepData: boolean };
      const { done } = await needs.undeploy.start(project, keepData, caller);
      done.catch((error: unknown) => log.warn('approved undeploy failed', { project, error: describeError(error) }));
      return null;
    },
    notStarted: (kind, params, caller, reason) => needs.deploy.recordNotStarted(notStartedRun(kind, params), caller, reason),
    requested(approval) {
      void needs.notify.raise({
        kind: 'approval.requested',
        subject: approval.project,
        title: `Approval needed: ${approval.kind} of ${approval.project}`,
        text: `${approval.requestedBy} asked to ${approval.summary} (project ${approval.project}${approval.handles.length > 0 ? `, secrets ${approval.handles.join(', ')}` : ''}). Approve with: zavhoz run approve ${approval.id} — or reject with: zavhoz run reject ${approval.id}. It expires at ${approval.expiresAt}.`,
        detail: { approval: approval.id, project: approval.project, kind: approval.kind, requestedBy: approval.requestedBy, expiresAt: approval.expiresAt },
      });
    },
  });
  const timer = setInterval(() => {
    approvals.expire().catch((error: unknown) => log.warn('approval expiry failed', { error: describeError(error) }));
  }, EXPIRY_CHECK_MS);
  timer.unref();
  lifecycle.onShutdown(() => clearInterval(timer));
  return approvals;
}
