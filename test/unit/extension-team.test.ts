/**
 * Team mode as the extension shows it (issue 19): the Daemon view's and status bar's team line from `team/status`,
 * a warning while the team database does not answer, and the member who started each run, from the audit log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { TeamStatusView } from '../../daemon/protocol/team.js';
import { actor, memberOfRun, runMembers, teamLook } from '../../extension/model/team.js';

const joined: NonNullable<TeamStatusView['joined']> = {
  host: 'db.acme.dev',
  port: 5432,
  database: 'zavhoz',
  user: 'zavhoz',
  password: 'secret',
  passwordSecret: 'sec_abcdefgh',
  member: 'alice',
  joinedAt: '2026-12-07T05:00:00Z',
};

function status(fields: Partial<TeamStatusView>): TeamStatusView {
  return { engine: 'postgres', joined, restartNeeded: false, reachable: true, schemaVersion: 31, latestSchema: 31, members: [], message: null, ...fields };
}

test('alone on the embedded store there is no team line; on a team the line names the database, the member and whether it answers', () => {
  assert.equal(teamLook(undefined), undefined);
  assert.equal(teamLook(status({ engine: 'embedded', joined: null, reachable: null, schemaVersion: null })), undefined);
  const look = teamLook(status({ members: [{ member: 'alice', version: '0.9.0', lastSeen: '2026-12-07T06:00:00Z' }, { member: 'bob', version: '0.9.0', lastSeen: '2026-12-07T05:59:00Z' }] }));
  assert.ok(look);
  assert.equal(look.line, 'team: db.acme.dev:5432/zavhoz, member alice, reachable');
  assert.equal(look.warning, false);
  assert.equal(look.badge, undefined);
  assert.ok(look.detail.includes('Members: alice (0.9.0), bob (0.9.0)'), look.detail.join('\n'));
  assert.ok(look.detail.includes('Team database: postgres://zavhoz@db.acme.dev:5432/zavhoz'));
  assert.equal(teamLook(status({ joined: { ...joined, host: '2001:db8::5' } }))?.line, 'team: [2001:db8::5]:5432/zavhoz, member alice, reachable');
});

test('an unreachable team database, or a join that waits for a restart, is a warning with what to do', () => {
  const away = teamLook(status({ reachable: false, message: 'The team database at db.acme.dev:5432 does not answer; requests fail until it is back.' }));
  assert.ok(away);
  assert.equal(away.line, 'team: db.acme.dev:5432/zavhoz, member alice, unreachable');
  assert.equal(away.warning, true);
  assert.equal(away.badge, 'team unreachable');
  assert.match(away.detail.at(-1) ?? '', /does not answer/);
  const waiting = teamLook(status({ engine: 'embedded', restartNeeded: true, reachable: null }));
  assert.ok(waiting);
  assert.equal(waiting.warning, true);
  assert.match(waiting.line, /joined, used from the next daemon start$/);
  assert.equal(waiting.badge, 'team: restart the daemon');
});

test('the words shown never carry the password handle, only where the database is and who you are', () => {
  const look = teamLook(status({}));
  assert.ok(look);
  for (const text of [look.line, ...look.detail]) assert.ok(!text.includes('sec_abcdefgh'), text);
});

test('runs are shown with the member who started them: from the run when the daemon sends it, else from the audit log', () => {
  const entry = (id: number, action: string, detail: AuditEntryView['detail']): AuditEntryView => ({ id, at: '2026-12-07T06:00:00Z', client: 'cli', requestId: `r${id}`, action, subject: 'shop', detail });
  const members = runMembers([
    entry(3, 'deploy', { run: 'run_bbbbbbbbbb', member: 'bob' }),
    entry(2, 'rollback', { run: 'run_aaaaaaaaaa', member: 'alice' }),
    entry(1, 'deploy', { run: 'run_cccccccccc' }),
  ]);
  assert.deepEqual([...members], [['run_bbbbbbbbbb', 'bob'], ['run_aaaaaaaaaa', 'alice']]);
  assert.equal(memberOfRun({ id: 'run_x', member: 'carol' }), 'carol');
  assert.equal(memberOfRun({ id: 'run_x' }), undefined);
  assert.equal(actor('vscode', 'bob'), 'bob via vscode');
  assert.equal(actor('vscode', undefined), 'vscode');
});
