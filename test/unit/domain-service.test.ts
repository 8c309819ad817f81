/**
 * The domain service over a real store, real project locks and the real proxy service, with the SSH shell to the
 * servers faked (it records the config each proxy was given): what is refused, who may hold a name, and that the
 * proxy of each server always ends up with what the store says.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { type DomainPlacement, DomainService, type DomainSettings } from '../../daemon/domains/service.js';
import { DomainStore } from '../../daemon/domains/store.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ProxyService, type ProxyShell } from '../../daemon/proxy/service.js';
import { ProxyStatusBook } from '../../daemon/proxy/status.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const CALLER = { client: 'cli', requestId: 'r-1' };

/** A fake of the SSH exec of the proxy script: records configs, or answers as a failing server would. */
class FakeServers {
  /** The last config each server's proxy took: the hosts it routes. */
  readonly routed = new Map<string, string[]>();
  /** Servers whose next applies fail, with the script's output. */
  readonly failing = new Map<string, { stdout: string; stderr: string; code: number }>();
  /** How many of a server's next applies fail. */
  readonly failures = new Map<string, number>();
  /** Switchover containers a deploy left running on each server. */
  readonly leftovers = new Map<string, Set<string>>();

  openShell(server: string): Promise<ProxyShell> {
    return Promise.resolve({
      exec: async (command, options) => {
        if (command.includes('zavhoz.slot=1')) {
          const left = this.leftovers.get(server) ?? new Set<string>();
          const removed = [...left].filter((name) => command.includes(`'${name}'`));
          for (const name of removed) left.delete(name);
          return { stdout: removed.map((name) => `removed ${name}\n`).join(''), stderr: '', code: 0 };
        }
        const failure = this.failing.get(server);
        if (failure) return failure;
        const left = this.failures.get(server) ?? 0;
        if (left > 0) {
          this.failures.set(server, left - 1);
          return { stdout: '', stderr: 'ssh: connection reset', code: 255 };
        }
        const config = JSON.parse(options?.stdin ?? '{}') as { apps: { http: { servers: { zavhoz: { routes: { match: { host: string[] }[] }[] } } } } };
        this.routed.set(server, config.apps.http.servers.zavhoz.routes.flatMap((route) => route.match.flatMap((match) => match.host)).sort());
        return { stdout: 'ZAVHOZ_PROXY reloaded\nZAVHOZ_PROXY_VERSION v2.6.2 h1:abc=\n', stderr: '', code: 0 };
      },
      close: () => undefined,
    });
  }
}

describe('domains: the service over the store, the locks and the proxy', () => {
  let folder: string;
  let store: Store;
  let servers: FakeServers;
  let settings: DomainSettings;
  const placements = new Map<string, DomainPlacement>();
  /** Slots the (fake) allocator handed out: `project/module` → port. */
  const slots = new Map<string, number>();
  let service: DomainService;
  let domains: DomainStore;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-domains-'));
    store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
    servers = new FakeServers();
    settings = { proxyTls: 'acme', proxyHttpPort: 80, proxyHttpsPort: 443, dnsTokenSecret: '', cloudflareApiBase: 'https://api.cloudflare.com/client/v4' };
    placements.set('shop', { server: 'alpha', host: '10.0.0.5', ports: { app: 8001 } });
    placements.set('blog', { server: 'alpha', host: '10.0.0.5', ports: { web: 8002 } });
    domains = new DomainStore(EmbeddedDatabase.of(store));
    const proxyStatus = await ProxyStatusBook.open(EmbeddedDatabase.of(store));
    service = new DomainService({
      domains,
      proxy: new ProxyService({ openShell: (server) => servers.openShell(server), image: () => 'caddy:2', seen: (server, seen) => void proxyStatus.record(server, seen) }),
      proxyStatus,
      locks: new ProjectLocks(),
      audit: new AuditLog(EmbeddedDatabase.of(store)),
      notifier: { notify: () => undefined },
      redactor: new Redactor(),
      log: new Logger({ file: path.join(folder, 'daemon.log'), redactor: new Redactor() }).child({ component: 'domains' }),
      placement: async (project) => placements.get(project),
      slotPort: async (project, module) => {
        const port = placements.get(project)?.ports[module];
        if (port === undefined) return undefined;
        slots.set(`${project}/${module}`, port + 100);
        return port + 100;
      },
      releaseSlot: async (project, module) => {
        const port = slots.get(`${project}/${module}`);
        slots.delete(`${project}/${module}`);
        return port;
      },
      deployed: async (project) => placements.has(project),
      settings: () => settings,
      withSecret: () => Promise.reject(new Error('no DNS in these tests')),
    });
  });

  after(() => {
    store.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  async function refusal(work: Promise<unknown>): Promise<ZavhozError> {
    try {
      await work;
    } catch (error) {
      assert.ok(error instanceof ZavhozError, String(error));
      return error;
    }
    assert.fail('the request was let through');
  }

  test('a wildcard with ACME certificates is refused, saying why and what to do instead; nothing is routed', async () => {
    settings = { ...settings, proxyTls: 'acme', dnsTokenSecret: 'sec_aaaaaaaa' };
    const error = await refusal(service.add({ domain: '*.example.com', project: 'shop' }, CALLER));
    assert.equal(error.code, ErrorCodes.PreconditionFailed);
    assert.match(error.message, /wildcard domain \*\.example\.com with proxyTls acme.*DNS-01.*Add each name separately.*zavhoz domain add www\.example\.com --project shop.*not supported yet/);
    assert.equal(await domains.get('*.example.com'), undefined);
    assert.equal(servers.routed.get('alpha'), undefined, 'the proxy was not touched');
    settings = { ...settings, dnsTokenSecret: '' };
  });

  test('with the internal CA, a wildcard is past that check but still needs a DNS token', async () => {
    settings = { ...settings, proxyTls: 'internal' };
    const error = await refusal(service.add({ domain: '*.example.com', project: 'shop' }, CALLER));
    assert.match(error.message, /needs DNS credentials/);
    settings = { ...settings, proxyTls: 'acme' };
  });

  test('two projects adding the same name at once: one gets it, the other is refused, and the name never moves', async () => {
    const results = await Promise.allSettled([
      service.add({ domain: 'race.example.com', project: 'shop' }, CALLER),
      service.add({ domain: 'race.example.com', project: 'blog' }, CALLER),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    const second = results[1];
    assert.ok(second.status === 'rejected' && second.reason instanceof ZavhozError, 'the second add is refused');
    assert.equal(second.reason.code, ErrorCodes.Conflict);
    assert.match(second.reason.message, /race\.example\.com already routes to project shop.*zavhoz domain remove race\.example\.com/);
    assert.equal((await domains.get('race.example.com'))?.project, 'shop');
    assert.deepEqual(servers.routed.get('alpha'), ['race.example.com']);
  });

  test("the store never moves a name to another project, whatever the caller checked", async () => {
    const row = await domains.get('race.example.com');
    assert.ok(row);
    assert.equal(await domains.put({ ...row, project: 'blog', module: 'web' }), false);
    assert.equal((await domains.get('race.example.com'))?.project, 'shop');
    assert.equal(await domains.put({ ...row, module: 'app2' }), true, 'its own project updates it');
    assert.equal((await domains.get('race.example.com'))?.module, 'app2');
    assert.equal(await domains.put(row), true);
  });

  test("an apply queued behind another project's failed add routes what the store says then, not what it said when queued", async () => {
    servers.failures.set('alpha', 1);
    const failing = service.add({ domain: 'rolled.example.com', project: 'shop' }, CALLER);
    // Started together: blog's apply of alpha waits in line behind shop's, which fails.
    const queued = service.add({ domain: 'blog.example.com', project: 'blog' }, CALLER);
    const error = await refusal(failing);
    assert.match(error.message, /did not take its configuration/);
    await queued;
    assert.equal(await domains.get('rolled.example.com'), undefined, 'the failed add was rolled back');
    assert.deepEqual(servers.routed.get('alpha'), ['blog.example.com', 'race.example.com'], 'the proxy routes what the store holds');
  });

  test('a move to another server whose old server fails is rolled back on both proxies', async () => {
    placements.set('shop', { server: 'beta', host: '10.0.0.6', ports: { app: 8001 } });
    servers.failures.set('alpha', 1);
    const error = await refusal(service.add({ domain: 'race.example.com', project: 'shop' }, CALLER));
    assert.match(error.message, /alpha/);
    assert.equal((await domains.get('race.example.com'))?.server, 'alpha', 'the store keeps it on the old server');
    assert.deepEqual(servers.routed.get('beta'), [], 'the new server no longer routes it');
    placements.set('shop', { server: 'alpha', host: '10.0.0.5', ports: { app: 8001 } });
  });

  test('the URL of a module with a domain is its https address, a plain name before a wildcard; modules without one have none', async () => {
    settings = { ...settings, proxyTls: 'internal', dnsTokenSecret: 'sec_aaaaaaaa' };
    placements.set('multi', { server: 'alpha', host: '10.0.0.5', ports: { api: 8003, web: 8004 } });
    // The wildcard has no DNS record to write here (the DNS double is not part of this test): it is a warning.
    await service.add({ domain: '*.multi.example.com', project: 'multi', module: 'web' }, CALLER);
    assert.deepEqual(await service.urlsOf('multi'), {}, 'a wildcard alone names no address to open');
    await service.add({ domain: 'www.multi.example.com', project: 'multi', module: 'web' }, CALLER);
    assert.deepEqual(await service.urlsOf('multi'), { web: 'https://www.multi.example.com' });
    await service.remove('*.multi.example.com', CALLER);
    await service.remove('www.multi.example.com', CALLER);
    placements.delete('multi');
    settings = { ...settings, proxyTls: 'acme', dnsTokenSecret: '' };
  });

  test('the servers views see each proxy: running with its version and domains, unhealthy with why, none where nothing routes', async () => {
    const running = (await service.proxyView())('alpha');
    assert.deepEqual({ ...running, checkedAt: typeof running.checkedAt }, { state: 'running', version: 'v2.6.2', domains: 2, checkedAt: 'string', error: null });
    // A connection that broke before the script ran says nothing of the proxy.
    servers.failures.set('alpha', 1);
    await refusal(service.add({ domain: 'shop.example.com', project: 'shop' }, CALLER));
    assert.equal((await service.proxyView())('alpha').state, 'running');
    servers.failing.set('alpha', { stdout: 'ZAVHOZ_PROXY_FAILED adapting config: unknown module\n', stderr: '', code: 6 });
    await refusal(service.add({ domain: 'shop.example.com', project: 'shop' }, CALLER));
    servers.failing.delete('alpha');
    const unhealthy = (await service.proxyView())('alpha');
    assert.equal(unhealthy.state, 'unhealthy');
    assert.equal(unhealthy.version, 'v2.6.2', 'the last version seen is kept');
    assert.match(unhealthy.error ?? '', /did not take its configuration: adapting config: unknown module/);
    assert.deepEqual((await service.proxyView())('gamma'), { state: 'not-installed', version: null, domains: 0, checkedAt: null, error: null });
    const added = await service.add({ domain: 'shop.example.com', project: 'shop' }, CALLER);
    // The fake proxy says it is Caddy 2.6.2, which drops its certificates on every reload.
    assert.equal(added.proxy, 'reloaded');
    assert.match(added.warnings.join('\n'), /The proxy on alpha runs Caddy v2\.6\.2, which reloads its certificates on every change \(before 2\.7\).*zavhoz config set proxyImage caddy:2/);
    assert.deepEqual({ ...(await service.proxyView())('alpha'), checkedAt: null }, { state: 'running', version: 'v2.6.2', domains: 3, checkedAt: null, error: null });
  });

  test("a module's last domain going gives its slot back and removes a switchover container a deploy left; a module with a domain left keeps it", async () => {
    placements.set('slotty', { server: 'alpha', host: '10.0.0.5', ports: { app: 8010, admin: 8011 } });
    await service.add({ domain: 'a.slotty.example.com', project: 'slotty', module: 'app' }, CALLER);
    await service.add({ domain: 'b.slotty.example.com', project: 'slotty', module: 'app' }, CALLER);
    await service.add({ domain: 'admin.slotty.example.com', project: 'slotty', module: 'admin' }, CALLER);
    assert.deepEqual(
      (await service.switchOf('slotty', 'alpha'))?.modules.map((entry) => [entry.module, entry.slotPort]),
      [['app', 8110], ['admin', 8111]],
      'a deploy got a slot for each module with a domain',
    );
    servers.leftovers.set('alpha', new Set(['slotty-zavhoz-slot-app', 'slotty-zavhoz-slot-admin']));

    await service.remove('a.slotty.example.com', CALLER);
    assert.equal(slots.get('slotty/app'), 8110, 'app still has b.slotty.example.com: its slot stays');
    assert.equal(servers.leftovers.get('alpha')?.size, 2, 'nothing was removed on the server');

    await service.remove('b.slotty.example.com', CALLER);
    assert.equal(slots.has('slotty/app'), false, "app's last domain went: its slot port is given back");
    assert.deepEqual([...(servers.leftovers.get('alpha') ?? [])], ['slotty-zavhoz-slot-admin'], "app's leftover switchover container is removed, admin's is not");
    assert.equal(slots.get('slotty/admin'), 8111);
    assert.ok(!(servers.routed.get('alpha') ?? []).some((domain) => domain.endsWith('slotty.example.com') && domain !== 'admin.slotty.example.com'));

    // A domain moved to another module of the project: the module it left has none, so its slot goes too.
    await service.add({ domain: 'admin.slotty.example.com', project: 'slotty', module: 'app' }, CALLER);
    assert.equal(slots.has('slotty/admin'), false);
    assert.equal(servers.leftovers.get('alpha')?.size, 0);
    await service.remove('admin.slotty.example.com', CALLER);
    placements.delete('slotty');
  });

  test('a server removed from the inventory: its proxy and the domains it routed are forgotten, other servers keep theirs', async () => {
    placements.set('gone', { server: 'delta', host: '10.0.0.9', ports: { app: 8020 } });
    await service.add({ domain: 'gone.example.com', project: 'gone' }, CALLER);
    await service.add({ domain: 'www.gone.example.com', project: 'gone' }, CALLER);
    assert.equal((await service.proxyView())('delta').state, 'running');
    const before = (await service.list()).filter((row) => row.server !== 'delta').map((row) => row.domain);
    const notes: string[] = [];

    const forgotten = await service.forgetServer('delta', CALLER, (message) => notes.push(message));
    assert.deepEqual(forgotten, ['gone.example.com', 'www.gone.example.com']);
    assert.deepEqual(notes, [], 'no DNS record was written, so none is left behind');
    assert.deepEqual((await service.proxyView())('delta'), { state: 'not-installed', version: null, domains: 0, checkedAt: null, error: null });
    assert.deepEqual((await service.list()).map((row) => row.domain), before, "the other servers' domains stay");
    assert.equal((await service.proxyView())('alpha').state, 'running');
    // The names are free again: a project on another server may take one.
    placements.set('gone', { server: 'alpha', host: '10.0.0.5', ports: { app: 8020 } });
    await service.add({ domain: 'gone.example.com', project: 'shop' }, CALLER);
    assert.equal((await domains.get('gone.example.com'))?.server, 'alpha');
    await service.remove('gone.example.com', CALLER);
    placements.delete('gone');
    assert.deepEqual(await service.forgetServer('delta', CALLER, () => assert.fail('nothing to note')), [], 'forgetting twice does nothing');
  });
});
