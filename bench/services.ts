/**
 * Services: `services/status` for 50 projects on one server (one SSH exec that reads every compose container there,
 * with the daemon's key loan, handshake, parsing and answer) against one bare `docker ps` over a fresh OpenSSH
 * session (issue 14: goal ≤ 2×). The projects are containers started directly with compose labels on the run's real
 * engine, each with an allocation, as 50 deploys would leave them.
 */
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AllocationsAllocate } from '../daemon/protocol/allocations.js';
import { ServicesStatus } from '../daemon/protocol/services.js';
import { setUpRealDeployWorld } from '../test/integration/deploy-support.js';
import { type BenchSection, ratioRow } from './report.js';
import { interleaved, median } from './stats.js';

const PROJECTS = 50;
const SAMPLES = 15;
/** services/status of 50 projects / one bare docker ps over SSH, at most (issue 14). */
const MAX_RATIO = 2;

/** Runs a command over a fresh OpenSSH session and resolves with the time it took; rejects if it fails. */
function overSsh(target: { host: string; port: number; user: string; keyFile: string; knownHosts: string }, command: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ssh',
      ['-F', '/dev/null', '-i', target.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${target.knownHosts}`,
        '-o', 'StrictHostKeyChecking=yes', '-p', String(target.port), `${target.user}@${target.host}`, command],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`ssh ${command} exited ${String(code)}: ${errors}`))));
  });
}

/** Runs the docker client against the engine with no stdin (nothing to write to a client that already left). */
function docker(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('docker', [...args], { env, timeout: 300_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`docker ${args.join(' ')} failed: ${stderr.trim() || error.message}`)) : resolve(),
    );
    child.stdin?.destroy();
  });
}

/** Benchmarks `services/status` of 50 projects on one server against one bare `docker ps` over SSH. */
export async function benchServices(): Promise<BenchSection> {
  const world = await setUpRealDeployWorld({ name: 'bench-services' });
  const bench = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-services-'));
  // Not world.newProject: its clean-up asks the engine three times per project; one `docker rm` removes them all here.
  const run = crypto.randomBytes(3).toString('hex');
  const projects = Array.from({ length: PROJECTS }, (_, index) => `bench-svc-${run}-${index}`);
  const names = projects.flatMap((project) => [`${project}_backend_1`, `${project}_db_1`]);
  try {
    const client = await world.daemon.connect('bench');
    for (const project of projects) await client.request(AllocationsAllocate, { project, minRamMb: 0, minDiskMb: 0 });
    // Two services per project, as the fixture has: 100 containers, started a few at a time.
    const image = world.target.image.reference;
    const starts = projects.flatMap((project) =>
      ['backend', 'db'].map(
        (service) => () =>
          docker(world.target.engine.env, [
            'run', '--detach', '--network', 'none', '--name', `${project}_${service}_1`,
            // No health check (as many images have none): the test image's runs every 2 s, which for 100 containers
            // keeps a 2-core machine's engine busy.
            '--no-healthcheck', '--label', `com.docker.compose.project=${project}`, '--label', `com.docker.compose.service=${service}`, image,
          ]),
      ),
    );
    for (let index = 0; index < starts.length; index += 4) {
      await Promise.all(starts.slice(index, index + 4).map((start) => start()));
      process.stderr.write(`\r  ${Math.min(index + 4, starts.length)} of ${starts.length} containers started`);
    }
    process.stderr.write('\n');

    const keyFile = path.join(bench, 'key');
    fs.writeFileSync(keyFile, world.sshd.clientKey.privateKeyPem, { mode: 0o600 });
    const knownHosts = path.join(bench, 'known_hosts');
    const hostKey = fs.readFileSync(path.join(world.sshd.dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    fs.writeFileSync(knownHosts, `[${world.sshd.host}]:${world.sshd.port} ${hostKey}\n`);
    const target = { host: world.sshd.host, port: world.sshd.port, user: world.sshd.user, keyFile, knownHosts };

    let containers = 0;
    const status = async (): Promise<number> => {
      const started = performance.now();
      const answer = { projects: await client.listAll(ServicesStatus, {}, (page) => page.projects) };
      const elapsed = performance.now() - started;
      const deployed = answer.projects.filter((row) => row.state === 'deployed');
      if (deployed.length !== PROJECTS) throw new Error(`services/status saw ${deployed.length} of ${PROJECTS} projects: ${answer.projects.find((row) => row.error)?.error ?? ''}`);
      containers = deployed.reduce((sum, row) => sum + row.services.length, 0);
      return elapsed;
    };
    const dockerPs = (): Promise<number> => overSsh(target, 'docker ps');
    const [ours = [], bare = []] = await interleaved([status, dockerPs], { count: SAMPLES, warmup: 2, block: 1 });
    client.close();
    return {
      title: `services: status of ${PROJECTS} projects (${containers} containers) on one server over SSH, real engine (medians of ${SAMPLES}, interleaved)`,
      rows: [ratioRow(`services/status, ${PROJECTS} projects vs one bare \`docker ps\` over a fresh OpenSSH session`, median(ours), median(bare), MAX_RATIO)],
    };
  } finally {
    fs.rmSync(bench, { recursive: true, force: true });
    await docker(world.target.engine.env, ['rm', '--force', ...names]).catch(() => undefined);
    await world.dispose();
  }
}
