/**
 * Approvals in a real VS Code (code-server + Chromium). An agent connected through `zavhoz mcp` (the MCP SDK's own
 * client, holding a time-limited grant) asks to deploy a protected project: the request waits as a run in state
 * awaiting_approval, the workbench lists it in the Deploy Runs view and asks with a notification; Approve there starts
 * the run under `vscode`, it deploys to the test server, and the agent follows it to success with
 * zavhoz_deploy_status. The audit names the agent as the one who asked and the person (VS Code) as the one who
 * decided. The agent's next request is rejected from the notification: the agent is told it was cancelled and
 * nothing reaches the server. A CLI deploy without --yes waits too, and is rejected from the Runs view's inline
 * action. Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { AWAITING_APPROVAL_EXIT_CODE } from '../../daemon/cli/awaitApproval.js';
import type { Approval } from '../../daemon/protocol/approvals.js';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import { waitUntil } from '../harness/processes.js';
import { field, type McpSession, startMcp, type ToolAnswer } from '../integration/agent-support.js';
import { REPOSITORY, startDeployTarget, type DeployTarget } from './deployTarget.js';
import { sessionSteps, startSession, type E2eSession } from './harness.js';

/** An approval id in text. */
const APPROVAL_ID = /apr_[a-z2-7]{10}/;

describe('approvals in VS Code (code-server + Chromium)', () => {
  let session: E2eSession;
  let target: DeployTarget;
  let agent: McpSession;
  let apiToken = '';
  const project = `e2e-guarded-${randomBytes(3).toString('hex')}`;

  const step = sessionSteps(() => session, 'approvals-failed-');

  const cliJson = async <T>(args: readonly string[], input?: string): Promise<T> => {
    const result = await session.cli([...args, '--json'], input);
    assert.equal(result.code, 0, `zavhoz ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const deployArguments = (): string[] => ['deploy', session.workspace, '--project', project, '--repo', REPOSITORY, '--repo-url', target.repositoryUrl];
  const runsOf = (): Promise<RunSummary[]> => cliJson<RunSummary[]>(['run', 'list', '--project', project]);
  /** The agent asks to deploy, naming the secret it relies on by handle: the gate stores the request and says so. */
  const agentAsksToDeploy = async (): Promise<string> => {
    const asked = await agent.call('zavhoz_deploy', { project, repository: REPOSITORY, repoUrl: target.repositoryUrl, bindings: { API_TOKEN: apiToken }, timeoutSeconds: 600 });
    assert.equal(asked.isError, true, asked.text);
    assert.match(asked.text, new RegExp(`Project ${project} is protected: this deploy waits for a person's approval as apr_`));
    const approval = APPROVAL_ID.exec(asked.text)?.[0];
    assert.ok(approval, asked.text);
    const waiting = await agent.call('zavhoz_deploy_status', { run: approval });
    assert.match(field(waiting.text, 'status') ?? '', /^awaiting_approval/, waiting.text);
    return approval;
  };
  /** What the agent does next: asks about the run now and then (each call is audited) until it has ended. */
  const agentFollows = (run: string, timeoutMs: number): Promise<ToolAnswer> =>
    waitUntil(`the agent's run ${run} to end`, async () => {
      const status = await agent.call('zavhoz_deploy_status', { run });
      if (!/^(awaiting_approval|queued|running)/.test(field(status.text, 'status') ?? '')) return status;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return undefined;
    }, timeoutMs);
  const notificationText = `agent asks to deploy the protected project ${project}`;

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
      const stored = await cliJson<{ handle: string }>(['secret', 'set', name, '--type', 'token', '--project', project], `${name.toLowerCase()}-${randomBytes(8).toString('hex')}`);
      if (name === 'API_TOKEN') apiToken = stored.handle;
    }
    await cliJson(['config', 'set', 'protectedProjects', JSON.stringify(['e2e-guarded-*'])]);
    // The person lets agents deploy this project for a while; protected, each deploy still waits for them.
    await cliJson(['agent', 'grant', '--project', project, '--allow', 'deploy', '--ttl', '2h']);
    // An MCP client beside VS Code, as an agent in another tool would be, on the same daemon.
    agent = await startMcp({ env: session.env }, session.workspace);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await agent?.close().catch(() => undefined);
    if (session) {
      await session.stop();
      session.saveLogs('e2e-approvals-logs');
      await session.dispose();
    }
    await target?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  step("an agent's deploy of a protected project waits; VS Code shows it and asks; Approve there runs it to success", async () => {
    const { workbench } = session;
    await workbench.openContainer('Zavhoz');
    await workbench.expandView('Deploy Runs');

    const approval = await agentAsksToDeploy();

    // The Runs view lists it with who asked; the notification names the project, the plan and the secret's handle.
    const row = await workbench.waitForTreeRow('Deploy Runs', /awaiting approval · asked by agent/);
    assert.match(await row.innerText(), new RegExp(`${project} · deploy main`));
    const notification = await workbench.findNotification(notificationText);
    const asking = await notification.innerText();
    assert.match(asking, new RegExp(`deploy ${REPOSITORY}@main from `));
    assert.match(asking, new RegExp(`Secrets: ${apiToken}\\.`));
    await workbench.screenshot('approval-requested-by-agent');
    await workbench.clickNotificationButton(notificationText, 'Approve');

    // Approved in the workbench: the run starts under vscode, and the agent, following its request, sees it succeed.
    const done = await agentFollows(approval, 300_000);
    assert.match(field(done.text, 'status') ?? '', /^succeeded/, done.text);
    const runId = field(done.text, 'run') ?? '';
    assert.match(runId, /^run_[a-z2-7]{10}$/, done.text);
    assert.match(field(done.text, 'requested by') ?? '', /^vscode \(/, 'the approver started it');
    const run = await cliJson<RunDetail>(['run', 'show', runId]);
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal(run.client, 'vscode');
    assert.ok(existsSync(path.join('/opt/services', project, '.env')), 'the deploy reached the server');
    await workbench.waitForTreeRow('Deploy Runs', `${project} · main`);
    await workbench.view('Deploy Runs').locator('.monaco-list-row', { hasText: 'awaiting approval' }).waitFor({ state: 'detached' });
    await workbench.screenshot('approval-approved-run', workbench.view('Deploy Runs'));

    // Who asked and who decided: the agent, then the person at VS Code.
    const decided = (await cliJson<Approval[]>(['run', 'approvals', '--all'])).find((entry) => entry.id === approval);
    assert.deepEqual([decided?.status, decided?.requestedBy, decided?.decidedBy, decided?.runId], ['approved', 'agent', 'vscode', runId]);
    const audit = (await cliJson<AuditEntryView[]>(['audit', 'list', '--subject', project])).filter((entry) => entry.detail.approval === approval);
    assert.deepEqual(audit.map((entry) => [entry.action, entry.client]).reverse(), [['approval-requested', 'agent'], ['approval-approved', 'vscode']]);
  });

  step("an agent's deploy rejected from the notification: the agent is told, and nothing reaches the server", async () => {
    const { workbench } = session;
    const runsBefore = (await runsOf()).length;
    const envFile = path.join('/opt/services', project, '.env');
    const writtenBefore = existsSync(envFile) ? statSync(envFile).mtimeMs : undefined;

    const approval = await agentAsksToDeploy();
    await workbench.waitForTreeRow('Deploy Runs', /awaiting approval · asked by agent/);
    await workbench.clickNotificationButton(notificationText, 'Reject');

    const done = await agentFollows(approval, 60_000);
    assert.match(field(done.text, 'status') ?? '', /^cancelled/, done.text);
    assert.match(field(done.text, 'error') ?? '', /Rejected by vscode/, done.text);
    await workbench.view('Deploy Runs').locator('.monaco-list-row', { hasText: 'awaiting approval' }).waitFor({ state: 'detached' });
    assert.equal((await runsOf()).length, runsBefore, 'nothing ran');
    assert.equal(existsSync(envFile) ? statSync(envFile).mtimeMs : undefined, writtenBefore, 'the server was not touched');
    const audit = (await cliJson<AuditEntryView[]>(['audit', 'list', '--subject', project])).filter((entry) => entry.detail.approval === approval);
    assert.deepEqual(audit.map((entry) => [entry.action, entry.client]).reverse(), [['approval-requested', 'agent'], ['approval-rejected', 'vscode']]);
  });

  step("a CLI deploy without --yes waits too; Reject from the Runs view's inline action: the request is cancelled and nothing runs", async () => {
    const { workbench } = session;
    const before = (await runsOf()).length;
    const asked = await session.cli(deployArguments());
    assert.equal(asked.code, AWAITING_APPROVAL_EXIT_CODE, asked.stderr);
    const approval = /waiting for approval (apr_[a-z2-7]{10}) — approve in VS Code/.exec(asked.stdout)?.[1] ?? '';
    assert.ok(approval, asked.stdout);
    const row = await workbench.waitForTreeRow('Deploy Runs', /awaiting approval · asked by cli/);
    assert.match(await row.innerText(), new RegExp(`${project} · deploy main`));
    await row.hover();
    await row.locator('.action-label[aria-label="Reject Run"]').click();
    const rejected = await waitUntil('the request to be rejected', async () => {
      const run = await cliJson<RunDetail>(['run', 'show', approval]);
      return run.status === 'cancelled' ? run : undefined;
    });
    assert.match(rejected.error ?? '', /Rejected by vscode/);
    assert.equal((await runsOf()).length, before, 'nothing ran');
    await workbench.view('Deploy Runs').locator('.monaco-list-row', { hasText: 'awaiting approval' }).waitFor({ state: 'detached' });
  });
});
