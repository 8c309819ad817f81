import type { AuditLog } from '../audit/auditLog.js';
import { notFound } from '../core/errors.js';
import type { ApprovedCommand } from '../protocol/agent.js';
import type { Database, DatabaseTransaction } from '../store/database.js';
import type { Requester } from './grants.js';
import { newAccessId } from './ids.js';

interface CommandRow {
  readonly [key: string]: string;
  readonly id: string;
  readonly project: string;
  readonly command: string;
  readonly approved_at: string;
  readonly approved_by: string;
}

/**
 * The command lines a human approved for agents to run with a project's secrets, compared exactly (the argument
 * array as JSON): a new program, a new argument or a different order is a new command line and needs a human again.
 */
export class ApprovedCommands {
  constructor(
    private readonly store: Database,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Remembers `command` for `project`; an already approved one is answered as it is. Audited. */
  async approve(project: string, command: readonly string[], by: Requester): Promise<ApprovedCommand> {
    // Looked up and inserted in one transaction: two approvals of one command line at once store it once.
    return this.store.transaction(async (tx) => {
      const existing = await this.find(project, command, tx);
      if (existing) return existing;
      const id = newAccessId('cmd');
      await tx.run('INSERT INTO agent_commands (id, project, command, approved_at, approved_by) VALUES (?, ?, ?, ?, ?)', [
        id,
        project,
        JSON.stringify(command),
        this.now().toISOString(),
        by.client,
      ]);
      // The command line is recorded as approved; the vault redacts any value from the audit view anyway.
      await this.audit.record({ client: by.client, requestId: by.requestId, action: 'agent-command-approve', subject: project, detail: { id, command: [...command] } }, tx);
      const stored = await this.find(project, command, tx);
      if (!stored) throw notFound(`Approved command ${id}`);
      return stored;
    });
  }

  /** The approved command line, if `command` is one for `project`. */
  async find(project: string, command: readonly string[], reader: Pick<DatabaseTransaction, 'get'> = this.store): Promise<ApprovedCommand | undefined> {
    const row = await reader.get<CommandRow>('SELECT * FROM agent_commands WHERE project = ? AND command = ?', [project, JSON.stringify(command)]);
    return row && toCommand(row);
  }

  /** Approved command lines, of one project or all, by project then time of approval. */
  async list(project?: string): Promise<ApprovedCommand[]> {
    const rows =
      project === undefined
        ? await this.store.all<CommandRow>('SELECT * FROM agent_commands ORDER BY project, approved_at, id')
        : await this.store.all<CommandRow>('SELECT * FROM agent_commands WHERE project = ? ORDER BY approved_at, id', [project]);
    return rows.map(toCommand);
  }

  /** Forgets one approved command line. Audited. */
  async revoke(id: string, by: Requester): Promise<ApprovedCommand> {
    return this.store.transaction(async (tx) => {
      const row = await tx.get<CommandRow>('SELECT * FROM agent_commands WHERE id = ?', [id]);
      if (!row) throw notFound(`Approved command ${id}`, 'List them with `zavhoz agent commands`.');
      await tx.run('DELETE FROM agent_commands WHERE id = ?', [id]);
      await this.audit.record({ client: by.client, requestId: by.requestId, action: 'agent-command-revoke', subject: row.project, detail: { id } }, tx);
      return toCommand(row);
    });
  }
}

function toCommand(row: CommandRow): ApprovedCommand {
  return { id: row.id, project: row.project, command: JSON.parse(row.command) as string[], approvedAt: row.approved_at, approvedBy: row.approved_by };
}
