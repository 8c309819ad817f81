/**
 * Domains end to end: a real daemon, keychain, sshd, Ansible and the run's container engine (deploy-support.ts);
 * the proxy is a real Caddy (Debian's binary in an image of this run's registry) with its internal CA, which the
 * test trusts; DNS goes to the loopback test double of Cloudflare's API (test/fakes/cloudflare.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DomainChange, DomainInfo } from '../../daemon/protocol/domains.js';
import { type FakeCloudflare, startFakeCloudflare } from '../fakes/cloudflare.js';
import { cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';
import { buildProxyImage, httpsGet, proxyPorts, proxyRootCertificate, removeProxy } from './proxy-support.js';

describe('domains: routed by a Caddy proxy on the server, with HTTPS and DNS records', () => {
  let world: RealDeployWorld;
  let cloudflare: FakeCloudflare;
  let ports: { http: number; https: number };

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'proxy-domains' });
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
    if (world) await removeProxy(world.target.engine, world.server);
    await cloudflare?.stop();
    await world?.dispose();
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
});
