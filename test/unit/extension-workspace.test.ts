/**
 * Workspace defaults (project from the folder, OWNER/REPO from .git/config), daemon log lines in the output
 * channel, the webview page shell and its CSP, and the text formatters. Pure modules, no VS Code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AllocationsAllocate } from '../../daemon/protocol/allocations.js';
import { ServersAdd } from '../../daemon/protocol/servers.js';
import { fieldValidator, integerValidator, toList } from '../../extension/commands/validate.js';
import { formatDaemonLine } from '../../extension/model/daemonLog.js';
import { handleFromHost } from '../../extension/model/servers.js';
import { formatBytes, formatElapsed, formatMegabytes, relativeTime } from '../../extension/model/format.js';
import { contentSecurityPolicy, webviewHtml } from '../../extension/model/webviewHtml.js';
import {
  githubRepositoryFromGitConfig,
  githubRepositoryFromUrl,
  projectNameFromFolder,
  remotesFromGitConfig,
} from '../../extension/model/workspaceInfo.js';

describe('workspace defaults', () => {
  test('project names made from folder names are ones the daemon accepts', () => {
    const cases: Record<string, string> = {
      'My Shop': 'my-shop',
      'e2e-shop': 'e2e-shop',
      'tg_bot': 'tg_bot',
      '--Weird..Name!!': 'weird-name',
      'Проект': 'project',
      '2048': '2048',
    };
    for (const [folder, expected] of Object.entries(cases)) {
      const made = projectNameFromFolder(folder);
      assert.equal(made, expected, folder);
      assert.ok(AllocationsAllocate.params.safeParse({ project: made }).success, `${made} is refused by the protocol`);
    }
    assert.ok(projectNameFromFolder('x'.repeat(200)).length <= 64);
  });

  test('OWNER/REPO from https, ssh and scp-like GitHub remotes; other hosts give nothing', () => {
    assert.equal(githubRepositoryFromUrl('https://github.com/acme/shop.git'), 'acme/shop');
    assert.equal(githubRepositoryFromUrl('https://token@github.com/acme/shop'), 'acme/shop');
    assert.equal(githubRepositoryFromUrl('git@github.com:acme/my.site.git'), 'acme/my.site');
    assert.equal(githubRepositoryFromUrl('ssh://git@github.com/acme/shop.git'), 'acme/shop');
    assert.equal(githubRepositoryFromUrl('https://gitlab.com/acme/shop.git'), undefined);
    assert.equal(githubRepositoryFromUrl('https://github.com/acme'), undefined);
  });

  test('.git/config: origin wins, else the first GitHub remote; other sections ignored', () => {
    const config = [
      '[core]',
      '\trepositoryformatversion = 0',
      '\turl = https://github.com/not/a-remote.git',
      '[remote "upstream"]',
      '\turl = git@github.com:upstream/shop.git',
      '\tfetch = +refs/heads/*:refs/remotes/upstream/*',
      '[remote "origin"]',
      '\turl = https://github.com/me/shop.git',
      '[branch "main"]',
      '\tremote = origin',
    ].join('\n');
    assert.deepEqual([...remotesFromGitConfig(config).keys()], ['upstream', 'origin']);
    assert.equal(githubRepositoryFromGitConfig(config), 'me/shop');
    assert.equal(githubRepositoryFromGitConfig(config.replace('https://github.com/me/shop.git', 'https://gitlab.com/me/shop.git')), 'upstream/shop');
    assert.equal(githubRepositoryFromGitConfig('[core]\n\tbare = false\n'), undefined);
  });
});

describe('daemon log lines in the Zavhoz channel', () => {
  test('a JSON line becomes "[daemon] message key=value" at its level', () => {
    const line = JSON.stringify({ time: '2026-11-22T12:00:00Z', level: 'warn', message: 'request failed', method: 'servers/check', requestId: 'vscode-1', error: 'no route' });
    assert.deepEqual(formatDaemonLine(line), { level: 'warn', text: '[daemon] request failed requestId=vscode-1 method=servers/check error="no route"' });
  });

  test('lines that are not JSON objects still arrive, prefixed, at info', () => {
    assert.deepEqual(formatDaemonLine('plain text'), { level: 'info', text: '[daemon] plain text' });
    assert.deepEqual(formatDaemonLine('[1,2]'), { level: 'info', text: '[daemon] [1,2]' });
    assert.equal(formatDaemonLine(JSON.stringify({ level: 'bogus', message: 'x' })).level, 'info');
  });
});

describe('webview page shell', () => {
  const page = { title: 'Add Secret', cspSource: 'https://file+.vscode-resource.test', nonce: 'bm9uY2U=', scriptUri: 'https://r/secretForm.js', styleUri: 'https://r/secretForm.css' };

  test("CSP denies everything but our nonce-tagged script and the webview's own styles", () => {
    const csp = contentSecurityPolicy(page);
    assert.match(csp, /^default-src 'none'; /);
    assert.match(csp, /script-src 'nonce-bm9uY2U='(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/\*|\*;/);
  });

  test('the page has the CSP meta first, the module script with the nonce, and no inline handler or script', () => {
    const html = webviewHtml(page);
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<link'), 'CSP must come before any resource');
    assert.match(html, /<script type="module" nonce="bm9uY2U=" src="https:\/\/r\/secretForm\.js"><\/script>/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, /<main id="app" aria-busy="true" aria-label="Add Secret">/);
    assert.match(webviewHtml({ ...page, title: '<b>"x"' }), /<title>&lt;b>"x"<\/title>/);
  });
});

describe('formatters', () => {
  test('sizes, relative times and elapsed times read naturally', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatMegabytes(1536), '1.5 GB');
    assert.equal(formatMegabytes(40_960), '40 GB');
    assert.equal(formatMegabytes(256), '256 MB');
    const now = new Date('2026-11-22T12:00:00Z');
    assert.equal(relativeTime('2026-11-22T11:59:50Z', now), 'just now');
    assert.equal(relativeTime('2026-11-22T11:55:00Z', now), '5 min ago');
    assert.equal(relativeTime('2026-11-22T09:00:00Z', now), '3 h ago');
    assert.equal(relativeTime('2026-11-21T12:00:00Z', now), '1 day ago');
    assert.equal(relativeTime('2026-11-26T12:00:00Z', now), 'in 4 days');
    assert.equal(formatElapsed(65_000), '1:05');
    assert.equal(formatElapsed(3_725_000), '1:02:05');
  });
});

describe('palette input checks', () => {
  test('InputBoxes check a field with the request schema the daemon enforces, and say so plainly for numbers', () => {
    const handle = fieldValidator(ServersAdd, { handle: 'x', host: 'localhost' }, 'handle');
    assert.equal(handle('prod_vps_1'), undefined);
    assert.match(handle('Prod VPS') ?? '', /handle like "prod_vps_1"/);
    const port = integerValidator(ServersAdd, { handle: 'x', host: 'localhost' }, 'sshPort');
    assert.equal(port('2222'), undefined);
    assert.equal(port('22a'), 'Enter a whole number.');
    assert.ok(port('70000'), 'a port above 65535 is refused');
    assert.deepEqual(toList(' web, db ,,eu '), ['web', 'db', 'eu']);
  });

  test('a suggested server handle is one the daemon accepts', () => {
    for (const [host, expected] of [
      ['203.0.113.5', 's203_0_113_5'],
      ['Web-1.example.com', 'web-1'],
      ['1host.example', 's1host'],
    ] as const) {
      assert.equal(handleFromHost(host), expected);
      assert.equal(fieldValidator(ServersAdd, { host: 'localhost' }, 'handle')(handleFromHost(host)), undefined, host);
    }
  });
});
