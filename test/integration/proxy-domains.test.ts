/**
 * Domains end to end: a real daemon, keychain, sshd, Ansible and the run's container engine (deploy-support.ts);
 * the proxy is a real Caddy (Debian's binary in an image of this run's registry) with its internal CA, which the
 * test trusts; DNS goes to the loopback test double of Cloudflare's API (test/fakes/cloudflare.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DomainChange, DomainInfo } from '../../daemon/protocol/domains.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import type { ProjectStatus } from '../../daemon/protocol/services.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { buildWebImage } from '../harness/images.js';
import { type FakeCloudflare, startFakeCloudflare } from '../fakes/cloudflare.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook.js';
import { freeLoopbackPort } from '../harness/net.js';
import { sshArgs } from '../harness/sshd.js';
import { cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';
import { buildProxyImage, httpsGet, proxyFolderOf, proxyPorts, proxyRootCertificate, removeProxy, startLoad } from './proxy-support.js';

describe('domains: routed by a Caddy proxy on the server, with HTTPS and DNS records', () => {
  let world: RealDeployWorld;
  let cloudflare: FakeCloudflare;
  let ports: { http: number; https: number };
  /** Receivers a test started, stopped with the world. */
  const webhooks: WebhookReceiver[] = [];

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'proxy-domains', server: `proxy_${String(process.pid)}` });
    cloudflare = await startFakeCloudflare({ zones: ['example.test'] });
    const image = await buildProxyImage(world.target.engine);
    ports = await proxyPorts();
    await cliJson(world.daemon, ['config', 'set', 'proxyImage', image]);
    await cliJson(world.daemon, ['config', 'set', 'proxyTls', 'internal']);
    await cliJson(world.daemon, ['config', 'set', 'proxyHttpPort', String(ports.http)]);
    await cliJson(world.daemon, ['config', 'set', 'proxyHttpsPort', String(ports.https)]);
    await cliJson(world.daemon, ['config', 'set', 'cloudflareApiBase', cloudflare.url]);
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    if (world) await removeProxy(world.target.engine, world.server);
    await cloudflare?.stop();
    await Promise.all(webhooks.map((receiver) => receiver.stop()));
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  const add = (domain: string, project: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    world.daemon.cli(['domain', 'add', domain, '--project', project, '--json']);

  test('refusals: a project not deployed, an invalid name, a wildcard without DNS credentials', async () => {
    const project = world.newProject('nodeploy');
    const notDeployed = await add(`${project}.example.test`, project);
    assert.equal(notDeployed.code, 1);
    assert.match(notDeployed.stderr, /is not deployed/);
    const invalid = await add('shop..example.test', project);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /not a domain Zavhoz can route/);
    const wildcard = await add('*.example.test', project);
    assert.equal(wildcard.code, 1);
    assert.match(wildcard.stderr, /wildcard domain .* needs DNS credentials.*dnsTokenSecret/);
  });

  test('add: the proxy is installed and serves the module over HTTPS, the A record points at the server; another project cannot take the name; remove undoes both', async () => {
    const { handle: token } = await cliJson<{ handle: string }>(world.daemon, ['secret', 'set', 'CLOUDFLARE_TOKEN', '--type', 'token', '--category', 'domain'], cloudflare.token);
    world.values.set(token, cloudflare.token);
    await cliJson(world.daemon, ['config', 'set', 'dnsTokenSecret', token]);
    const project = world.newProject('dom');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const domain = `${project}.example.test`;

    const added = await cliJson<DomainChange>(world.daemon, ['domain', 'add', domain, '--project', project]);
    assert.equal(added.proxy, 'started', 'the first domain of a server installs its proxy');
    assert.equal(added.dnsAction, 'created');
    assert.deepEqual(added.warnings, []);
    assert.equal(added.domain.url, `https://${domain}:${ports.https}`);
    assert.deepEqual(added.domain.dns, { type: 'A', content: world.sshd.host });
    assert.deepEqual(
      cloudflare.records.map((record) => [record.type, record.name, record.content]),
      [['A', domain, world.sshd.host]],
    );
    const page = await httpsGet(domain, ports.https, proxyRootCertificate(world.server));
    assert.equal(page.status, 200);
    assert.match(page.body, /test-web 1\.0\.0/, 'the module answers through the proxy, over HTTPS with a certificate the CA signed');
    for (const value of world.values.values()) assert.ok(!JSON.stringify(added).includes(value), 'no secret value in the answer');

    // Open Service URL, the runs and the CLI's JSON all give the https address of a module with a domain.
    const status = await cliJson<ProjectStatus[]>(world.daemon, ['service', 'status', '--project', project]);
    assert.deepEqual(status[0]?.services.filter((service) => service.module === 'app').map((service) => service.url), [added.domain.url]);
    const runs = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.deepEqual(runs[0]?.allocation?.domainUrls, { app: added.domain.url });

    const listed = await cliJson<DomainInfo[]>(world.daemon, ['domain', 'list', '--project', project]);
    assert.deepEqual(listed.map((entry) => [entry.domain, entry.module, entry.server]), [[domain, 'app', world.server]]);

    const other = world.newProject('other');
    await storeUserSecrets(world, other);
    await deployAndWait(world, other);
    const taken = await add(domain, other);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, new RegExp(`already routes to project ${project}`));
    const second = await cliJson<DomainChange>(world.daemon, ['domain', 'add', `www.${other}.example.test`, '--project', other]);
    assert.equal(second.proxy, 'reloaded', 'a running proxy is reloaded, not restarted');
    // The test image is Debian's Caddy 2.6, which drops its certificates for a moment on every reload: the user is told.
    assert.match(second.warnings.join('\n'), /runs Caddy v?2\.6\.\d+, which reloads its certificates on every change/);
    assert.match((await httpsGet(domain, ports.https, proxyRootCertificate(world.server))).body, /test-web/, 'the first domain still answers');

    const removed = await cliJson<DomainChange>(world.daemon, ['domain', 'remove', domain]);
    assert.equal(removed.dnsAction, 'removed');
    assert.deepEqual(cloudflare.records.map((record) => record.name), [`www.${other}.example.test`]);
    const gone = await httpsGet(domain, ports.https, proxyRootCertificate(world.server)).catch((error: unknown) => ({ status: 0, body: String(error) }));
    assert.doesNotMatch(gone.body, /test-web/, 'a removed domain reaches no module');
    assert.deepEqual(await cliJson<DomainInfo[]>(world.daemon, ['domain', 'list', '--project', project]), []);

    // Undeploy removes the project's domains and records.
    const undeployed = await world.daemon.cli(['undeploy', '--project', other, '--yes', '--json']);
    assert.equal(undeployed.code, 0, undeployed.stderr);
    assert.deepEqual(await cliJson<DomainInfo[]>(world.daemon, ['domain', 'list']), []);
    assert.deepEqual(cloudflare.records, []);
  });

  test('zero downtime: a load loop through the domain sees no failed request across a deploy, a rollback and a release that fails its health check, which never gets a request', async () => {
    const project = world.newProject('zero');
    await storeUserSecrets(world, project);
    const first = (await deployAndWait(world, project)).run;
    const domain = `${project}.example.test`;
    await cliJson<DomainChange>(world.daemon, ['domain', 'add', domain, '--project', project]);
    const load = startLoad(domain, ports.https, proxyRootCertificate(world.server));
    try {
      await load.until((seen) => seen.get('1.0.0') ?? 0, 20);

      const v2 = await buildWebImage(world.target.engine, { name: 'zavhoz-proxy-domains/backend', tag: '1.0.0', version: '2.0.0' });
      assert.ok(v2.digest);
      const deployed = await deployAndWait(world, project);
      assert.match(deployed.log, /Health check of the new release beside the old one/, 'the module switched over behind the proxy');
      await load.until((seen) => seen.get('2.0.0') ?? 0, 20);
      const afterDeploy = load.report();

      const rollback = await world.daemon.cli(['rollback', '--project', project, '--to', first.releaseId ?? '', '--wait', '--json']);
      const rolled = JSON.parse(rollback.stdout || '{}') as RunDetail;
      if (rolled.status !== 'succeeded') {
        const log = await world.daemon.cli(['run', 'log', rolled.id]);
        assert.fail(`the rollback ${rolled.status}: ${rolled.error ?? rollback.stderr}\n${log.stdout.split('\n').slice(-60).join('\n')}`);
      }
      await load.until((seen) => (load.last() === '1.0.0' ? (seen.get('1.0.0') ?? 0) : 0), 1);
      const afterRollback = load.report();

      // A release whose health check fails beside the old one: the old keeps every request.
      await buildWebImage(world.target.engine, { name: 'zavhoz-proxy-domains/backend', tag: '1.0.0', version: '9.9.9-bad' });
      const failing = await world.daemon.cli([...['deploy', world.fixture, '--project', project, '--repo', 'Acme/Demo', '--repo-url', world.repository.url], '--health-path', '/missing', '--wait', '--json']);
      assert.equal(failing.code, 1, failing.stderr);
      const failed = JSON.parse(failing.stdout) as RunDetail;
      assert.match(failed.error ?? '', /Health check of the new release beside the old one/);
      const before = load.report().sent;
      await load.until(() => (load.report().sent - before >= 20 ? 1 : 0), 1);
      const total = await load.stop();
      console.log(
        `zero-downtime load: ${total.sent} requests, ${total.failed} failed; after the deploy ${afterDeploy.sent} (${afterDeploy.failed} failed), after the rollback ${afterRollback.sent} (${afterRollback.failed} failed); versions ${JSON.stringify(Object.fromEntries(total.versions))}`,
      );
      assert.equal(total.failed, 0, `failed requests: ${total.failures.slice(0, 5).join('; ')}`);
      assert.equal(total.versions.get('9.9.9-bad') ?? 0, 0, 'the failing release never got a request');
      assert.equal(load.last(), '1.0.0');
    } finally {
      await load.stop();
    }
  });

  test('the proxy container killed on the server: the next health check brings it back, the audit log says so and proxy.restarted is sent; a proxy that runs but does not serve is unhealthy', async () => {
    const signingKey = crypto.randomBytes(16).toString('hex');
    const receiver = await startWebhookReceiver(signingKey);
    webhooks.push(receiver);
    const keyHandle = await world.storeSecret('PROXY_WEBHOOK_KEY', 'token', signingKey);
    await cliJson(world.daemon, ['notify', 'add', 'webhook', '--name', 'proxy', '--url', receiver.url, '--signing-key-secret', keyHandle, '--events', 'proxy.restarted']);
    const project = world.newProject('revive');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const domain = `${project}.example.test`;
    await cliJson<DomainChange>(world.daemon, ['domain', 'add', domain, '--project', project]);
    const container = `zavhoz-proxy-${world.server}`;
    // Stopped the way an operator or the OOM killer would leave it: not running, and not restarted by its policy.
    await world.target.engine.docker(['stop', '--time', '1', container]);
    const down = await httpsGet(domain, ports.https, proxyRootCertificate(world.server), 3_000).catch((error: unknown) => ({ status: 0, body: String(error) }));
    assert.equal(down.status, 0, 'nothing answers while the proxy is down');

    await cliJson(world.daemon, ['server', 'check', world.server]);
    const state = (await world.target.engine.docker(['inspect', '--format', '{{.State.Running}}', container])).stdout.trim();
    assert.equal(state, 'true', 'the check started the proxy again');
    const page = await httpsGet(domain, ports.https, proxyRootCertificate(world.server));
    assert.match(page.body, /test-web/, 'with the routes it had');
    const audit = await cliJson<{ action: string; subject: string; detail: Record<string, string> }[]>(world.daemon, ['audit', 'list', '--subject', `server:${world.server}`, '--limit', '50']);
    const entry = audit.find((item) => item.action === 'proxy-restart');
    assert.ok(entry, `the audit log says the proxy was brought back: ${JSON.stringify(audit.map((item) => item.action))}`);
    assert.equal(entry.detail.action, 'restarted');
    const [delivered] = await receiver.waitForAccepted(1);
    const message = JSON.parse(delivered?.body ?? '{}') as { event: string; subject: string; text: string; detail: Record<string, string> };
    assert.equal(message.event, 'proxy.restarted');
    assert.equal(message.subject, world.server);
    assert.deepEqual([message.detail.server, message.detail.action, message.detail.cause], [world.server, 'restarted', 'health check']);
    assert.match(message.text, /was stopped; it was started again by a health check/);
    // Every view shows the proxy on its server: the JSON answers, and the CLI's table.
    const shown = await cliJson<ServerInfo>(world.daemon, ['server', 'show', world.server]);
    assert.equal(shown.proxy?.state, 'running', JSON.stringify(shown.proxy));
    assert.match(shown.proxy.version ?? '', /^v?2\.\d+/);
    assert.ok(shown.proxy.domains >= 1);
    const table = await world.daemon.cli(['server', 'list']);
    assert.match(table.stdout, /PROXY/);
    assert.match(table.stdout, /running v?2\.\S*, \d+ domains?/);

    // A check that finds it running does nothing and records nothing.
    await cliJson(world.daemon, ['server', 'check', world.server]);
    const again = await cliJson<{ action: string }[]>(world.daemon, ['audit', 'list', '--subject', `server:${world.server}`, '--limit', '50']);
    assert.equal(again.filter((item) => item.action === 'proxy-restart').length, 1);

    // Running but not serving: its config was changed by hand on the server to listen on another port.
    const configFile = path.join(proxyFolderOf(world.server), 'config', 'caddy.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { apps: { http: { servers: { zavhoz: { listen: string[] } } } } };
    config.apps.http.servers.zavhoz.listen = [`:${String(await freeLoopbackPort())}`];
    fs.writeFileSync(configFile, JSON.stringify(config));
    await world.target.engine.docker(['exec', container, 'caddy', 'reload', '--config', '/etc/zavhoz-caddy/caddy.json']);
    const broken = await cliJson<ServerInfo>(world.daemon, ['server', 'check', world.server]);
    assert.equal(broken.proxy?.state, 'unhealthy', JSON.stringify(broken.proxy));
    assert.match(broken.proxy.error ?? '', new RegExp(`runs but does not serve: a request for ${project}\\.example\\.test on its HTTPS port ${String(ports.https)} got .*\\(curl exit 7\\)\\. Nothing listens on port`));
    assert.match((await world.daemon.cli(['server', 'show', world.server])).stdout, /unhealthy.*runs but does not serve/);
    // The next domain change writes its config again: the check finds it serving.
    await cliJson<DomainChange>(world.daemon, ['domain', 'add', `www.${domain}`, '--project', project]);
    const healed = await cliJson<ServerInfo>(world.daemon, ['server', 'check', world.server]);
    assert.equal(healed.proxy?.state, 'running', JSON.stringify(healed.proxy));
    assert.equal(healed.proxy.error, null);
    assert.equal(receiver.accepted.length, 1, 'no restart, no second message');
  });

  test('a server without curl: the health check sends its request through the proxy with python3, and still finds a proxy that does not serve', async () => {
    const project = world.newProject('nocurl');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const domain = `${project}.example.test`;
    await cliJson<DomainChange>(world.daemon, ['domain', 'add', domain, '--project', project]);
    // This server's PATH has every program of /usr/bin but curl (/bin is /usr/bin here, so it is left out).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-no-curl-'));
    for (const name of fs.readdirSync('/usr/bin')) if (name !== 'curl') fs.symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
    await world.setRemoteSystemPath(`${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin`);
    const configFile = path.join(proxyFolderOf(world.server), 'config', 'caddy.json');
    const config = fs.readFileSync(configFile, 'utf8');
    try {
      const tools = execFileSync('ssh', [...sshArgs(world.sshd), `${world.sshd.user}@${world.sshd.host}`, 'command -v curl || echo "no curl"; command -v python3 >/dev/null && echo python3'], { encoding: 'utf8' });
      assert.deepEqual(tools.trim().split('\n'), ['no curl', 'python3'], 'the server as the test means it: python3, no curl');

      const serving = await cliJson<ServerInfo>(world.daemon, ['server', 'check', world.server]);
      assert.deepEqual([serving.proxy?.state, serving.proxy?.error], ['running', null], JSON.stringify(serving.proxy));

      // Running but listening elsewhere: python3's request is refused, and the check says so as it would with curl.
      const moved = JSON.parse(config) as { apps: { http: { servers: { zavhoz: { listen: string[] } } } } };
      moved.apps.http.servers.zavhoz.listen = [`:${String(await freeLoopbackPort())}`];
      fs.writeFileSync(configFile, JSON.stringify(moved));
      await world.target.engine.docker(['exec', `zavhoz-proxy-${world.server}`, 'caddy', 'reload', '--config', '/etc/zavhoz-caddy/caddy.json']);
      const broken = await cliJson<ServerInfo>(world.daemon, ['server', 'check', world.server]);
      assert.equal(broken.proxy?.state, 'unhealthy', JSON.stringify(broken.proxy));
      assert.match(broken.proxy.error ?? '', new RegExp(`a request for ${project}\\.example\\.test on its HTTPS port ${String(ports.https)} got python3: ConnectionRefusedError: .*\\(python3 exit 7\\)\\. Nothing listens on port`));
    } finally {
      fs.writeFileSync(configFile, config);
      await world.target.engine.docker(['exec', `zavhoz-proxy-${world.server}`, 'caddy', 'reload', '--config', '/etc/zavhoz-caddy/caddy.json']).catch(() => undefined);
      await world.setRemoteSystemPath(undefined);
      fs.rmSync(bin, { recursive: true, force: true });
    }
    const healed = await cliJson<ServerInfo>(world.daemon, ['server', 'check', world.server]);
    assert.equal(healed.proxy?.state, 'running', JSON.stringify(healed.proxy));
  });

  // Last: it removes the file's server.
  test('the server removed: the domains it routed and its proxy are forgotten and their DNS records deleted; added again, it has no proxy yet', async () => {
    const project = world.newProject('leave');
    await storeUserSecrets(world, project);
    await deployAndWait(world, project);
    const domain = `${project}.example.test`;
    await cliJson<DomainChange>(world.daemon, ['domain', 'add', domain, '--project', project]);
    assert.ok(cloudflare.records.some((record) => record.name === domain), 'the domain has its A record');
    assert.equal((await cliJson<ServerInfo>(world.daemon, ['server', 'show', world.server])).proxy?.state, 'running');

    const removed = await world.daemon.cli(['server', 'remove', world.server, '--force', '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await cliJson<DomainInfo[]>(world.daemon, ['domain', 'list']), [], 'no domain routes through a server that is gone');
    assert.deepEqual(cloudflare.records, [], 'their records no longer point at its address');

    await cliJson(world.daemon, ['server', 'add', world.server, '--host', world.sshd.host, '--ssh-port', String(world.sshd.port), '--ssh-user', world.sshd.user, '--ssh-key-secret', world.sshKeyHandle]);
    const again = await cliJson<ServerInfo>(world.daemon, ['server', 'show', world.server]);
    assert.equal(again.proxy?.state, 'not-installed', `the old proxy state is gone: ${JSON.stringify(again.proxy)}`);
  });
});
