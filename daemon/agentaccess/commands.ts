import type { AuditLog } from '../audit/auditLog.js';
import { invalidInput, notFound } from '../core/errors.js';
import type { TextRedactor } from '../core/redactor.js';
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
    /** The daemon's: tells a command line that holds a vault value. */
    private readonly redactor: TextRedactor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Remembers `command` for `project`; an already approved one is answered as it is. Audited. A command line that
   * holds a vault value is refused: it would be stored and listed with it, and the command's argv would show it to
   * anyone running `ps`; the command gets the project's secrets in its environment instead.
   */
  async approve(project: string, command: readonly string[], by: Requester): Promise<ApprovedCommand> {
    const text = JSON.stringify(command);
    if (this.redactor.redact(text) !== text) {
      throw invalidInput(
        `This command line holds the value of a secret, so it was not approved: it would be kept and listed with it, and show in the command's arguments. Write the variable instead: the command gets each secret of ${project} in its environment under its own name ($NAME, e.g. sh -c 'curl -H "Authorization: Bearer $API_TOKEN" …').`,
      );
    }
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
