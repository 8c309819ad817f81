/**
 * The extension in a real VS Code (code-server 4.139.1 = VS Code 1.139.1) driven through Chromium, installed from
 * its packaged .vsix, against the real daemon it starts itself in a throwaway data folder and keychain.
 * The tests run in order on one session (start-up costs ~25 s). Screenshots land in test-results/.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { startDeployTarget, type DeployTarget } from './deployTarget.js';
import { sessionSteps, startSession, type E2eSession } from './harness.js';
import { waitUntil } from '../harness/processes.js';
import { escapeRegExp } from '../harness/text.js';

/** The views of the Zavhoz container, in package.json order (by daily use). */
const VIEWS = ['Services', 'Deploy Runs', 'Secrets', 'Servers', 'Allocations', 'Daemon'];

/** A value nobody else could produce, so finding it anywhere means it leaked from this run. */
function uniqueValue(label: string): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

/** Reads a JSON file another process writes, once it is there and whole. */
function waitForFile<T = { tools: string[]; text: string; error: string | null }>(file: string, timeoutMs = 60_000): Promise<T> {
  return waitUntil(`${file} to be written`, () => {
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      return undefined; // half written: read again
    }
  }, timeoutMs);
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

  const step = sessionSteps(() => session, 'failed-');

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
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (session) {
      await session.stop();
      session.saveLogs('e2e-logs');
      await session.dispose();
    }
    await target?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
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
    await workbench.waitForOutputText(new RegExp(`connected to daemon pid ${session.daemonPid()}`));
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
    // The confirmation offers the handle, the one thing to keep from a save.
    const copy = form.locator('#copy-handle');
    await copy.waitFor({ state: 'visible' });
    // The form scrolls the confirmation into view, wherever Save left it.
    await waitUntil('the confirmation to be in view', async () => {
      const inView = await status.evaluate((element: { getBoundingClientRect(): { top: number; bottom: number }; ownerDocument: { defaultView: { innerHeight: number } | null } }) => {
        const box = element.getBoundingClientRect();
        return box.top >= 0 && box.bottom <= (element.ownerDocument.defaultView?.innerHeight ?? 0);
      });
      return inView ? true : undefined;
    }, 30_000);
    await workbench.screenshot('secret-form-saved');
    await copy.click();
    await form.locator('#copy-handle', { hasText: 'Copied' }).waitFor({ state: 'visible' });
    // The form forgets the value once it is saved.
    assert.equal(await form.locator('#value textarea').inputValue(), '');

    const row = await workbench.waitForTreeRow('Secrets', 'E2E_CERT');
    // A short row: type and age; the handle is in the tooltip and Copy Handle.
    assert.match(await row.innerText(), /text · (just now|\d+ min ago)/);
    await workbench.screenshot('view-secrets-with-secret', workbench.view('Secrets'));

    await workbench.runCommand('Zavhoz: Show Log');
    const log = await workbench.waitForOutputText(/E2E_CERT/);
    for (const line of lines) {
      assert.deepEqual(await workbench.findInPage(line), [], 'the value must be nowhere in the page (text, attributes, fields, webviews)');
      assert.ok(!log.includes(line), 'the value must not be in the Zavhoz log');
    }
    await workbench.closeEditors();
  });

  step('a value over the vault\'s limit is refused next to the field, in plain words', async () => {
    const { workbench } = session;
    await workbench.runCommand('Zavhoz: Add Secret…');
    await workbench.pickQuickItem('Multi-line Text');
    const form = workbench.webview();
    await form.locator('#name input').fill('E2E_LARGE_FILE');
    // 70 KiB of text: over the 64 KiB a secret may hold.
    await form.locator('#value textarea').fill(`${'0123456789abcdef'.repeat(64)}\n`.repeat(70));
    await form.locator('#save').click();
    const error = form.locator('#value-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /^Value is too large: at most 64 KiB\. Store large files/);
    const page = await form.locator('body').innerText();
    assert.doesNotMatch(page, /Invalid params|Invalid save|secrets\/set/);
    await workbench.screenshot('secret-form-oversize');
    await form.locator('#cancel').click();
  });

  step('the secret form picks type and category from the name, and the person can change them', async () => {
    const { workbench } = session;
    await workbench.runCommand('Zavhoz: Add Secret…');
    await workbench.pickQuickItem('Multi-line Text');
    const form = workbench.webview();
    const selected = (id: string): Promise<string> => form.locator(`#${id}`).evaluate((element) => (element as unknown as { value: string }).value);
    await form.locator('#name input').fill('SHOP_BOT_TOKEN');
    await form.locator('#guess', { hasText: 'Telegram' }).waitFor({ state: 'visible' });
    assert.equal(await selected('type'), 'token');
    assert.equal(await selected('category'), 'telegram_bot');
    // A token is typed in a masked field, not the text area the form opened with.
    await form.locator('#value input[type="password"]').waitFor({ state: 'attached' });
    await workbench.screenshot('secret-form-guessed');
    await form.locator('#name input').fill('DEPLOY_SSH_KEY_2');
    await form.locator('#guess', { hasText: 'SSH private key' }).waitFor({ state: 'visible' });
    assert.equal(await selected('type'), 'private_key');
    assert.equal(await selected('category'), 'server');
    await form.locator('#cancel').click();
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
    // The name picks the category: a server's key.
    assert.equal(await form.locator('#category').evaluate((element) => (element as unknown as { value: string }).value), 'server');
    await form.locator('#value textarea').fill(sshd.clientKey.privateKeyPem);
    await form.locator('#save').click();
    await form.locator('#status').filter({ hasText: /Saved|exists|fail|error/i }).waitFor({ state: 'visible' });
    assert.match(await form.locator('#status').innerText(), /^Saved DEPLOY_SSH_KEY as sec_\w+\.$/);
    await form.locator('#copy-handle').waitFor({ state: 'visible' });
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
    assert.ok((await row.innerText()).includes(sshd.host), `the row shows the host ${sshd.host}`);
    await workbench.screenshot('view-servers-with-server', workbench.view('Servers'));
  });

  step('ghost servers stay out of the Servers view until "Show Ghost Servers", and the label filter narrows it', async () => {
    const { workbench } = session;
    // A personal machine: added and marked as a ghost from the CLI, as a user would from a terminal.
    const added = await session.cli(['server', 'add', 'my_laptop', '--host', '127.0.0.9', '--label', 'personal']);
    assert.equal(added.code, 0, added.stderr);
    const ghosted = await session.cli(['server', 'ghost', 'my_laptop']);
    assert.equal(ghosted.code, 0, ghosted.stderr);
    await workbench.expandView('Servers');
    await workbench.waitForTreeRow('Servers', 'deploy_target');
    // The view may still show my_laptop from the `add` for one refresh: the `ghost` notification's refresh hides it.
    await workbench.view('Servers').locator('.monaco-list-row', { hasText: 'my_laptop' }).waitFor({ state: 'detached' });
    assert.ok(!(await workbench.treeRows('Servers')).some((row) => row.includes('my_laptop')), 'a ghost server is hidden by default');

    await workbench.runCommand('Zavhoz: Show Ghost Servers');
    await workbench.waitForTreeRow('Servers', /Ghost \(not managed\)/);
    await workbench.waitForTreeRow('Servers', 'my_laptop');
    await workbench.screenshot('view-servers-with-ghosts', workbench.view('Servers'));

    await workbench.runCommand('Zavhoz: Filter Servers by Label…');
    await workbench.pickQuickItem('personal');
    await workbench.view('Servers').filter({ hasText: 'label: personal' }).waitFor({ state: 'visible' });
    await workbench.view('Servers').locator('.monaco-list-row', { hasText: 'deploy_target' }).waitFor({ state: 'detached' });
    const filtered = await workbench.treeRows('Servers');
    assert.ok(filtered.some((row) => row.includes('my_laptop')), `the labelled server stays: ${JSON.stringify(filtered)}`);
    assert.ok(!filtered.some((row) => row.includes('deploy_target')), `servers without the label go: ${JSON.stringify(filtered)}`);

    await workbench.runCommand('Zavhoz: Clear Server Filter');
    await workbench.runCommand('Zavhoz: Hide Ghost Servers');
    await workbench.waitForTreeRow('Servers', 'deploy_target');
    await workbench.view('Servers').locator('.monaco-list-row', { hasText: 'my_laptop' }).waitFor({ state: 'detached' });
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
    // While it runs, the status bar names the project, the step running now and the elapsed time.
    // (A deploy faster than the status bar's first update shows only its result.)
    await workbench.waitForStatusBar(new RegExp(`${project}: (running .*\\d+:\\d{2}|succeeded)`), 120_000);
    await workbench.screenshot('status-bar-deploying');
    const text = await workbench.waitForStatusBar(new RegExp(`${project}: (succeeded|failed|cancelled|interrupted)`), 300_000);
    await workbench.screenshot('deploy-finished');
    assert.match(text, new RegExp(`${project}: succeeded`));
    await workbench.screenshot('status-bar-after-deploy', workbench.page.locator('.part.statusbar'));
    await workbench.expandView('Deploy Runs');
    const runRow = await workbench.waitForTreeRow('Deploy Runs', `${project} · main`);
    await workbench.screenshot('view-deploy-runs-with-run', workbench.view('Deploy Runs'));

    // A click opens the run's log as a document: heading, result, then the log with a heading (and its duration) where each step starts.
    await runRow.click();
    const document = workbench.page.locator('.editor-group-container .monaco-editor .view-lines', { hasText: 'Log' }).first();
    // (The editor renders spaces as non-breaking ones, which \s matches.)
    await document.filter({ hasText: /Succeeded\safter\s\d+:\d{2}/ }).waitFor({ state: 'visible' });
    const shown = await workbench.editorLines(document);
    assert.match(shown, new RegExp(`Deploy of ${escapeRegExp(project)} from `));
    // (The editor renders the lines in view only: the first steps' headings, then the playbook's output.)
    assert.match(shown, /^Log\n\[zavhoz\] run run_\w+: deploy /m);
    assert.match(shown, /^✓ Allocate server and ports +\d+:\d{2}/m);
    assert.match(shown, /^✓ Pre-flight checks +\d+:\d{2}.*\nPLAY \[/m);
    assert.doesNotMatch(shown, /^Steps$/m);
    await workbench.screenshot('run-log-document');
    await workbench.closeEditors();
    // The values reached their destination: the project's .env on the server.
    const env = readFileSync(path.join('/opt/services', project, '.env'), 'utf8');
    assert.ok(env.includes(apiToken) && env.includes(webhook), 'the bound secrets should be in the deployed .env');
    for (const value of typedValues) assert.deepEqual(await workbench.findInPage(value), [], 'a secret value is in the page');
  });

  step('the deploy panel shows the env plan by name and handle, deploys again, and shows the live log and the URL', async () => {
    const { workbench } = session;
    await workbench.runCommand('Zavhoz: Deploy Project…');
    await workbench.pickQuickItem('Open Deploy Panel');
    const panel = workbench.webview();
    const plan = panel.locator('#plan');
    // The bindings made in the palette are remembered for the project: the table shows them as handles.
    await plan.filter({ hasText: /API_TOKEN/ }).filter({ hasText: /secret sec_\w+/ }).waitFor({ state: 'visible' });
    const table = await plan.innerText();
    assert.match(table, /WEBHOOK_SECRET/);
    assert.doesNotMatch(table, /missing: bind a secret/, 'every variable resolves');
    await workbench.screenshot('deploy-panel-plan');

    await panel.locator('#deploy').click();
    const heading = panel.locator('#run h2');
    await heading.filter({ hasText: /: (succeeded|failed|cancelled|interrupted)$/ }).waitFor({ state: 'visible', timeout: 300_000 });
    await workbench.screenshot('deploy-panel-finished');
    assert.match(await heading.innerText(), /: succeeded$/);
    const url = /http:\/\/[\d.]+:\d+\/?/.exec(await panel.locator('#result').innerText())?.[0] ?? '';
    assert.match(url, new RegExp(`^http://${escapeRegExp(target.sshd.host)}:\\d+`));
    // The URL the panel shows is the project's page, served by the real container the deploy started.
    assert.match(await (await fetch(url)).text(), /test-web 1\.0\.0/);
    assert.match(await panel.locator('#log').innerText(), /PLAY RECAP/, 'the live log reached the end of the playbook');
    assert.match(await panel.locator('ul.steps').innerText(), /✓/);
    // The run recorded the project's second release, which the panel offers to roll back from.
    await panel.locator('#release', { hasText: /Release #2 \(\w+\) recorded/ }).waitFor({ state: 'visible' });
    await panel.locator('#rollback').waitFor({ state: 'visible' });
    for (const value of typedValues) assert.deepEqual(await workbench.findInPage(value), [], 'a secret value is in the page');
    await workbench.closeEditors();
  });

  step('the Services view shows the deployed project, its containers and releases; Logs opens a terminal that follows them', async () => {
    const { workbench } = session;
    await workbench.expandView('Services');
    await workbench.waitForTreeRow('Services', new RegExp(`${escapeRegExp(project)}.*2/2 running`));
    await workbench.waitForTreeRow('Services', /backend.*running/);
    await workbench.waitForTreeRow('Services', /Releases.*current #2/);
    await workbench.screenshot('view-services', workbench.view('Services'));
    // Everything runs well: the services status-bar item stays hidden.
    assert.equal(await workbench.page.locator('.part.statusbar .statusbar-item[id="zavhoz.zavhoz.zavhoz.services"]').filter({ visible: true }).count(), 0);
    await workbench.runCommand('Zavhoz: Show Service Logs');
    await workbench.pickQuickItem(`${project}/backend`);
    await workbench.page.locator('.part.panel', { hasText: `Logs ${project}/backend` }).first().waitFor({ state: 'visible' });
    // The app printed its API_TOKEN at start: the terminal shows the line with the value masked.
    await workbench.page.locator('.part.panel .xterm-rows', { hasText: 'started with token [REDACTED] ok' }).first().waitFor({ state: 'visible' });
    await workbench.screenshot('service-logs-terminal');
    for (const value of typedValues) assert.deepEqual(await workbench.findInPage(value), [], 'a secret value is in the page');
    await workbench.runCommand('Terminal: Kill All Terminals');
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
      'zavhoz_exec_with_secrets',
      'zavhoz_list_managed_servers',
      'zavhoz_push_ci_secrets',
      'zavhoz_request_secret',
      'zavhoz_restart_service',
      'zavhoz_rollback',
      'zavhoz_service_logs',
      'zavhoz_service_status',
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

  step('zavhoz_request_secret opens the secret form pre-filled and answers the handle the human saved, or "declined"', async () => {
    const { workbench } = session;
    const output = path.join(session.workspace, '.zavhoz-request-secret.json');
    const value = uniqueValue('e2e-agent-token');
    typedValues.push(value);

    rmSync(output, { force: true });
    await workbench.runCommand('Zavhoz Test Probe: Request Secret');
    await workbench.answerQuickInput('Probe: secret name', 'AGENT_API_KEY');
    let form = workbench.webview();
    await form.locator('#name input').waitFor({ state: 'visible' });
    assert.equal(await form.locator('#name input').inputValue(), 'AGENT_API_KEY', 'the name comes from the agent');
    await form.locator('#value input').fill(value);
    await workbench.screenshot('agent-secret-request');
    await form.locator('#save').click();
    const saved = await waitForFile<{ text: string; error: string | null }>(output);
    assert.equal(saved.error, null);
    assert.match(saved.text, /stored/);
    assert.match(saved.text, /sec_\w+/);
    assert.ok(!saved.text.includes(value), 'the value never reaches the agent');

    rmSync(output, { force: true });
    await workbench.runCommand('Zavhoz Test Probe: Request Secret');
    await workbench.answerQuickInput('Probe: secret name', 'AGENT_DECLINED_KEY');
    // The new request replaces the first form: wait for the page that carries the new name.
    for (let waited = 0; waited < 60_000; waited += 250) {
      form = workbench.webview();
      if ((await form.locator('#name input').inputValue({ timeout: 1000 }).catch(() => '')) === 'AGENT_DECLINED_KEY') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(await form.locator('#name input').inputValue(), 'AGENT_DECLINED_KEY');
    await form.locator('#cancel').click();
    const declined = await waitForFile<{ text: string; error: string | null }>(output);
    assert.match(declined.text, /declined/);
    assert.doesNotMatch(declined.text, /sec_\w+/);
  });

  step('a deep link vscode://zavhoz.zavhoz/run/ID opens that run\'s log', async () => {
    const { workbench } = session;
    const listed = await session.cli(['run', 'list', '--project', project, '--limit', '1', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const [latest] = JSON.parse(listed.stdout) as { id: string }[];
    assert.ok(latest, 'the deploys above are listed');
    await workbench.closeEditors();
    await workbench.runCommand('Developer: Open URL');
    await workbench.answerQuickInput('URL to open', `vscode://zavhoz.zavhoz/run/${latest.id}`);
    // VS Code asks once whether the extension may open links.
    const allow = workbench.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Open$/ });
    await allow.click({ timeout: 10_000 }).catch(() => undefined);
    const document = workbench.page.locator('.editor-group-container .monaco-editor .view-lines', { hasText: latest.id }).first();
    await document.filter({ hasText: 'Log' }).waitFor({ state: 'visible' });
    await workbench.screenshot('deep-link-run');
    await workbench.closeEditors();
  });

  step('every command in package.json is registered at run time, and every registered zavhoz command is declared', async () => {
    const output = path.join(session.workspace, '.zavhoz-commands.json');
    await session.workbench.runCommand('Zavhoz Test Probe: List Commands');
    const { commands } = await waitForFile<{ commands: string[] }>(output);
    const manifest = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      contributes: { commands: { command: string }[]; views: Record<string, { id: string }[]> };
    };
    // The workbench adds commands of its own for each view (zavhoz.servers.focus, …): not ours to declare.
    const viewCommands = new Set(
      Object.values(manifest.contributes.views)
        .flat()
        .flatMap((view) => ['focus', 'resetViewLocation', 'toggleVisibility', 'removeView', 'open'].map((suffix) => `${view.id}.${suffix}`)),
    );
    const registered = commands.filter((id) => !viewCommands.has(id)).sort();
    const declared = manifest.contributes.commands.map((entry) => entry.command).sort();
    assert.deepEqual(registered, declared);
  });

  step('a daemon killed with SIGKILL is restarted by the extension, and the views and status bar come back', async () => {
    const { workbench } = session;
    const before = session.daemonPid();
    assert.ok(before !== undefined);
    process.kill(before, 'SIGKILL');
    let after: number | undefined;
    for (let waited = 0; waited < 60_000 && (after === undefined || after === before); waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = session.daemonPid();
    }
    assert.ok(after !== undefined && after !== before, 'the extension should have started a new daemon');
    await workbench.expandView('Daemon');
    await workbench.waitForTreeRow('Daemon', new RegExp(`pid\\s+${after}\\b`));
    const text = await workbench.waitForStatusBar(new RegExp(`${project}: succeeded`));
    assert.doesNotMatch(text, /down|connecting/i);
    // The tree asks the new daemon again (a row near the top: the list renders only what fits in the pane).
    await workbench.expandView('Secrets');
    await workbench.waitForTreeRow('Secrets', 'API_TOKEN');
  });

  step('after the session ends, no file it wrote holds a secret value', async () => {
    await session.stop();
    // Positive controls: the search reaches the daemon's log and the browser's stored webview state.
    assert.ok(session.filesContaining('E2E_CERT').some((file) => file.endsWith('daemon.log')), 'the daemon log should name E2E_CERT');
    assert.notDeepEqual(session.filesContaining(draftName), []);
    for (const value of typedValues) assert.deepEqual(session.filesContaining(value), [], 'a secret value was written to disk');
  });
});
