import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { TeamStatusView } from '../../daemon/protocol/team.js';

/** How team mode looks in the Daemon view and the status bar; undefined when this daemon is not in a team. */
export interface TeamLook {
  /** One line: `team: db.acme.dev:5432/zavhoz, member alice, reachable`. */
  readonly line: string;
  /** The team store does not answer, or the daemon must restart to use it: the person should look. */
  readonly warning: boolean;
  /** A few words for the status bar while {@link warning} (`team unreachable`), else undefined. */
  readonly badge: string | undefined;
  /** Every detail, a line each: store, member, reachability, schema, members, what to do. Never a password. */
  readonly detail: readonly string[];
}

/** Where the team database is, as a person reads it (`db.acme.dev:5432/zavhoz`). */
function place(joined: NonNullable<TeamStatusView['joined']>): string {
  const host = joined.host.includes(':') ? `[${joined.host}]` : joined.host;
  return `${host}:${joined.port}/${joined.database}`;
}

/** The words of whether the team store answers, from what `team/status` says. */
function reachability(status: TeamStatusView): { word: string; warning: boolean; badge?: string } {
  if (status.restartNeeded) {
    return { word: status.engine === 'postgres' ? 'left, the daemon leaves it at its next start' : 'joined, used from the next daemon start', warning: true, badge: 'team: restart the daemon' };
  }
  if (status.reachable === true) return { word: 'reachable', warning: false };
  if (status.reachable === false) return { word: 'unreachable', warning: true, badge: 'team unreachable' };
  return { word: 'not checked', warning: false };
}

/** The look of a `team/status` answer; undefined when the daemon runs alone on its embedded store and joined nothing. */
export function teamLook(status: TeamStatusView | undefined): TeamLook | undefined {
  if (!status || (status.engine === 'embedded' && status.joined === null)) return undefined;
  const joined = status.joined;
  const reach = reachability(status);
  const where = joined ? place(joined) : 'PostgreSQL';
  const member = joined ? `member ${joined.member}` : 'no member name';
  const detail = [
    `Store: ${status.engine === 'postgres' ? 'the team database (PostgreSQL)' : 'embedded (this machine only)'}`,
    ...(joined ? [`Team database: postgres://${joined.user}@${place(joined)}`, `You are: ${joined.member}`] : []),
    `State: ${reach.word}`,
    ...(status.schemaVersion === null ? [] : [`Schema: ${status.schemaVersion} (this Zavhoz knows up to ${status.latestSchema})`]),
    ...(status.members.length > 0 ? [`Members: ${status.members.map((each) => `${each.member} (${each.version})`).join(', ')}`] : []),
    ...(status.message ? [status.message] : []),
  ];
  return { line: `team: ${where}, ${member}, ${reach.word}`, warning: reach.warning, badge: reach.badge, detail };
}

/** The members who started runs, by run id, from audit entries (`deploy` and `rollback` name their run and member). */
export function runMembers(entries: readonly AuditEntryView[]): ReadonlyMap<string, string> {
  const members = new Map<string, string>();
  for (const entry of entries) {
    const run = entry.detail['run'];
    const member = entry.detail['member'];
    if (typeof run === 'string' && typeof member === 'string' && !members.has(run)) members.set(run, member);
  }
  return members;
}

/** Who did something, for a view: the member on a team store (`alice via vscode`), else the client. */
export function actor(client: string, member: string | undefined): string {
  return member ? `${member} via ${client}` : client;
}

/** The member a run names, when the daemon sends one (an optional field of newer daemons on a team store). */
export function memberOfRun(run: object): string | undefined {
  const member = (run as { readonly member?: unknown }).member;
  return typeof member === 'string' && member !== '' ? member : undefined;
}
