/**
 * Approvals in a real VS Code (code-server + Chromium): a deploy of a protected project started from the CLI without
 * --yes waits as a run in state awaiting_approval; the workbench shows it in the Deploy Runs view and asks with a
 * notification; Approve there starts the run under `vscode`, and it deploys to the test server. A second request is
 * rejected from the Runs view's inline action and never runs. Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { AWAITING_APPROVAL_EXIT_CODE } from '../../daemon/cli/awaitApproval.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import { REPOSITORY, startDeployTarget, type DeployTarget } from './deployTarget.js';
import { sessionSteps, startSession, type E2eSession } from './harness.js';

/** Polls `check` until it answers (work with no UI event to wait for), failing after `timeoutMs`. */
async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

describe('approvals in VS Code (code-server + Chromium)', () => {
  let session: E2eSession;
  let target: DeployTarget;
  const project = `e2e-guarded-${randomBytes(3).toString('hex')}`;

  const step = sessionSteps(() => session, 'approvals-failed-');

  const cliJson = async <T>(args: readonly string[], input?: string): Promise<T> => {
    const result = await session.cli([...args, '--json'], input);
    assert.equal(result.code, 0, `zavhoz ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const deployArguments = (): string[] => ['deploy', session.workspace, '--project', project, '--repo', REPOSITORY, '--repo-url', target.repositoryUrl];
  const runsOf = (): Promise<RunSummary[]> => cliJson<RunSummary[]>(['run', 'list', '--project', project]);

  before(async () => {
    target = await startDeployTarget(() => [project]);
    session = await startSession({ workspaceName: project, prepareWorkspace: (folder) => target.prepareWorkspace(folder) });
    // The server and the project's secrets, set up from the CLI as a person at a terminal would.
    const { sshd } = target;
    const key = await cliJson<{ handle: string }>(['secret', 'set', 'DEPLOY_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(['server', 'add', 'deploy_target', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    const checked = await cliJson<{ status: string; lastCheckError: string | null }>(['server', 'check', 'deploy_target']);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'server check failed');
    for (const name of ['API_TOKEN', 'WEBHOOK_SECRET']) {
      await cliJson(['secret', 'set', name, '--type', 'token', '--project', project], `${name.toLowerCase()}-${randomBytes(8).toString('hex')}`);
    }
    await cliJson(['config', 'set', 'protectedProjects', JSON.stringify(['e2e-guarded-*'])]);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (session) {
      await session.stop();
      session.saveLogs('e2e-approvals-logs');
      await session.dispose();
    }
    await target?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  step('a CLI deploy of a protected project waits; VS Code shows it as a run and asks; Approve there runs it', async () => {
    const { workbench } = session;
    await workbench.openContainer('Zavhoz');
    await workbench.expandView('Deploy Runs');

    const asked = await session.cli(deployArguments());
    assert.equal(asked.code, AWAITING_APPROVAL_EXIT_CODE, asked.stderr);
    const approval = /waiting for approval (apr_[a-z2-7]{10}) — approve in VS Code/.exec(asked.stdout)?.[1];
    assert.ok(approval, asked.stdout);

    // The Runs view lists it with who asked; the notification names the project and the plan.
    const row = await workbench.waitForTreeRow('Deploy Runs', /awaiting approval · asked by cli/);
    assert.match(await row.innerText(), new RegExp(`${project} · deploy main`));
    await workbench.findNotification(`asks to deploy the protected project ${project}`);
    await workbench.screenshot('approval-requested');
    await workbench.clickNotificationButton(`asks to deploy the protected project ${project}`, 'Approve');

    // Approved in the workbench: the run starts under vscode and deploys to the test server.
    const runId = await waitFor(async () => {
      const run = await cliJson<RunDetail>(['run', 'show', approval]);
      return run.id === approval ? undefined : run.id;
    }, 'the approved run to start');
    const final = await waitFor(async () => {
      const run = await cliJson<RunDetail>(['run', 'show', runId]);
      return run.status === 'queued' || run.status === 'running' ? undefined : run;
    }, 'the approved run to end', 300_000);
    assert.equal(final.status, 'succeeded', final.error ?? '');
    assert.equal(final.client, 'vscode', 'the approver started it');
    assert.ok(existsSync(path.join('/opt/services', project, '.env')), 'the deploy reached the server');
    await workbench.waitForTreeRow('Deploy Runs', `${project} · main`);
    await workbench.view('Deploy Runs').locator('.monaco-list-row', { hasText: 'awaiting approval' }).waitFor({ state: 'detached' });
    await workbench.screenshot('approval-approved-run', workbench.view('Deploy Runs'));
    const audit = await cliJson<{ action: string; client: string }[]>(['audit', 'list']);
    assert.ok(audit.some((entry) => entry.action === 'approval-approved' && entry.client === 'vscode'), 'the decision is audited under vscode');
  });

  step("Reject from the Runs view's inline action: the request is cancelled and nothing runs", async () => {
    const { workbench } = session;
    const before = (await runsOf()).length;
    const asked = await session.cli(deployArguments());
    assert.equal(asked.code, AWAITING_APPROVAL_EXIT_CODE, asked.stderr);
    const approval = /waiting for approval (apr_[a-z2-7]{10})/.exec(asked.stdout)?.[1] ?? '';
    const row = await workbench.waitForTreeRow('Deploy Runs', /awaiting approval · asked by cli/);
    await row.hover();
    await row.locator('.action-label[aria-label="Reject Run"]').click();
    const rejected = await waitFor(async () => {
      const run = await cliJson<RunDetail>(['run', 'show', approval]);
      return run.status === 'cancelled' ? run : undefined;
    }, 'the request to be rejected');
    assert.match(rejected.error ?? '', /Rejected by vscode/);
    assert.equal((await runsOf()).length, before, 'nothing ran');
    await workbench.view('Deploy Runs').locator('.monaco-list-row', { hasText: 'awaiting approval' }).waitFor({ state: 'detached' });
  });
});
