/**
 * The extension in a real VS Code (code-server 4.139.1 = VS Code 1.139.1) driven through Chromium, installed from
 * its packaged .vsix, against the real daemon it starts itself in a throwaway data folder and keychain.
 * The tests run in order on one session (start-up costs ~25 s). Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDeployTarget, type DeployTarget } from './deployTarget.js';
import { startSession, type E2eSession } from './harness.js';

/** The views of the Zavhoz container, in package.json order. */
const VIEWS = ['Servers', 'Allocations', 'Secrets', 'Deploy Runs', 'Daemon'];

/** A value nobody else could produce, so finding it anywhere means it leaked from this run. */
function uniqueValue(label: string): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** Waits for a JSON file another process writes. */
async function waitForFile(file: string, timeoutMs = 60_000): Promise<{ tools: string[]; text: string; error: string | null }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as { tools: string[]; text: string; error: string | null };
      } catch {
        // Half written: read again.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${file} did not appear within ${timeoutMs / 1000} s`);
}

describe('Zavhoz in VS Code (code-server + Chromium)', () => {
  let session: E2eSession;
  let target: DeployTarget;
  /** The workspace folder's name, which the extension makes the project name: unique, as deploys write /opt/services/<project>. */
  const project = `e2e-shop-${randomBytes(3).toString('hex')}`;
  /** Every secret value typed during the run: none may appear in the page, logs, stored state or files. */
  const typedValues: string[] = [];
  /** Non-secret text that must be in stored state and files: proves the searches reach them. */
  let draftName = '';

  /** Runs a test body; on failure saves test-results/failed-<slug>.png, the screen the user would have seen. */
  const step = (name: string, body: () => Promise<void>): void => {
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 60);
        await session?.workbench.screenshot(`failed-${slug}`).catch(() => undefined);
        throw error;
      }
    });
  };

  before(async () => {
    target = await startDeployTarget(() => [project]);
    session = await startSession({
      workspaceName: project,
      prepareWorkspace: (folder) => target.prepareWorkspace(folder),
      testExtensions: [{ folder: path.join(import.meta.dirname, 'lm-probe'), installedPrefix: 'zavhoz-tests.zavhoz-lm-probe-' }],
    });
    console.log(`e2e start-up (ms): ${JSON.stringify(session.timings)}`);
  });

  after(async () => {
    if (session) {
      await session.stop();
      session.saveLogs('e2e-logs');
      await session.dispose();
    }
    await target?.dispose();
  });

  step('the Zavhoz container opens from the activity bar with each of its views', async () => {
    const { workbench } = session;
    await workbench.openContainer('Zavhoz');
    for (const name of VIEWS) {
      const pane = await workbench.expandView(name);
      // Connected views show content or their welcome text, never the "connecting" placeholder.
      await pane.locator('.pane-body').filter({ hasNotText: 'Connecting to the Zavhoz daemon' }).waitFor({ state: 'visible' });
      await workbench.screenshot(`view-${name.toLowerCase().replace(/\s+/g, '-')}`, pane);
    }
    await workbench.screenshot('container');
  });

  step('the Daemon view lists the running daemon the extension started in the throwaway data folder', async () => {
    const { workbench } = session;
    const row = await workbench.waitForTreeRow('Daemon', /Running/);
    const pid = session.daemonPid();
    assert.ok(pid !== undefined, 'the extension should have started a daemon in the throwaway ZAVHOZ_HOME');
    assert.match(await row.innerText(), new RegExp(`pid\\s+${pid}\\b`));
    const rows = await workbench.treeRows('Daemon');
    assert.ok(rows.some((text) => text.includes(session.zavhozHome)), `data folder row missing from ${JSON.stringify(rows)}`);
    assert.ok(rows.some((text) => /Clients.*vscode/.test(text)), `client row missing from ${JSON.stringify(rows)}`);
  });

  step('the status bar shows Zavhoz connected to the daemon', async () => {
    const text = await session.workbench.waitForStatusBar(/Zavhoz/);
    assert.doesNotMatch(text, /down|connecting/i);
  });

  step('"Zavhoz: Show Log" opens the Zavhoz output channel with the connection line', async () => {
    const { workbench } = session;
    await workbench.runCommand('Zavhoz: Show Log');
    await workbench.page.locator('.part.panel .monaco-editor .view-lines', { hasText: 'connected to daemon' }).first().waitFor({ state: 'visible' });
    assert.match(await workbench.outputText(), new RegExp(`connected to daemon pid ${session.daemonPid()}`));
    await workbench.screenshot('show-log');
  });

  step('a secret added through the secret form shows in the Secrets tree by name and handle, never its value', async () => {
    const { workbench } = session;
    const lines = [uniqueValue('e2e-cert-line'), uniqueValue('e2e-cert-line')];
    typedValues.push(...lines);
    await workbench.runCommand('Zavhoz: Add Secret…');
    await workbench.pickQuickItem('Multi-line Text');
    const form = workbench.webview();
    await form.locator('#name input').fill('E2E_CERT');
    await form.locator('#value textarea').fill(lines.join('\n'));
    await workbench.screenshot('secret-form-filled');
    await form.locator('#save').click();
    const status = form.locator('#status');
    await status.filter({ hasText: /Saved|exists|fail|error/i }).waitFor({ state: 'visible' });
    assert.match(await status.innerText(), /^Saved E2E_CERT as sec_\w+\.$/);
    await workbench.screenshot('secret-form-saved');
    // The form forgets the value once it is saved.
    assert.equal(await form.locator('#value textarea').inputValue(), '');

    const row = await workbench.waitForTreeRow('Secrets', 'E2E_CERT');
    assert.match(await row.innerText(), /sec_\w+/);
    await workbench.screenshot('view-secrets-with-secret', workbench.view('Secrets'));

    await workbench.runCommand('Zavhoz: Show Log');
    const log = await workbench.outputText();
    assert.match(log, /E2E_CERT/);
    for (const line of lines) {
      assert.deepEqual(await workbench.findInPage(line), [], 'the value must be nowhere in the page (text, attributes, fields, webviews)');
      assert.ok(!log.includes(line), 'the value must not be in the Zavhoz log');
    }
  });

  step('a reloaded secret form restores its draft and no value, and stored state holds no value', async () => {
    const { workbench } = session;
    draftName = `E2E_DRAFT_${randomBytes(6).toString('hex').toUpperCase()}`;
    const key = uniqueValue('e2e-private-key');
    const passphrase = uniqueValue('e2e-passphrase');
    typedValues.push(key, passphrase);
    await workbench.runCommand('Zavhoz: Add Secret…');
    await workbench.pickQuickItem('Private Key');
    let form = workbench.webview();
    await form.locator('#name input').fill(draftName);
    await form.locator('#value textarea').fill(`-----BEGIN OPENSSH PRIVATE KEY-----\n${key}\n-----END OPENSSH PRIVATE KEY-----`);
    await form.locator('#passphrase input').fill(passphrase);

    // Reloading flushes the workbench's storage (webview state included) and restores the panel from it.
    await workbench.reload();
    form = workbench.webview();
    await form.locator('#name input').waitFor({ state: 'visible' });
    assert.equal(await form.locator('#name input').inputValue(), draftName);
    assert.equal(await form.locator('#value textarea').inputValue(), '');
    assert.equal(await form.locator('#passphrase input').inputValue(), '');
    await workbench.screenshot('secret-form-restored');

    assert.notDeepEqual(await workbench.storedStateContaining(draftName), [], 'the draft should be in the stored webview state');
    for (const value of typedValues) {
      assert.deepEqual(await workbench.storedStateContaining(value), [], 'a secret value is in the workbench storage');
    }
    assert.deepEqual(await workbench.findInPage(key), []);
    await form.locator('#cancel').click();
  });

  step('an SSH key from the secret form and "Add Server…" from the palette make the test sshd a ready server', async () => {
    const { workbench } = session;
    const { sshd } = target;
    // The first base64 line is the same in every unencrypted OpenSSH key; the others hold this key's material.
    const keyLines = sshd.clientKey.privateKeyPem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')).slice(1);
    typedValues.push(...keyLines);
    await workbench.runCommand('Zavhoz: Add Secret…');
    await workbench.pickQuickItem('Private Key');
    const form = workbench.webview();
    await form.locator('#name input').fill('DEPLOY_SSH_KEY');
    await form.locator('#value textarea').fill(sshd.clientKey.privateKeyPem);
    await form.locator('#save').click();
    await form.locator('#status').filter({ hasText: /Saved|exists|fail|error/i }).waitFor({ state: 'visible' });
    assert.match(await form.locator('#status').innerText(), /^Saved DEPLOY_SSH_KEY as sec_\w+\.$/);
    await form.locator('#cancel').click();

    await workbench.runCommand('Zavhoz: Add Server…');
    await workbench.answerQuickInput('Add Server (1/6)', sshd.host);
    await workbench.answerQuickInput('Add Server (2/6)', 'deploy_target');
    await workbench.answerQuickInput('Add Server (3/6)', sshd.user);
    await workbench.answerQuickInput('Add Server (4/6)', String(sshd.port));
    await workbench.waitForQuickInput('Add Server (5/6)');
    await workbench.pickQuickItem('DEPLOY_SSH_KEY');
    await workbench.answerQuickInput('Add Server (6/6)', '');
    await workbench.clickNotificationButton('Added server deploy_target', 'Check Health');
    await workbench.expandView('Servers');
    await workbench.waitForTreeRow('Servers', /^\s*Ready/);
    const row = await workbench.waitForTreeRow('Servers', 'deploy_target');
    assert.match(await row.innerText(), /127\.0\.0\.1/);
    await workbench.screenshot('view-servers-with-server', workbench.view('Servers'));
  });

  step('"Deploy Project…" from the palette binds missing secrets in masked boxes, and the status bar reaches succeeded', async () => {
    const { workbench } = session;
    const apiToken = uniqueValue('e2e-api-token');
    const webhook = uniqueValue('e2e-webhook');
    typedValues.push(apiToken, webhook);
    await workbench.runCommand('Zavhoz: Deploy Project…');
    await workbench.pickQuickItem(`Deploy ${project}`);
    for (const [name, value] of [['API_TOKEN', apiToken], ['WEBHOOK_SECRET', webhook]] as const) {
      await workbench.waitForQuickInput(`Bind ${name}`);
      await workbench.pickQuickItem(`New Secret ${name}`);
      await workbench.waitForQuickInput(`Value of ${name}`);
      assert.equal(await workbench.page.locator('.quick-input-widget .quick-input-box input').getAttribute('type'), 'password');
      await workbench.answerQuickInput(`Value of ${name}`, value);
    }
    const text = await workbench.waitForStatusBar(new RegExp(`${project}: (succeeded|failed|cancelled|interrupted)`), 300_000);
    await workbench.screenshot('deploy-finished');
    assert.match(text, new RegExp(`${project}: succeeded`));
    await workbench.expandView('Deploy Runs');
    await workbench.waitForTreeRow('Deploy Runs', `${project} · main`);
    await workbench.screenshot('view-deploy-runs-with-run', workbench.view('Deploy Runs'));
    // The values reached their destination: the project's .env on the server.
    const env = readFileSync(path.join('/opt/services', project, '.env'), 'utf8');
    assert.ok(env.includes(apiToken) && env.includes(webhook), 'the bound secrets should be in the deployed .env');
    for (const value of typedValues) assert.deepEqual(await workbench.findInPage(value), [], 'a secret value is in the page');
  });

  step('the agent tools are registered with VS Code (vscode.lm.tools) and one answers through vscode.lm.invokeTool', async () => {
    const { workbench } = session;
    const output = path.join(session.workspace, '.zavhoz-lm-probe.json');
    // The test-only probe extension plays the agent host: Playwright cannot call extension APIs itself.
    await workbench.runCommand('Zavhoz Test Probe: Invoke Agent Tools');
    const probe = await waitForFile(output);
    assert.equal(probe.error, null, `the tool call failed: ${String(probe.error)}`);
    assert.deepEqual(probe.tools, [
      'zavhoz_allocate',
      'zavhoz_deploy',
      'zavhoz_deploy_status',
      'zavhoz_env_plan',
      'zavhoz_list_managed_servers',
      'zavhoz_push_ci_secrets',
      'zavhoz_request_secret',
    ]);
    assert.match(probe.text, /deploy_target/, 'the managed server added above is listed');
    for (const value of typedValues) assert.ok(!probe.text.includes(value), 'a secret value reached the tool result');
    const audit = await session.cli(['audit', 'list', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    assert.ok(
      (JSON.parse(audit.stdout) as { client: string; action: string; subject: string }[]).some(
        (entry) => entry.client === 'agent' && entry.subject.includes('zavhoz_list_managed_servers'),
      ),
      'the tool call is in the audit log as client "agent"',
    );
  });

  step('after the session ends, no file it wrote holds a secret value', async () => {
    await session.stop();
    // Positive controls: the search reaches the daemon's log and the browser's stored webview state.
    assert.ok(session.filesContaining('E2E_CERT').some((file) => file.endsWith('daemon.log')), 'the daemon log should name E2E_CERT');
    assert.notDeepEqual(session.filesContaining(draftName), []);
    for (const value of typedValues) assert.deepEqual(session.filesContaining(value), [], 'a secret value was written to disk');
  });
});
