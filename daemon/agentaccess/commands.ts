import type { AuditLog } from '../audit/auditLog.js';
import { notFound } from '../core/errors.js';
import type { ApprovedCommand } from '../protocol/agent.js';
import type { Store } from '../store/store.js';
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
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Remembers `command` for `project`; an already approved one is answered as it is. Audited. */
  approve(project: string, command: readonly string[], by: Requester): ApprovedCommand {
    const existing = this.find(project, command);
    if (existing) return existing;
    const id = newAccessId('cmd');
    this.store.transaction((tx) => {
      tx.run('INSERT INTO agent_commands (id, project, command, approved_at, approved_by) VALUES (?, ?, ?, ?, ?)', [
        id,
        project,
        JSON.stringify(command),
        this.now().toISOString(),
        by.client,
      ]);
      // The command line is recorded as approved; the vault redacts any value from the audit view anyway.
      this.audit.record({ client: by.client, requestId: by.requestId, action: 'agent-command-approve', subject: project, detail: { id, command: [...command] } }, tx);
    });
    const stored = this.find(project, command);
    if (!stored) throw notFound(`Approved command ${id}`);
    return stored;
  }

  /** The approved command line, if `command` is one for `project`. */
  find(project: string, command: readonly string[]): ApprovedCommand | undefined {
    const row = this.store.get<CommandRow>('SELECT * FROM agent_commands WHERE project = ? AND command = ?', [project, JSON.stringify(command)]);
    return row && toCommand(row);
  }

  /** Approved command lines, of one project or all, by project then time of approval. */
  list(project?: string): ApprovedCommand[] {
    const rows =
      project === undefined
        ? this.store.all<CommandRow>('SELECT * FROM agent_commands ORDER BY project, approved_at, id')
        : this.store.all<CommandRow>('SELECT * FROM agent_commands WHERE project = ? ORDER BY approved_at, id', [project]);
    return rows.map(toCommand);
  }

  /** Forgets one approved command line. Audited. */
  revoke(id: string, by: Requester): ApprovedCommand {
    const row = this.store.get<CommandRow>('SELECT * FROM agent_commands WHERE id = ?', [id]);
    if (!row) throw notFound(`Approved command ${id}`, 'List them with `zavhoz agent commands`.');
    this.store.transaction((tx) => {
      tx.run('DELETE FROM agent_commands WHERE id = ?', [id]);
      this.audit.record({ client: by.client, requestId: by.requestId, action: 'agent-command-revoke', subject: row.project, detail: { id } }, tx);
    });
    return toCommand(row);
  }
}

function toCommand(row: CommandRow): ApprovedCommand {
  return { id: row.id, project: row.project, command: JSON.parse(row.command) as string[], approvedAt: row.approved_at, approvedBy: row.approved_by };
}
