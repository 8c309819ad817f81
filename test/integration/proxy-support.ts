/**
 * What the proxy tests share: the proxy image (Debian's caddy binary with the libraries it links, on `scratch`,
 * pushed to the run's registry: no registry on the internet may be asked for `caddy:2`), settings that point the
 * daemon's proxy at free loopback ports with Caddy's internal CA, and HTTPS requests through the proxy that trust
 * that CA's root and nothing else.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { Engine } from '../harness/engine.js';
import { buildImage, pushImage } from '../harness/images.js';
import { freeLoopbackPort } from '../harness/net.js';
import { removeFolder } from '../harness/processes.js';

const CADDY = '/usr/bin/caddy';

/** Builds the proxy image from the host's caddy as `REGISTRY/zavhoz-proxy/caddy:TAG` and pushes it. */
export async function buildProxyImage(engine: Engine, tag = 'test'): Promise<string> {
  if (!fs.existsSync(CADDY)) throw new Error('caddy is missing: install Debian\'s caddy package (.ci/run packages)');
  const reference = `${engine.registry.address}/zavhoz-proxy/caddy:${tag}`;
  const context = fs.mkdtempSync(path.join(engine.dir, 'proxy-build-'));
  try {
    const root = path.join(context, 'root');
    const copy = (from: string): void => {
      const to = path.join(root, from);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(fs.realpathSync(from), to);
      fs.chmodSync(to, 0o755);
    };
    copy(CADDY);
    // The libraries the binary links (ldd's `=> /path` and the loader), at the paths it looks for them.
    const libraries = execFileSync('ldd', [CADDY], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
      .filter((library): library is string => library !== undefined);
    for (const library of libraries) copy(library);
    fs.mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    fs.writeFileSync(
      path.join(context, 'Dockerfile'),
      ['FROM scratch', 'COPY root/ /', 'ENV PATH=/usr/bin:/bin XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config', 'CMD ["caddy", "version"]', ''].join('\n'),
    );
    await buildImage(engine, ['--tag', reference, context]);
  } finally {
    removeFolder(context);
  }
  await pushImage(engine, reference);
  return reference;
}

/** The proxy's ports in a test: free ones on this machine (the proxy runs with host networking). */
export async function proxyPorts(): Promise<{ http: number; https: number }> {
  const http = await freeLoopbackPort();
  let secure = await freeLoopbackPort();
  while (secure === http) secure = await freeLoopbackPort();
  return { http, https: secure };
}

/** The folder of a server's proxy on the (test) server, as daemon/proxy/remote.ts lays it out. */
export function proxyFolderOf(server: string): string {
  return `/opt/zavhoz/proxy/zavhoz-proxy-${server}`;
}

/** The root certificate of the proxy's internal CA, once it made one. */
export function proxyRootCertificate(server: string): string {
  return fs.readFileSync(path.join(proxyFolderOf(server), 'data/caddy/pki/authorities/local/root.crt'), 'utf8');
}

/** One GET through the proxy: TLS to 127.0.0.1:port with SNI and Host `domain`, trusting only `ca`. */
export function httpsGet(domain: string, port: number, ca: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: '127.0.0.1', port, path: '/', servername: domain, headers: { host: domain }, ca, agent: false, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${domain} within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

/** Removes a server's proxy container and folder (the test's teardown). */
export async function removeProxy(engine: Engine, server: string): Promise<void> {
  await engine.docker(['rm', '--force', `zavhoz-proxy-${server}`]).catch(() => undefined);
  fs.rmSync(proxyFolderOf(server), { recursive: true, force: true });
}

/** What a load loop saw. */
export interface LoadReport {
  readonly sent: number;
  readonly failed: number;
  /** Answers per release (`test-web VERSION` of the page). */
  readonly versions: ReadonlyMap<string, number>;
  readonly failures: readonly string[];
  /** When each release first and last answered (ms since the epoch). */
  readonly times: ReadonlyMap<string, { readonly first: number; readonly last: number }>;
}

/** A load loop: `workers` requests at a time through the proxy, each on a new TLS connection, until stopped. */
export function startLoad(domain: string, port: number, ca: string, workers = 2): {
  report(): LoadReport;
  /** The release that answered last. */
  last(): string | undefined;
  /** Waits until `count(versions)` reaches `target` (60 s at most). */
  until(count: (versions: ReadonlyMap<string, number>) => number, target: number): Promise<void>;
  stop(): Promise<LoadReport>;
} {
  let running = true;
  let sent = 0;
  let failed = 0;
  let last: string | undefined;
  const versions = new Map<string, number>();
  const failures: string[] = [];
  const times = new Map<string, { first: number; last: number }>();
  const worker = async (): Promise<void> => {
    while (running) {
      sent += 1;
      try {
        const answer = await httpsGet(domain, port, ca, 15_000);
        const version = /test-web (\S+)/.exec(answer.body)?.[1];
        if (answer.status !== 200 || version === undefined) throw new Error(`status ${answer.status}: ${answer.body.slice(0, 80)}`);
        versions.set(version, (versions.get(version) ?? 0) + 1);
        const now = Date.now();
        times.set(version, { first: times.get(version)?.first ?? now, last: now });
        last = version;
      } catch (error) {
        failed += 1;
        failures.push(`${new Date().toISOString()} ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  const loops = Array.from({ length: workers }, () => worker());
  const report = (): LoadReport => ({ sent, failed, versions: new Map(versions), failures: [...failures], times: new Map(times) });
  return {
    report,
    last: () => last,
    async until(count, target) {
      const deadline = Date.now() + 60_000;
      while (count(versions) < target) {
        if (Date.now() > deadline) throw new Error(`the load loop did not see what it waited for: ${JSON.stringify(Object.fromEntries(versions))}, ${failed} failed`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return report();
    },
  };
}
