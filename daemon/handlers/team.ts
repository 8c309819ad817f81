import { TeamJoin, TeamLeave, TeamStatus } from '../protocol/team.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/**
 * Registers `team/*`: joining a team's PostgreSQL store, its status, leaving. The password arrives as a vault handle
 * or a password file path, never as a value; join and leave are audited (the audit log of the store in use).
 */
export function registerTeamHandlers(router: Router, services: Services): void {
  const { team, audit } = services;
  router.handle(TeamJoin, async (params, context) => {
    const use = { client: context.client.name, requestId: context.requestId, action: 'team-join', detail: { host: params.host, database: params.database } };
    const status = await team.join(params, use);
    await audit.record({
      client: context.client.name,
      requestId: context.requestId,
      action: 'team-join',
      subject: `team:${params.host}:${params.port}/${params.database}`,
      detail: { user: params.user, member: status.joined?.member ?? '', password: status.joined?.password ?? 'none', copyLocal: status.copied !== undefined },
    });
    return status;
  });
  router.handle(TeamStatus, () => team.status());
  router.handle(TeamLeave, async (_params, context) => {
    const result = await team.leave();
    const joined = result.left ? 'left' : 'not-joined';
    await audit.record({ client: context.client.name, requestId: context.requestId, action: 'team-leave', subject: 'team', detail: { result: joined } });
    return result;
  });
}
