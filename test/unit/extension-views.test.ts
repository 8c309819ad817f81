/**
 * What the extension's trees and status bar show, from the daemon's answers: grouping, descriptions, warnings and
 * deploy states. Pure mapping modules (no VS Code), fed with answers shaped like the protocol's results.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Allocation } from '../../daemon/protocol/allocations.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import type { SecretMetadata } from '../../daemon/protocol/secrets.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { allocationAddress, allocationWarning, groupAllocations } from '../../extension/model/allocations.js';
import { deployStatusText, describeRun, runUrls } from '../../extension/model/runs.js';
import { describeSecret, groupSecrets, secretDetails, secretWarning, SHARED_PROJECT_TITLE } from '../../extension/model/secrets.js';
import { describeServer, groupServers, serverDetails, serverLabels } from '../../extension/model/servers.js';

const now = new Date('2026-11-22T12:00:00Z');
const daysFromNow = (days: number): string => new Date(now.getTime() + days * 86_400_000).toISOString();

function server(handle: string, changes: Partial<ServerInfo> = {}): ServerInfo {
  return {
    handle,
    name: handle,
    host: '203.0.113.10',
    sshPort: 22,
    sshUser: 'root',
    sshKeySecret: 'sec_abcdefgh',
    ramMb: 2048,
    diskMb: 40_960,
    cpuCores: 2,
    availableRamMb: 1536,
    availableDiskMb: 30_720,
    reservedRamMb: 0,
    services: 0,
    listeningPorts: [],
    labels: [],
    provider: null,
    providerId: null,
    providerStatus: null,
    os: null,
    managed: true,
    status: 'ready',
    missingSince: null,
    hostKeyFingerprint: 'SHA256:abc',
    offeredHostKeyFingerprint: null,
    lastCheckAt: null,
    lastCheckError: null,
    createdAt: daysFromNow(-10),
    updatedAt: daysFromNow(-1),
    ...changes,
  };
}

function secret(name: string, changes: Partial<SecretMetadata> = {}): SecretMetadata {
  return {
    handle: `sec_${name.toLowerCase().replace(/[^a-z]/g, '').padEnd(8, 'a').slice(0, 8)}`,
    name,
    type: 'token',
    category: 'api_key',
    project: 'shop',
    tags: [],
    origin: 'user',
    hasPassphrase: false,
    fingerprint: 'f'.repeat(64),
    createdAt: daysFromNow(-30),
    updatedAt: daysFromNow(-30),
    lastUsedAt: null,
    expiresAt: null,
    rotationDays: null,
    version: 1,
    previous: null,
    ...changes,
  };
}

describe('Servers view', () => {
  const servers = [
    server('web_2', { status: 'in_use', services: 2, labels: ['web'] }),
    server('db_1', { labels: ['db'] }),
    server('web_1', { labels: ['web', 'eu'] }),
    server('old', { status: 'missing' }),
    server('laptop', { managed: false, labels: ['web'] }),
    server('new', { status: 'discovered', availableRamMb: null, availableDiskMb: null, ramMb: null, diskMb: null }),
  ];

  test('groups by status in a fixed order, leaves ghosts out, sorts by name', () => {
    const groups = groupServers(servers, { showGhosts: false });
    assert.deepEqual(
      groups.map((group) => [group.key, group.servers.map((entry) => entry.handle)]),
      [
        ['ready', ['db_1', 'web_1']],
        ['in_use', ['web_2']],
        ['discovered', ['new']],
        ['missing', ['old']],
      ],
    );
  });

  test('"Show Ghost Servers" adds the ghosts as their own last group', () => {
    const groups = groupServers(servers, { showGhosts: true });
    assert.deepEqual(groups.at(-1)?.servers.map((entry) => entry.handle), ['laptop']);
    assert.equal(groups.at(-1)?.key, 'ghost');
  });

  test('the label filter keeps only servers with that label, ghosts included when shown', () => {
    const groups = groupServers(servers, { showGhosts: true, label: 'web' });
    assert.deepEqual(groups.flatMap((group) => group.servers.map((entry) => entry.handle)), ['web_1', 'web_2', 'laptop']);
    assert.deepEqual(serverLabels(servers), ['db', 'eu', 'web']);
  });

  test('a server line shows host, free RAM and disk, and its allocation count', () => {
    assert.equal(describeServer(servers[0] as ServerInfo), '203.0.113.10 · 1.5 GB RAM free · 30 GB disk free · 2 allocations');
    assert.equal(describeServer(server('x', { sshPort: 2222, services: 1 })), '203.0.113.10:2222 · 1.5 GB RAM free · 30 GB disk free · 1 allocation');
    assert.equal(describeServer(servers[5] as ServerInfo), '203.0.113.10 · 0 allocations');
  });

  test("a server's proxy: its state, version and domains on the line and in the tooltip; nothing when it has none", () => {
    const proxy = { state: 'running', version: 'v2.6.2', domains: 2, checkedAt: '2026-12-06T10:00:00.000Z', error: null } as const;
    assert.equal(describeServer(server('p', { services: 1, proxy })), '203.0.113.10 · 1.5 GB RAM free · 30 GB disk free · 1 allocation · proxy running v2.6.2, 2 domains');
    assert.equal(describeServer(server('n', { services: 1, proxy: { ...proxy, state: 'not-installed', domains: 0, version: null } })), '203.0.113.10 · 1.5 GB RAM free · 30 GB disk free · 1 allocation');
    const sick = serverDetails(server('s', { proxy: { ...proxy, state: 'unhealthy', domains: 1, error: 'The proxy on s did not take its configuration' } }));
    assert.ok(sick.includes('Proxy: unhealthy v2.6.2, 1 domain (checked 2026-12-06T10:00:00.000Z) — The proxy on s did not take its configuration'), sick.join('\n'));
  });
});

describe('Secrets view', () => {
  test('groups by project (shared last) and category; never shows more than metadata', () => {
    const secrets = [
      secret('TELEGRAM_TOKEN', { category: 'telegram_bot' }),
      secret('API_KEY'),
      secret('DEPLOY_KEY', { project: null, category: 'server', type: 'private_key' }),
      secret('BLOG_TOKEN', { project: 'blog' }),
    ];
    const groups = groupSecrets(secrets, now);
    assert.deepEqual(
      groups.map((group) => [group.title, group.categories.map((category) => [category.title, category.secrets.map((entry) => entry.name)])]),
      [
        ['blog', [['API Keys', ['BLOG_TOKEN']]]],
        ['shop', [['Telegram Bots', ['TELEGRAM_TOKEN']], ['API Keys', ['API_KEY']]]],
        [SHARED_PROJECT_TITLE, [['Servers', ['DEPLOY_KEY']]]],
      ],
    );
  });

  test('expiry and rotation warnings: soon is a warning, past is an error, far is nothing', () => {
    assert.equal(secretWarning(secret('A', { expiresAt: daysFromNow(60) }), now), undefined);
    assert.deepEqual(secretWarning(secret('A', { expiresAt: daysFromNow(3) }), now), { severity: 'warning', text: 'expires in 3 days' });
    assert.deepEqual(secretWarning(secret('A', { expiresAt: daysFromNow(-2) }), now), { severity: 'error', text: 'expired 2 days ago' });
    assert.deepEqual(secretWarning(secret('A', { rotationDays: 20, updatedAt: daysFromNow(-25) }), now), { severity: 'error', text: 'rotation overdue since 5 days ago' });
    assert.equal(secretWarning(secret('A', { rotationDays: 90, updatedAt: daysFromNow(-10) }), now), undefined);
    assert.equal(secretWarning(secret('A', { rotationDays: 90, updatedAt: daysFromNow(-80) }), now)?.severity, 'warning');
  });

  test('a secret line is short: type and age, or its warning; the handle is in the tooltip', () => {
    const shown = secret('API_KEY', { lastUsedAt: daysFromNow(-2), expiresAt: daysFromNow(5) });
    assert.equal(describeSecret(shown, now), 'token · ⚠ expires in 5 d');
    assert.equal(describeSecret(secret('B', { updatedAt: daysFromNow(-3) }), now), 'token · 3 d ago');
    assert.equal(describeSecret(secret('K', { type: 'private_key', updatedAt: daysFromNow(-1) }), now), 'key · 1 d ago');
    assert.ok(secretDetails(shown, now).includes(`Handle: ${shown.handle}`));
    assert.ok(secretDetails(shown, now).some((line) => line === 'Changed 30 days ago; last used 2 days ago'));
    assert.ok(secretDetails(shown, now).some((line) => line.startsWith('Expires 2026-11-27')));
  });
});

describe('Allocations view', () => {
  const allocation = (project: string, module: string, port: number, flags: Allocation['flags'] = []): Allocation => ({
    project,
    module,
    server: 'vps_1',
    port,
    ramMb: 256,
    createdAt: daysFromNow(-1),
    flags,
  });

  test('project → module → server:port, sorted, with flags in words', () => {
    const groups = groupAllocations([allocation('shop', 'worker', 8001), allocation('blog', 'app', 8002), allocation('shop', 'api', 8000, ['server-missing'])]);
    assert.deepEqual(groups.map((group) => [group.project, group.modules.map((entry) => `${entry.module}@${allocationAddress(entry)}`)]), [
      ['blog', ['app@vps_1:8002']],
      ['shop', ['api@vps_1:8000', 'worker@vps_1:8001']],
    ]);
    assert.equal(allocationWarning(groups[1]?.modules[0] as Allocation), 'the server is gone from its provider');
    assert.equal(allocationWarning(groups[1]?.modules[1] as Allocation), undefined);
  });
});

describe('Deploy runs and the status bar', () => {
  const run = (changes: Partial<RunDetail>): RunDetail => ({
    id: 'run_abcdefghij',
    project: 'shop',
    kind: 'deploy',
    releaseId: null,
    rollbackTo: null,
    status: 'running',
    repository: 'me/shop',
    ref: 'main',
    createdAt: daysFromNow(0),
    startedAt: new Date(now.getTime() - 65_000).toISOString(),
    finishedAt: null,
    exitCode: null,
    error: null,
    allocation: { server: 'vps_1', host: '203.0.113.10', port: 8000, modulePorts: { api: 8000, web: 8001 } },
    client: 'vscode',
    requestId: 'vscode-1',
    steps: [
      { name: 'allocate', status: 'succeeded' },
      { name: 'plan', status: 'succeeded' },
      { name: 'playbook', status: 'running', detail: 'TASK [pull images]' },
      { name: 'health', status: 'pending' },
    ],
    plan: null,
    folder: '/tmp/run',
    timeoutSeconds: 1800,
    attempts: 1,
    ...changes,
  });

  test('running: spinner, the step running now and the elapsed time', () => {
    const shown = deployStatusText(run({}), now);
    assert.equal(shown.text, '$(sync~spin) shop: running run playbook 1:05');
    assert.match(shown.tooltip, /TASK \[pull images\]/);
    assert.equal(shown.error, false);
  });

  test('succeeded shows the result and the URLs; failed is in the error colour with the reason', () => {
    const done = deployStatusText(run({ status: 'succeeded', finishedAt: now.toISOString() }), now);
    assert.equal(done.text, '$(pass) shop: succeeded just now');
    assert.match(done.tooltip, /http:\/\/203\.0\.113\.10:8001/);
    const failed = deployStatusText(run({ status: 'failed', finishedAt: now.toISOString(), error: 'Port 8000 is taken on vps_1.' }), now);
    assert.equal(failed.text, '$(error) shop: failed just now');
    assert.equal(failed.error, true);
    assert.match(failed.tooltip, /Port 8000 is taken/);
  });

  test('run lines and result URLs per module', () => {
    assert.equal(describeRun(run({ status: 'succeeded', finishedAt: now.toISOString() }), now), 'succeeded · just now · 1:05 · vps_1');
    assert.deepEqual(runUrls(run({})), [
      { module: 'api', url: 'http://203.0.113.10:8000' },
      { module: 'web', url: 'http://203.0.113.10:8001' },
    ]);
    assert.deepEqual(runUrls(run({ allocation: null })), []);
    // A module with a domain opens its https address; the others keep the direct port.
    const allocation = { server: 'vps_1', host: '203.0.113.10', port: 8000, modulePorts: { api: 8000, web: 8001 }, domainUrls: { web: 'https://shop.example.com' } };
    assert.deepEqual(runUrls(run({ allocation })), [
      { module: 'api', url: 'http://203.0.113.10:8000' },
      { module: 'web', url: 'https://shop.example.com' },
    ]);
  });
});
