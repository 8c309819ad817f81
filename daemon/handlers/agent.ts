import { AgentToolCalled } from '../protocol/agent.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/**
 * Registers `agent/toolCalled`. The front ends already refuse values, but the daemon masks every value the vault
 * holds in what it writes anyway: the audit log is kept for years and must never hold one.
 */
export function registerAgentHandlers(router: Router, services: Services): void {
  router.handle(AgentToolCalled, (params, context) => {
    const { redactor } = services;
    services.audit.record({
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
}
