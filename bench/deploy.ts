/**
 * Deploy: one redeploy of the fixture project through the daemon (deploy/start with wait: allocation, plan, vault
 * loans, pre-flight, ansible-playbook, clean-up) against a bare `ansible-playbook` run of the same playbook,
 * inventory and extra vars — the daemon's overhead — and the same bare run with our ansible.cfg against Ansible's
 * defaults (no pipelining, Ansible's own ControlPersist). Target: the test sshd on loopback with the docker test
 * double; every run starts with no SSH master alive, as a deploy does.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnvironment, playbookArguments } from '../daemon/deploy/ansible.js';
import { inventoryFor } from '../daemon/deploy/inventoryFile.js';
import { closeMasters } from '../daemon/deploy/preflight.js';
import { playbooksFolder, RUN_FILES, RunFolder } from '../daemon/deploy/runFolder.js';
import { DeployStart, type RunDetail } from '../daemon/protocol/runs.js';
import { cliJson, FIXTURE, setUpDeployWorld } from '../test/integration/deploy-support.js';
import { type BenchSection, formatMs, formatRatio, ratioRow } from './report.js';
import { interleaved, median } from './stats.js';

const SAMPLES = 5;
/** Daemon deploy / bare ansible-playbook, at most. */
const MAX_OVERHEAD = 1.05;

/** Ansible's defaults, except that its files stay in the bench folder rather than ~/.ansible. */
const DEFAULTS_CONFIG = ['[defaults]', 'home = ./ansible-home', 'local_tmp = ./tmp', 'retry_files_enabled = False', '[ssh_connection]', 'control_path_dir = ./cp', ''].join('\n');

/** Runs ansible-playbook to the end; rejects if it fails. */
function runAnsible(folder: RunFolder, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ansible-playbook', playbookArguments(folder), { cwd: folder.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ansible-playbook exited ${String(code)}:\n${output.slice(-2000)}`))));
  });
}

/** Benchmarks a daemon deploy against bare ansible-playbook, and our ansible.cfg against Ansible's defaults. */
export async function benchDeploy(): Promise<BenchSection> {
  const world = await setUpDeployWorld();
  const bench = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-deploy-'));
  const bareFolders: RunFolder[] = [];
  try {
    const project = world.newProject('bench');
    await world.storeSecret('API_TOKEN', 'token', 'bench-api-token-value', project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', 'bench-webhook-value', project);
    const client = await world.daemon.connect('bench');
    const params = {
      folder: FIXTURE,
      project,
      repository: 'Acme/Demo',
      ref: 'main',
      bindings: {},
      repoUrl: world.repository.url,
      registry: 'ghcr.io',
      timeoutSeconds: 600,
      wait: true,
    };
    const daemonDeploy = async (): Promise<number> => {
      const started = performance.now();
      const run: RunDetail = await client.request(DeployStart, params);
      const elapsed = performance.now() - started;
      if (run.status !== 'succeeded') throw new Error(`bench deploy ${run.id} ${run.status}: ${run.error ?? ''}`);
      return elapsed;
    };
    // The first deploy clones and generates the infra secrets; the timed ones are redeploys.
    const first = await client.request(DeployStart, params);
    if (first.status !== 'succeeded') throw new Error(`bench deploy ${first.status}: ${first.error ?? ''}`);

    // The bare runs get what the daemon's run had: its playbook, an inventory made the same way, the same key,
    // host key and extra vars (the .env content is read back from the server, where the first deploy wrote it).
    const target = {
      server: world.server,
      host: world.sshd.host,
      sshPort: world.sshd.port,
      sshUser: world.sshd.user,
      sshKeySecret: world.sshKeyHandle,
      hostKeyFingerprint: world.sshd.hostKeyFingerprint,
      port: first.allocation?.port ?? 0,
      modulePorts: first.allocation?.modulePorts ?? {},
    };
    const extraVars = {
      project,
      repo_url: world.repository.url,
      git_ref: 'main',
      app_port: target.port,
      health_url: `http://${target.host}:${target.port}`,
      env_file_content: fs.readFileSync(path.join('/opt/services', project, '.env'), 'utf8'),
      registry: 'ghcr.io',
      registry_user: 'Acme',
    };
    const hostKey = fs.readFileSync(path.join(world.sshd.dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const bareFolder = (name: string, config: string): { folder: RunFolder; env: NodeJS.ProcessEnv } => {
      const folder = new RunFolder(path.join(bench, name));
      bareFolders.push(folder);
      fs.mkdirSync(folder.path, { mode: 0o700 });
      fs.copyFileSync(path.join(playbooksFolder(), RUN_FILES.playbook), folder.file(RUN_FILES.playbook));
      fs.mkdirSync(path.dirname(folder.file(RUN_FILES.stepsPlugin)), { recursive: true });
      fs.copyFileSync(path.join(playbooksFolder(), RUN_FILES.stepsPlugin), folder.file(RUN_FILES.stepsPlugin));
      fs.writeFileSync(folder.file(RUN_FILES.config), config);
      fs.mkdirSync(folder.file(RUN_FILES.tmp), { mode: 0o700 });
      folder.writePrivate(RUN_FILES.controlPointer, fs.mkdtempSync(path.join('/tmp', 'zavhoz-cp-')));
      folder.writePrivate(RUN_FILES.inventory, inventoryFor(target, folder));
      folder.writePrivate(RUN_FILES.extraVars, JSON.stringify(extraVars));
      folder.writePrivate(RUN_FILES.sshKey, world.sshd.clientKey.privateKeyPem);
      folder.writePrivate(RUN_FILES.knownHosts, `[${target.host}]:${target.sshPort} ${hostKey}\n`);
      return { folder, env: childEnvironment(folder, { runId: 'bench', requestId: 'bench' }) };
    };
    const ours = bareFolder('ours', fs.readFileSync(path.join(playbooksFolder(), RUN_FILES.config), 'utf8'));
    const defaults = bareFolder('defaults', DEFAULTS_CONFIG);
    const bare = (setup: { folder: RunFolder; env: NodeJS.ProcessEnv }) => async (): Promise<number> => {
      const started = performance.now();
      await runAnsible(setup.folder, setup.env);
      const elapsed = performance.now() - started;
      // Untimed: every run starts without a master, like a deploy (whose own clean-up is inside its time).
      await closeMasters(setup.folder.controlSockets(), setup.env);
      return elapsed;
    };

    const [daemonTimes = [], oursTimes = [], defaultTimes = []] = await interleaved([daemonDeploy, bare(ours), bare(defaults)], {
      count: SAMPLES,
      warmup: 1,
      block: 1,
    });
    client.close();
    const runs = await cliJson<unknown[]>(world.daemon, ['run', 'list', '--project', project]);
    const daemonMedian = median(daemonTimes);
    const oursMedian = median(oursTimes);
    const defaultsMedian = median(defaultTimes);
    return {
      title: `deploy: redeploy of the fixture project over SSH (medians of ${SAMPLES}, interleaved; ${runs.length} daemon runs)`,
      rows: [
        ratioRow('daemon deploy vs bare ansible-playbook (same playbook, inventory, vars)', daemonMedian, oursMedian, MAX_OVERHEAD),
        {
          name: 'our ansible.cfg (pipelining, ControlPersist) vs Ansible defaults: speed-up',
          value: formatMs(oursMedian),
          baseline: formatMs(defaultsMedian),
          ratio: defaultsMedian / oursMedian,
          goal: 'speed-up > 1×',
          ok: defaultsMedian / oursMedian > 1,
        },
        { name: 'daemon overhead per deploy (median difference)', value: formatMs(Math.max(0, daemonMedian - oursMedian)), baseline: formatRatio(daemonMedian / oursMedian) },
      ],
    };
  } finally {
    for (const folder of bareFolders) folder.removeSecrets();
    fs.rmSync(bench, { recursive: true, force: true });
    await world.dispose();
  }
}
