import {
  AgentCommandApprove,
  AgentCommandRevoke,
  AgentCommandsList,
  AgentExec,
  AgentGrantCheck,
  AgentGrantCreate,
  AgentGrantRevoke,
  AgentGrantsList,
  AgentToolCalled,
} from '../protocol/agent.js';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { RequestContext, Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** An AbortSignal that fires when the client cancels the request. */
function cancelSignal(context: RequestContext): AbortSignal {
  const controller = new AbortController();
  const cancel = (): void => controller.abort(new ZavhozError(ErrorCodes.RequestCancelled, 'The request was cancelled.'));
  if (context.cancellation.isCancellationRequested) cancel();
  else context.cancellation.onCancellationRequested(cancel);
  return controller.signal;
}

/**
 * Registers `agent/*`: the audit record of each tool call, agent grants, approved command lines and their runs. The front ends
 * already refuse values, but the daemon masks every value the vault holds in what it writes anyway: the audit log
 * is kept for years and must never hold one.
 */
export function registerAgentHandlers(router: Router, services: Services): void {
  router.handle(AgentToolCalled, async (params, context) => {
    const { redactor } = services;
    await services.audit.record({
      client: context.client.name,
      requestId: context.requestId,
      action: 'agent-tool',
      subject: params.tool,
      detail: {
        outcome: params.outcome,
        arguments: params.arguments.map((line) => redactor.redact(line)),
        ...(params.reason === undefined ? {} : { reason: redactor.redact(params.reason) }),
      },
    });
    context.log.info('agent tool called', { tool: params.tool, outcome: params.outcome });
    return { recorded: true as const };
  });

  const { grants, commands } = services.agentAccess;
  const by = (context: { readonly client: { readonly name: string }; readonly requestId: string }): { client: string; requestId: string } => ({
    client: context.client.name,
    requestId: context.requestId,
  });
  router.handle(AgentGrantCreate, (params, context) => grants.grant(params, by(context)));
  router.handle(AgentGrantsList, async (params) => ({ grants: await grants.list(params) }));
  router.handle(AgentGrantRevoke, async (params, context) => ({ revoked: await grants.revoke(params, by(context)) }));
  router.handle(AgentGrantCheck, (params) => grants.check(params.project, params.action));
  router.handle(AgentCommandApprove, (params, context) =>
    commands.approve(params.project, params.command, {
      requestId: context.requestId,
      client: params.confirmedThrough === undefined ? context.client.name : `${context.client.name} (${params.confirmedThrough})`,
    }),
  );
  router.handle(AgentCommandsList, async (params) => ({ commands: await commands.list(params.project) }));
  router.handle(AgentCommandRevoke, async (params, context) => ({ revoked: (await commands.revoke(params.id, by(context))).id }));
  router.handle(AgentExec, (params, context) => services.agentAccess.runner.run(params, by(context), cancelSignal(context)));
}
