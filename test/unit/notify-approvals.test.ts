import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deployGate, undeployGate } from '../../daemon/approvals/requests.js';
import { AGENT_CLIENT, ApprovalService, globMatches } from '../../daemon/approvals/service.js';
import { AGENT_CLIENT_NAME } from '../../daemon/agent/catalogue.js';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import type { Approval } from '../../daemon/protocol/approvals.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const PERSON = { client: 'cli', requestId: 'r-person' };
const AGENT = { client: 'agent', requestId: 'r-agent' };

/** The approval id a refused request names, from the error's data. */
async function heldAs(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof ZavhozError);
    assert.equal(error.code, ErrorCodes.PreconditionFailed);
    assert.match(error.message, /waits for a person's approval as apr_[a-z2-7]{10}.*zavhoz run approve/);
    return String(error.data?.approval);
  }
  assert.fail('the request was let through');
}

describe('approvals of protected projects', () => {
  let folder: string;
  let store: Store;
  let now: Date;
  const started: { kind: string; params: Readonly<Record<string, unknown>>; client: string }[] = [];
  const requested: Approval[] = [];
  const announced: string[] = [];
  const notStarted: { kind: string; client: string; reason: string }[] = [];
  /** Why the next start is refused, as the deploy service refuses one (e.g. a secret deleted while it waited). */
  let refuseStart: string | undefined;
  let approvals: ApprovalService;
  let audit: AuditLog;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-approvals-'));
    store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
    audit = new AuditLog(EmbeddedDatabase.of(store));
    now = new Date('2026-12-06T12:00:00Z');
    approvals = new ApprovalService({
      store: EmbeddedDatabase.of(store),
      audit,
      notifier: {
        notify: (_definition, params) => {
          const change = params as { id: string; status: string; runId?: string | null };
          announced.push(`${change.id}:${change.status}`);
          if (change.runId) announced.push(`${change.id}:${change.status}:${change.runId}`);
        },
      },
      log: new Logger({ file: path.join(folder, 'daemon.log'), redactor: new Redactor() }).child({ component: 'approvals' }),
      protectedProjects: () => ['shop', 'prod-*'],
      async start(kind, params, caller) {
        if (refuseStart !== undefined) throw new ZavhozError(ErrorCodes.PreconditionFailed, refuseStart);
        started.push({ kind, params, client: caller.client });
        return kind === 'undeploy' ? null : 'run_aaaaaaaaaa';
      },
      async notStarted(kind, _params, caller, reason) {
        notStarted.push({ kind, client: caller.client, reason });
        return 'run_nnnnnnnnnn';
      },
      requested: (approval) => requested.push(approval),
      now: () => now,
    });
  });

  after(() => {
    store.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const deploy = (project: string) =>
    deployGate({ folder: '/src/shop', project, repository: 'acme/shop', ref: 'main', bindings: { API_TOKEN: 'sec_aaaaaaaa' }, registry: 'ghcr.io', timeoutSeconds: 600, healthPaths: {}, noRollback: false, gitToken: 'sec_bbbbbbbb' });

  test('names and globs protect; other projects and confirmed requests of people pass', async () => {
    assert.ok(globMatches('prod-*', 'prod-api'));
    assert.ok(!globMatches('prod-*', 'staging-api'));
    assert.ok(!globMatches('shop', 'shop2'));
    await approvals.gate(deploy('blog'), AGENT, false);
    await approvals.gate(deploy('shop'), PERSON, true);
    await approvals.gate(deploy('prod-api'), { client: 'vscode', requestId: 'r' }, true);
    assert.equal((await approvals.list(false)).length, 0);
  });

  test("an agent's deploy waits, even when it says it was confirmed; a person approves it and it starts as asked", async () => {
    assert.equal(AGENT_CLIENT, AGENT_CLIENT_NAME, 'the gate knows the agents by the name they connect with');
    const id = await heldAs(() => approvals.gate(deploy('shop'), AGENT, true));
    assert.deepEqual((await approvals.list(false)).map((approval) => [approval.id, approval.status, approval.requestedBy]), [[id, 'awaiting_approval', 'agent']]);
    assert.deepEqual(requested.at(-1)?.handles, ['sec_aaaaaaaa', 'sec_bbbbbbbb']);
    await assert.rejects(() => approvals.approve(id, AGENT), /An agent cannot approve/);
    const result = await approvals.approve(id, PERSON);
    assert.equal(result.runId, 'run_aaaaaaaaaa');
    assert.deepEqual(started.at(-1), { kind: 'deploy', params: deploy('shop').params, client: 'cli' });
    await assert.rejects(() => approvals.approve(id, PERSON), /approved already \(by cli\)/);
    assert.ok(announced.includes(`${id}:awaiting_approval`) && announced.includes(`${id}:approved`));
  });

  test('a waiting request is a run awaiting approval: who asked, when, what; once approved its id answers the run it became', async () => {
    const id = await heldAs(() => approvals.gate(deploy('prod-api'), { client: 'cli', requestId: 'r-wait' }, false));
    const [waiting, ...others] = (await approvals.waitingRuns('prod-api'));
    assert.equal(others.length, 0);
    assert.deepEqual(
      [waiting?.id, waiting?.status, waiting?.kind, waiting?.client, waiting?.requestId, waiting?.repository, waiting?.ref, waiting?.createdAt],
      [id, 'awaiting_approval', 'deploy', 'cli', 'r-wait', 'acme/shop', 'main', now.toISOString()],
    );
    assert.deepEqual(waiting?.approval?.handles, ['sec_aaaaaaaa', 'sec_bbbbbbbb']);
    assert.deepEqual((await approvals.waitingRuns('blog')), [], 'other projects show none');
    assert.deepEqual(await approvals.asRun(id), { run: waiting });
    await approvals.approve(id, PERSON);
    assert.deepEqual((await approvals.waitingRuns()), []);
    assert.deepEqual(await approvals.asRun(id), { runId: 'run_aaaaaaaaaa' }, 'an approved request answers its run');
    assert.ok(announced.includes(`${id}:approved:run_aaaaaaaaaa`), 'the run is announced with the approval');
  });

  test('an approved request that cannot start becomes a failed run saying why; the approver is told, and it is decided', async () => {
    const id = await heldAs(() => approvals.gate(deploy('prod-web'), AGENT, false));
    refuseStart = 'API_TOKEN is bound to sec_aaaaaaaa, which no longer exists. Bind another secret, then deploy again.';
    try {
      await assert.rejects(() => approvals.approve(id, PERSON), /sec_aaaaaaaa, which no longer exists/);
    } finally {
      refuseStart = undefined;
    }
    assert.deepEqual(notStarted.at(-1), { kind: 'deploy', client: 'cli', reason: 'API_TOKEN is bound to sec_aaaaaaaa, which no longer exists. Bind another secret, then deploy again.' });
    assert.deepEqual(await approvals.asRun(id), { runId: 'run_nnnnnnnnnn' }, 'the request answers the failed run, where the reason is');
    assert.ok(announced.includes(`${id}:approved:run_nnnnnnnnnn`), 'whoever waits on the request is told of the run');
    assert.deepEqual(await approvals.waitingRuns('prod-web'), [], 'it no longer waits');
    await assert.rejects(() => approvals.approve(id, PERSON), /approved already \(by cli\); ask for the deploy again/);
    const entry = (await audit.list({ limit: 50 })).find((candidate) => candidate.action === 'approval-start-failed');
    assert.deepEqual(entry?.detail, { approval: id, run: 'run_nnnnnnnnnn' });
  });

  test('a rejected or expired request never starts; every decision is audited', async () => {
    const before = started.length;
    const rejected = await heldAs(() => approvals.gate(undeployGate({ project: 'prod-db', keepData: true }), { client: 'daemon', requestId: 'rotation' }, false));
    await approvals.reject(rejected, PERSON);
    const expiring = await heldAs(() => approvals.gate(deploy('shop'), { client: 'cli', requestId: 'r3' }, false));
    now = new Date(now.getTime() + 31 * 60_000);
    assert.deepEqual(await approvals.list(false), []);
    await assert.rejects(() => approvals.approve(expiring, PERSON), /is expired already/);
    assert.equal(started.length, before, 'nothing started');
    const statuses = (await approvals.list(true)).map((approval) => `${approval.id}:${approval.status}`);
    assert.ok(statuses.includes(`${rejected}:rejected`) && statuses.includes(`${expiring}:expired`));
    // As runs, both are cancelled with the reason; nothing of theirs ran.
    const rejectedRun = await approvals.asRun(rejected);
    assert.ok('run' in rejectedRun && rejectedRun.run.status === 'cancelled' && /Rejected by cli/.test(rejectedRun.run.error ?? ''));
    const expiredRun = await approvals.asRun(expiring);
    assert.ok('run' in expiredRun && expiredRun.run.status === 'cancelled' && /Nobody approved it/.test(expiredRun.run.error ?? ''));
    const actions = (await audit.list({ limit: 50 })).map((entry) => entry.action);
    for (const action of ['approval-requested', 'approval-approved', 'approval-rejected', 'approval-expired']) assert.ok(actions.includes(action), action);
  });
});
