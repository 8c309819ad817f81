/**
 * Proxy: a module behind the server's Caddy proxy (a real one: Debian's caddy in an image of the run's registry,
 * internal CA), on the test sshd with the run's real container engine (test/harness/engine.ts):
 * - requests served and failed while a load loop (2 at a time, a new TLS connection each) hits the domain through a
 *   deploy of a new release and through a rollback (goal: none failed);
 * - the switchover: from the first answer of the new release to the last answer of the old one (both serve only
 *   while the proxy drains), and the deploy's and rollback's wall time;
 * - latency of one request through the proxy (HTTPS, kept-alive connection) against a direct one to the module's
 *   published port (HTTP, kept-alive), interleaved, same run: the ratio;
 * - requests to one domain that failed while another domain is added and removed 50 times (goal: none failed).
 */
import http from 'node:http';
import https from 'node:https';
import { type RunDetail } from '../daemon/protocol/runs.js';
import { buildWebImage } from '../test/harness/images.js';
import { cliJson, deployAndWait, type RealDeployWorld, setUpRealDeployWorld, storeUserSecrets } from '../test/integration/deploy-support.js';
import { buildProxyImage, type LoadReport, proxyPorts, proxyRootCertificate, removeProxy, startLoad } from '../test/integration/proxy-support.js';
import { type BenchRow, type BenchSection, formatMs, ratioRow } from './report.js';
import { median } from './stats.js';

const LATENCY_SAMPLES = 300;
/** Domain changes (adds and removes of another domain) the churn row makes under load. */
const DOMAIN_CHANGES = 50;
/** Through the proxy / direct, at most: TLS and one more hop on loopback. */
const MAX_LATENCY_RATIO = 3;

function get(agent: http.Agent, options: https.RequestOptions, secure: boolean): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request({ ...options, agent }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${response.statusCode ?? 0}`))));
    });
    request.on('error', reject);
    request.end();
  });
}

function loadRows(name: string, report: LoadReport, from: string, to: string, wallMs: number): BenchRow[] {
  const newFirst = report.times.get(to)?.first;
  const oldLast = report.times.get(from)?.last;
  const overlap = newFirst !== undefined && oldLast !== undefined ? Math.max(0, oldLast - newFirst) : undefined;
  return [
    { name: `${name}: requests served`, value: `${report.sent - report.failed} of ${report.sent}`, goal: '0 failed', ok: report.failed === 0 },
    { name: `${name}: switchover (new release's first answer → old one's last)`, value: overlap === undefined ? 'n/a' : formatMs(overlap) },
    { name: `${name}: wall time`, value: formatMs(wallMs) },
  ];
}

/**
 * Sends requests to `domain` while another domain of `project` is added and removed `changes` times in all; what the
 * load loop saw, and how long the changes took. Exported for a one-off run against a deployed world.
 */
export async function domainChurnUnderLoad(
  world: RealDeployWorld,
  project: string,
  domain: string,
  httpsPort: number,
  ca: string,
  changes = DOMAIN_CHANGES,
): Promise<{ report: LoadReport; wallMs: number }> {
  const load = startLoad(domain, httpsPort, ca);
  await load.until((seen) => [...seen.values()].reduce((sum, count) => sum + count, 0), 20);
  const started = Date.now();
  const other = `churn.${domain}`;
  for (let change = 0; change < changes; change += 1) {
    await cliJson(world.daemon, change % 2 === 0 ? ['domain', 'add', other, '--project', project] : ['domain', 'remove', other]);
  }
  const wallMs = Date.now() - started;
  const report = await load.stop();
  return { report, wallMs };
}

/** The proxy section of `npm run bench -- proxy`. */
export async function benchProxy(): Promise<BenchSection> {
  let world: RealDeployWorld | undefined;
  try {
    world = await setUpRealDeployWorld({ name: 'bench-proxy', server: `bench_proxy_${String(process.pid)}` });
    const image = await buildProxyImage(world.target.engine, 'bench');
    const ports = await proxyPorts();
    for (const [key, value] of [['proxyImage', image], ['proxyTls', 'internal'], ['proxyHttpPort', String(ports.http)], ['proxyHttpsPort', String(ports.https)]] as const) {
      await cliJson(world.daemon, ['config', 'set', key, value]);
    }
    const project = world.newProject('bench');
    await storeUserSecrets(world, project);
    const first = (await deployAndWait(world, project)).run;
    const domain = `${project}.example.test`;
    await cliJson(world.daemon, ['domain', 'add', domain, '--project', project]);
    const ca = proxyRootCertificate(world.server);
    const port = first.allocation?.port ?? 0;

    // Latency, interleaved so both see the same machine load.
    const direct = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const proxied = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    const directTimes: number[] = [];
    const proxyTimes: number[] = [];
    for (let index = 0; index < LATENCY_SAMPLES + 20; index += 1) {
      const d = await get(direct, { host: world.sshd.host, port, path: '/' }, false);
      const p = await get(proxied, { host: '127.0.0.1', port: ports.https, path: '/', servername: domain, headers: { host: domain } }, true);
      if (index >= 20) {
        directTimes.push(d);
        proxyTimes.push(p);
      }
    }
    direct.destroy();
    proxied.destroy();

    // Another domain added and removed under load: the domain that stays must not notice.
    const churn = await domainChurnUnderLoad(world, project, domain, ports.https, ca);

    // A deploy of a new release and a rollback under load.
    const load = startLoad(domain, ports.https, ca);
    await load.until((seen) => seen.get('1.0.0') ?? 0, 20);
    await buildWebImage(world.target.engine, { name: 'zavhoz-bench-proxy/backend', tag: '1.0.0', version: '2.0.0' });
    let started = Date.now();
    await deployAndWait(world, project);
    const deployMs = Date.now() - started;
    await load.until((seen) => seen.get('2.0.0') ?? 0, 20);
    const afterDeploy = await load.stop();

    const again = startLoad(domain, ports.https, ca);
    await again.until((seen) => seen.get('2.0.0') ?? 0, 20);
    started = Date.now();
    const rolled = await cliJson<RunDetail>(world.daemon, ['rollback', '--project', project, '--to', first.releaseId ?? '', '--wait']);
    const rollbackMs = Date.now() - started;
    if (rolled.status !== 'succeeded') throw new Error(`the rollback failed: ${rolled.error ?? ''}`);
    await again.until((seen) => seen.get('1.0.0') ?? 0, 20);
    const afterRollback = await again.stop();

    return {
      title: 'proxy: zero-downtime switchover and latency through Caddy',
      rows: [
        ...loadRows('deploy', afterDeploy, '1.0.0', '2.0.0', deployMs),
        ...loadRows('rollback', afterRollback, '2.0.0', '1.0.0', rollbackMs),
        {
          name: `requests to a domain while another is added and removed ${DOMAIN_CHANGES} times`,
          value: `${churn.report.failed} failed of ${churn.report.sent} (${formatMs(churn.wallMs)} for the changes)${churn.report.failures.length > 0 ? `: ${churn.report.failures.slice(0, 2).join('; ')}` : ''}`,
          goal: '0 failed',
          ok: churn.report.failed === 0,
        },
        ratioRow(`latency through the proxy (HTTPS) vs direct (HTTP), median of ${LATENCY_SAMPLES}`, median(proxyTimes), median(directTimes), MAX_LATENCY_RATIO),
      ],
    };
  } finally {
    if (world) {
      await removeProxy(world.target.engine, world.server);
      await world.dispose();
    }
  }
}
