/**
 * "Move .env Values into Zavhoz…" in a real VS Code (code-server + Chromium), as a person meets it: a workspace whose
 * `.env` holds plain values that look like secrets gets the one-time hint, its button runs the command, and then the
 * file holds `NAME=zavhoz:sec_…` references, the keychain holds the values (a command run with `zavhoz exec
 * --env-file` gets them back), and no value is anywhere in the workbench or on disk. Screenshots land in
 * test-results/.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { sessionSteps, startSession, type E2eSession } from './harness.js';

/** A value nobody else could produce, so finding it anywhere means it leaked from this run. */
function uniqueValue(label: string): string {
  return `${label}-${randomBytes(12).toString('hex')}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('Moving .env values into Zavhoz, in VS Code (code-server + Chromium)', () => {
  let session: E2eSession;
  const project = `e2e-env-${randomBytes(3).toString('hex')}`;
  const apiToken = uniqueValue('e2e-env-token');
  const databasePassword = uniqueValue('e2e-env-password');
  const databaseUrl = `postgres://shop:${databasePassword}@db.internal:5432/shop`;
  /** What the workspace's .env holds at first: two secrets, a setting that stays, a comment. */
  const original = [
    '# shop settings',
    `API_TOKEN=${apiToken}`,
    `export DATABASE_URL="${databaseUrl}" # the primary`,
    'PORT=8080',
    'DEBUG=1',
    '',
  ].join('\n');
  const values = [apiToken, databasePassword];
  let envFile = '';

  const step = sessionSteps(() => session, 'failed-dotenv-');

  before(async () => {
    session = await startSession({
      workspaceName: project,
      prepareWorkspace: (folder) => {
        envFile = path.join(folder, '.env');
        writeFileSync(envFile, original, { mode: 0o600 });
      },
    });
    console.log(`e2e start-up (ms): ${JSON.stringify(session.timings)}`);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (session) {
      await session.stop();
      session.saveLogs('e2e-dotenv-logs');
      await session.dispose();
    }
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  step('a workspace .env with plain secret values gets a one-time hint that names them, never their values', async () => {
    const { workbench } = session;
    const hint = await workbench.findNotification('plain values that look like secrets');
    const text = (await hint.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /\.env holds plain values that look like secrets \(API_TOKEN, DATABASE_URL\)/);
    for (const value of values) assert.ok(!text.includes(value), 'the hint shows a value');
    await workbench.screenshot('dotenv-hint');
  });

  step('its button runs "Move .env Values into Zavhoz…": names to move (secret-looking ones ticked), project, category', async () => {
    const { workbench } = session;
    await workbench.clickNotificationButton('plain values that look like secrets', 'Move Values into Zavhoz');
    // The names (PORT is long enough to store; DEBUG=1 is not), the two that look like secrets ticked.
    await workbench.waitForQuickInput('looks like a secret');
    const rows = workbench.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    const names = (await rows.allInnerTexts()).map((row) => row.replace(/\s+/g, ' ').trim());
    assert.equal(names.length, 3, JSON.stringify(names));
    assert.match(names[0]!, /^API_TOKEN\s*looks like a secret/);
    assert.match(names[1]!, /^DATABASE_URL\s*looks like a secret/);
    assert.match(names[2]!, /^PORT/);
    // Two ticked: the secret-looking ones (which two shows in the file afterwards: PORT stays as it is).
    await workbench.waitForQuickInput('2 Selected');
    await workbench.screenshot('dotenv-pick-names');
    for (const value of values) assert.deepEqual(await workbench.findInPage(value), [], 'the name picker shows a value');
    await workbench.page.locator('.quick-input-widget .quick-input-box input').press('Enter');
    await workbench.waitForQuickInput('this workspace');
    await workbench.pickQuickItem('this workspace');
    await workbench.waitForQuickInput('Telegram Bots');
    await workbench.pickQuickItem('Other');
    const done = await workbench.findNotification('now holds references for');
    assert.match((await done.innerText()).replace(/\s+/g, ' '), /\.env now holds references for API_TOKEN, DATABASE_URL; the values are in the keychain/);
    await workbench.closeNotificationCenter();
  });

  step('the file holds references in place of the values; everything else stays byte for byte', async () => {
    const text = readFileSync(envFile, 'utf8');
    const handles = [...text.matchAll(/zavhoz:(sec_\w+)/g)].map((match) => match[1]!);
    assert.equal(handles.length, 2, text);
    assert.equal(
      text,
      ['# shop settings', `API_TOKEN=zavhoz:${handles[0]}`, `export DATABASE_URL=zavhoz:${handles[1]} # the primary`, 'PORT=8080', 'DEBUG=1', ''].join('\n'),
    );
    for (const value of values) assert.ok(!text.includes(value), 'a value is still in the file');
  });

  step('the keychain holds the values: a command run with zavhoz exec --env-file gets them back, its output masked', async () => {
    const listed = await session.cli(['secret', 'list', '--project', project]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /API_TOKEN/);
    assert.match(listed.stdout, /DATABASE_URL/);
    const script = 'printf %s "$API_TOKEN" | sha256sum; printf %s "$DATABASE_URL" | sha256sum; echo "token=$API_TOKEN port=$PORT"';
    const run = await session.cli(['exec', '--env-file', envFile, '--', 'sh', '-c', script]);
    assert.equal(run.code, 0, run.stderr);
    const [tokenHash, urlHash, printed] = run.stdout.trim().split('\n');
    assert.equal(tokenHash?.split(' ')[0], sha256(apiToken));
    assert.equal(urlHash?.split(' ')[0], sha256(databaseUrl));
    assert.equal(printed, 'token=[masked:API_TOKEN] port=8080');
  });

  step('no value is anywhere in the workbench, its log, its stored state or the files of the session', async () => {
    const { workbench } = session;
    await workbench.openContainer('Zavhoz');
    await workbench.expandView('Secrets');
    // The Secrets view shows them by name, under this workspace's project.
    await workbench.waitForTreeRow('Secrets', 'API_TOKEN');
    await workbench.waitForTreeRow('Secrets', 'DATABASE_URL');
    await workbench.screenshot('dotenv-moved');
    await workbench.runCommand('Zavhoz: Show Log');
    const log = await workbench.waitForOutputText(/moved API_TOKEN, DATABASE_URL of \.env into Zavhoz/);
    await workbench.screenshot('dotenv-moved-log');
    for (const value of values) {
      assert.deepEqual(await workbench.findInPage(value), [], 'a value is in the page');
      assert.ok(!log.includes(value), 'a value is in the Zavhoz log');
    }
    await workbench.reload();
    for (const value of values) {
      assert.deepEqual(await workbench.storedStateContaining(value), [], 'a value is in the workbench storage');
      assert.deepEqual(session.filesContaining(value), [], 'a value was written to disk');
    }
  });

  step('the hint is shown once: after a reload the workspace gets no second one', async () => {
    const { workbench } = session;
    // The file holds references now, so put a plain value back: the hint still stays away.
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}NEW_SECRET_TOKEN=${uniqueValue('e2e-env-new')}\n`);
    await workbench.reload();
    // The hint is looked for as the extension activates; once it is connected, give the look a few seconds more.
    await workbench.waitForStatusBar(/Zavhoz/);
    await workbench.page.waitForTimeout(5_000);
    assert.equal(await workbench.page.locator('.notifications-toasts .notification-toast', { hasText: 'plain values that look like secrets' }).count(), 0);
  });
});
