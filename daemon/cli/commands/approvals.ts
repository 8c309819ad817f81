import { type Approval, approvalId, ApprovalsList, RunsApprove, RunsReject } from '../../protocol/approvals.js';
import { call, CliError, type Command } from '../command.js';

function describe(approval: Approval): string {
  const decided = approval.decidedAt ? `, ${approval.status} ${approval.decidedBy ? `by ${approval.decidedBy} ` : ''}at ${approval.decidedAt}` : `, expires ${approval.expiresAt}`;
  const lines = [`${approval.id}  ${approval.status}  ${approval.kind} of ${approval.project}, asked by ${approval.requestedBy} at ${approval.createdAt}${decided}`, `  ${approval.summary}`];
  if (approval.handles.length > 0) lines.push(`  secrets: ${approval.handles.join(', ')}`);
  if (approval.runId) lines.push(`  run: ${approval.runId}`);
  return lines.join('\n');
}

function idOf(positionals: readonly string[]): string {
  const id = positionals[0] ?? '';
  if (!approvalId.safeParse(id).success) throw new CliError(`"${id}" is not an approval id like apr_7f3k9x2mab; see them with: zavhoz run approvals`, 2);
  return id;
}

/** `zavhoz run approvals|approve|reject`: the runs of protected projects that wait for a person. */
export const approvalCommands: Command[] = [
  {
    path: ['run', 'approvals'],
    usage: 'zavhoz run approvals [--all] [--json]',
    summary: 'List the deploys, rollbacks and undeploys of protected projects that wait for approval (--all: decided ones too).',
    examples: ['zavhoz run approvals', 'zavhoz run approvals --all --json'],
    positionals: [0, 0],
    options: { all: { type: 'boolean', description: 'Also list approved, rejected and expired requests.' } },
    async run(context) {
      const { approvals } = await call(context, ApprovalsList, { all: context.flags.all === true });
      context.print(approvals, () => (approvals.length === 0 ? 'Nothing waits for approval.' : approvals.map(describe).join('\n')));
    },
  },
  {
    path: ['run', 'approve'],
    usage: 'zavhoz run approve ID [--json]',
    summary: 'Approve a waiting deploy, rollback or undeploy of a protected project: it starts now, as it was asked.',
    examples: ['zavhoz run approve apr_7f3k9x2mab'],
    positionals: [1, 1],
    async run(context) {
      const result = await call(context, RunsApprove, { id: idOf(context.positionals) });
      context.print(result, () =>
        result.runId ? `Approved; run ${result.runId} started. Follow it with: zavhoz run log ${result.runId} --follow` : `Approved; the ${result.approval.kind} of ${result.approval.project} started.`,
      );
    },
  },
  {
    path: ['run', 'reject'],
    usage: 'zavhoz run reject ID [--json]',
    summary: 'Reject a waiting deploy, rollback or undeploy of a protected project: nothing runs.',
    examples: ['zavhoz run reject apr_7f3k9x2mab'],
    positionals: [1, 1],
    async run(context) {
      const result = await call(context, RunsReject, { id: idOf(context.positionals) });
      context.print(result, () => `Rejected; the ${result.approval.kind} of ${result.approval.project} will not run.`);
    },
  },
];
