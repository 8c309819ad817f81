import type { AuditLog } from '../audit/auditLog.js';
import { notFound } from '../core/errors.js';
import { type AgentGrant, type AgentGrantAction, AGENT_GRANT_ACTIONS, SETTING_GRANT_ACTIONS } from '../protocol/agent.js';
import type { SettingsService } from '../settings/settings.js';
import type { Database, DatabaseTransaction } from '../store/database.js';
import { newAccessId } from './ids.js';

/** Who asks, for the audit log. */
export interface Requester {
  readonly client: string;
  readonly requestId: string;
}

/** What `check` answers: allowed (by which grant), or refused with the expired grant that would have allowed it, if any. */
export type GrantVerdict =
  | { readonly allowed: true; readonly grant: string }
  | { readonly allowed: false; readonly expired: AgentGrant | null; readonly settingProjects: readonly string[] };

interface GrantRow {
  readonly [key: string]: string | null;
  readonly id: string;
  readonly project: string;
  readonly actions: string;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly created_by: string;
}

/**
 * Time-limited agent grants: what agents may do to a project without a human confirming each call (an MCP client
 * cannot ask one). An entry of the `agentDeployProjects` setting counts as a grant of deploy and rollback without
 * expiry, so the older setting keeps working; a revoke by project removes it from the setting too.
 */
export class AgentGrants {
  constructor(
    private readonly store: Database,
    private readonly settings: SettingsService,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Grants `allow` on `project` for `ttlSeconds`; recorded in the audit log with the grant. */
  async grant(request: { readonly project: string; readonly allow: readonly AgentGrantAction[]; readonly ttlSeconds: number }, by: Requester): Promise<AgentGrant> {
    const id = newAccessId('grt');
    const now = this.now();
    const allow = AGENT_GRANT_ACTIONS.filter((action) => request.allow.includes(action));
    const expiresAt = new Date(now.getTime() + request.ttlSeconds * 1000).toISOString();
    return this.store.transaction(async (tx) => {
      await tx.run('INSERT INTO agent_grants (id, project, actions, created_at, expires_at, revoked_at, created_by) VALUES (?, ?, ?, ?, ?, NULL, ?)', [
        id,
        request.project,
        JSON.stringify(allow),
        now.toISOString(),
        expiresAt,
        by.client,
      ]);
      await this.audit.record(
        { client: by.client, requestId: by.requestId, action: 'agent-grant', subject: request.project, detail: { grant: id, allow, expiresAt } },
        tx,
      );
      return this.get(id, tx);
    });
  }

  /** Grants (active ones, or all with `all`), newest first, then the `agentDeployProjects` entries. */
  async list(filter: { readonly project?: string | undefined; readonly all?: boolean } = {}, reader: Pick<DatabaseTransaction, 'all'> = this.store): Promise<AgentGrant[]> {
    const rows =
      filter.project === undefined
        ? await reader.all<GrantRow>('SELECT * FROM agent_grants ORDER BY created_at DESC, id')
        : await reader.all<GrantRow>('SELECT * FROM agent_grants WHERE project = ? ORDER BY created_at DESC, id', [filter.project]);
    const grants = rows.map((row) => this.toGrant(row)).filter((grant) => filter.all === true || grant.status === 'active');
    const fromSetting = this.settingProjects()
      .filter((project) => filter.project === undefined || project === filter.project)
      .map((project) => settingGrant(project));
    return [...grants, ...fromSetting];
  }

  /** Ends one grant, or every grant of a project (and its `agentDeployProjects` entry). Answers the ids ended. */
  async revoke(target: { readonly id: string } | { readonly project: string }, by: Requester): Promise<string[]> {
    const at = this.now().toISOString();
    if ('id' in target) {
      return this.store.transaction(async (tx) => {
        const grant = await this.get(target.id, tx);
        if (grant.status === 'revoked') return [];
        await tx.run('UPDATE agent_grants SET revoked_at = ? WHERE id = ?', [at, grant.id]);
        await this.audit.record({ client: by.client, requestId: by.requestId, action: 'agent-revoke', subject: grant.project, detail: { grant: grant.id } }, tx);
        return [grant.id];
      });
    }
    const inSetting = this.settingProjects().includes(target.project);
    const live = await this.store.transaction(async (tx) => {
      const ended = (await this.list({ project: target.project }, tx)).filter((grant) => grant.source === 'grant').map((grant) => grant.id);
      await tx.run('UPDATE agent_grants SET revoked_at = ? WHERE project = ? AND revoked_at IS NULL', [at, target.project]);
      await this.audit.record(
        {
          client: by.client,
          requestId: by.requestId,
          action: 'agent-revoke',
          subject: target.project,
          detail: { grants: ended, agentDeployProjects: inSetting },
        },
        tx,
      );
      return ended;
    });
    if (inSetting) {
      await this.settings.set(
        'agentDeployProjects',
        this.settingProjects().filter((project) => project !== target.project),
      );
    }
    return [...live, ...(inSetting ? [settingGrant(target.project).id] : [])];
  }

  /** Whether agents may do `action` to `project` now; if not, the grant that expired (the newest), so the refusal can say how to renew it. */
  async check(project: string, action: AgentGrantAction): Promise<GrantVerdict> {
    const settingProjects = this.settingProjects();
    if (SETTING_GRANT_ACTIONS.includes(action) && settingProjects.includes(project)) return { allowed: true, grant: settingGrant(project).id };
    const grants = (await this.list({ project, all: true })).filter((grant) => grant.source === 'grant' && grant.allow.includes(action));
    const active = grants.find((grant) => grant.status === 'active');
    if (active) return { allowed: true, grant: active.id };
    return { allowed: false, expired: grants.find((grant) => grant.status === 'expired') ?? null, settingProjects };
  }

  private async get(id: string, reader: Pick<DatabaseTransaction, 'get'>): Promise<AgentGrant> {
    const row = await reader.get<GrantRow>('SELECT * FROM agent_grants WHERE id = ?', [id]);
    if (!row) throw notFound(`Agent grant ${id}`, 'List grants with `zavhoz agent grants --all`.');
    return this.toGrant(row);
  }

  private settingProjects(): string[] {
    return this.settings.get('agentDeployProjects');
  }

  private toGrant(row: GrantRow): AgentGrant {
    const expired = row.expires_at !== null && row.expires_at <= this.now().toISOString();
    return {
      id: row.id,
      project: row.project,
      allow: (JSON.parse(row.actions) as AgentGrantAction[]).filter((action) => AGENT_GRANT_ACTIONS.includes(action)),
      source: 'grant',
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      status: row.revoked_at !== null ? 'revoked' : expired ? 'expired' : 'active',
      createdBy: row.created_by,
    };
  }
}

function settingGrant(project: string): AgentGrant {
  return {
    id: `setting:${project}`,
    project,
    allow: SETTING_GRANT_ACTIONS,
    source: 'setting',
    createdAt: null,
    expiresAt: null,
    status: 'active',
    createdBy: null,
  };
}
