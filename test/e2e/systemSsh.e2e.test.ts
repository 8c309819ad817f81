/**
 * "Open Terminal with System SSH" in a real VS Code (code-server + Chromium): the palette command hands the server's
 * vault key to an ssh-agent and opens a terminal running the system `ssh` to the alias; a command typed there runs on
 * the test sshd and its output shows in the terminal. The Daemon view's Team line and "Zavhoz: Team Status" say that
 * this daemon is in no team. (Remote-SSH itself cannot be installed here, offline: its window is not tested.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { waitUntil } from '../harness/processes.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';
import { sessionSteps, startSession, type E2eSession } from './harness.js';

describe('Open Terminal with System SSH in VS Code (code-server + Chromium)', () => {
  let session: E2eSession;
  let sshd: SshdServer;
  const step = sessionSteps(() => session, 'system-ssh-failed-');

  const cliJson = async <T>(args: readonly string[], input?: string): Promise<T> => {
    const result = await session.cli([...args, '--json'], input);
    assert.equal(result.code, 0, `zavhoz ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  before(async () => {
    sshd = await startSshd();
    session = await startSession({
      workspaceName: 'e2e-system-ssh',
      // The terminal drawn as DOM text (not WebGL), so the test reads what a person sees.
      prepareWorkspace: (folder) => {
        mkdirSync(path.join(folder, '.vscode'));
        writeFileSync(path.join(folder, '.vscode', 'settings.json'), `${JSON.stringify({ 'terminal.integrated.gpuAcceleration': 'off' }, null, 2)}\n`);
      },
    });
    const key = await cliJson<{ handle: string }>(['secret', 'set', 'BOX_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(['server', 'add', 'box', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    const checked = await cliJson<{ status: string; lastCheckError: string | null }>(['server', 'check', 'box']);
    assert.equal(checked.status, 'ready', checked.lastCheckError ?? 'server check failed');
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (session) {
      await session.stop();
      session.saveLogs('e2e-system-ssh-logs');
      await session.dispose();
    }
    await sshd?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  step('the palette command opens a terminal running ssh to the server; a command typed there runs on it', async () => {
    const { workbench } = session;
    const page = workbench.page;
    await workbench.openContainer('Zavhoz');
    await workbench.runCommand('Zavhoz: Open Terminal with System SSH (key in ssh-agent)');
    await workbench.pickQuickItem(/^box/);
    // The terminal is named after the alias, and ssh logs in through the agent with the pinned host key.
    await page.locator('.terminal-tabs-entry, .single-terminal-tab, .terminal-tab', { hasText: 'ssh zavhoz-box' }).first().waitFor({ state: 'visible' });
    const marker = path.join(session.workspace, 'ssh-marker.txt');
    const terminal = page.locator('.terminal-wrapper.active .xterm, .pane-body.integrated-terminal .xterm').first();
    await terminal.waitFor({ state: 'visible' });
    await terminal.click();
    // Typed once the remote shell prompts (a row ending in `#` or `$`); keys typed while ssh still logs in can be cut
    // up between the local terminal and the remote shell, so a line that did not run is typed again (running it twice
    // changes nothing).
    await page.locator('.xterm-rows > div', { hasText: /[#$]\s*$/ }).first().waitFor({ state: 'visible', timeout: 90_000 }).catch(() => undefined);
    let written: string | undefined;
    for (let attempt = 1; attempt <= 4 && written === undefined; attempt += 1) {
      await page.keyboard.type(`echo zavhoz-e2e-$((6*7)) | tee ${marker}`);
      await page.keyboard.press('Enter');
      written = await waitUntil('the command typed in the terminal to run on the server', () => (existsSync(marker) ? readFileSync(marker, 'utf8') : undefined), 45_000).catch(() => undefined);
    }
    assert.equal(written?.trim(), 'zavhoz-e2e-42', 'the command typed in the terminal never ran on the server');
    // What the person sees: the command's output (not only its echo) in the terminal.
    await page.locator('.xterm-rows', { hasText: /zavhoz-e2e-42/ }).first().waitFor({ state: 'visible' });
    await workbench.screenshot('system-ssh-terminal');
    const hostBlock = readFileSync(path.join(session.zavhozHome, 'ssh', 'hosts', 'box.conf'), 'utf8');
    assert.match(hostBlock, /^Host zavhoz-box$/m);
    assert.deepEqual(session.filesContaining(sshd.clientKey.privateKeyPem.split('\n')[1] ?? 'none'), [], 'the key is in no file of the session');
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
  });

  step('the Daemon view has a Team line, and "Zavhoz: Team Status" says this daemon is in no team', async () => {
    const { workbench } = session;
    await workbench.openContainer('Zavhoz');
    await workbench.expandView('Daemon');
    const row = await workbench.waitForTreeRow('Daemon', /Team/);
    assert.match(await row.innerText(), /none: this machine only/);
    await workbench.runCommand('Zavhoz: Team Status');
    const dialog = workbench.page.locator('.monaco-dialog-box', { hasText: 'no team' });
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /zavhoz team join postgres:\/\//);
    await workbench.screenshot('team-status-none');
    await dialog.locator('.monaco-button', { hasText: /^(OK|Close)$/ }).first().click();
    await dialog.waitFor({ state: 'detached' });
  });
});
