/**
 * What the Services view, the services status-bar item and the Logs terminal show, from `services/status`,
 * `services/logs` and `undeploy/start` answers. Pure mapping (no VS Code), fed with answers shaped like the protocol's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReleaseSummary } from '../../daemon/protocol/releases.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import type { ProjectStatus, ServiceStatus } from '../../daemon/protocol/services.js';
import type { UndeployResult } from '../../daemon/protocol/undeploy.js';
import {
  describeProject,
  describeService,
  describeUndeploy,
  problemsStatusText,
  projectCondition,
  serviceCondition,
  serviceProblems,
  serviceTooltip,
  terminalLogText,
} from '../../extension/model/services.js';
import { describeRelease, previousRelease, releaseName, rollbackQuestion } from '../../extension/model/releases.js';
import { runView } from '../../extension/model/deployView.js';

const now = new Date('2026-12-06T12:00:00Z');

function service(name: string, changes: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    service: name,
    module: name,
    container: `shop-${name}-1`,
    state: 'running',
    health: 'none',
    restarts: 0,
    image: `ghcr.io/acme/${name}:latest`,
    digest: null,
    startedAt: '2026-12-06T09:00:00Z',
    finishedAt: null,
    exitCode: null,
    url: null,
    ...changes,
  };
}

function project(name: string, services: ServiceStatus[], changes: Partial<ProjectStatus> = {}): ProjectStatus {
  return { project: name, server: 'prod_vps_1', host: '203.0.113.10', state: 'deployed', release: null, services, ...changes };
}

describe('services view model', () => {
  test('a container\'s condition follows its engine state first, then its health check', () => {
    assert.equal(serviceCondition(service('web', { health: 'healthy' })), 'healthy');
    assert.equal(serviceCondition(service('web')), 'running');
    assert.equal(serviceCondition(service('web', { health: 'starting' })), 'starting');
    assert.equal(serviceCondition(service('web', { health: 'unhealthy' })), 'unhealthy');
    assert.equal(serviceCondition(service('web', { state: 'restarting', health: 'healthy' })), 'restarting');
    assert.equal(serviceCondition(service('web', { state: 'exited', health: 'healthy' })), 'stopped');
  });

  test('a project shows its worst container, or where it stands on an unreachable or empty server', () => {
    assert.equal(projectCondition(project('shop', [service('web', { health: 'healthy' }), service('worker', { health: 'unhealthy' })])), 'unhealthy');
    assert.equal(projectCondition(project('shop', [service('web', { health: 'healthy' }), service('worker')])), 'running');
    assert.equal(projectCondition(project('shop', [], { state: 'unreachable', error: 'prod_vps_1 does not answer' })), 'unreachable');
    assert.equal(projectCondition(project('shop', [], { state: 'not-deployed' })), 'not-deployed');
    assert.equal(describeProject(project('shop', [service('web'), service('worker', { state: 'exited', exitCode: 1 })])), 'prod_vps_1 · 1/2 running');
    assert.equal(describeProject(project('shop', [], { state: 'no-docker' })), 'prod_vps_1 · no container engine');
  });

  test('a container line says state, health, uptime, exit code and restarts; the tooltip adds image, digest and URL', () => {
    assert.equal(describeService(service('web', { health: 'healthy', restarts: 2 }), now), 'running · healthy · up 3 h · 2 restarts');
    assert.equal(describeService(service('web', { state: 'exited', exitCode: 137, startedAt: null }), now), 'exited · exit 137');
    const tooltip = serviceTooltip(project('shop', []), service('web', { digest: 'ghcr.io/acme/web@sha256:abc', url: 'http://203.0.113.10:8000' }));
    assert.match(tooltip, /container shop-web-1 on prod_vps_1/);
    assert.match(tooltip, /digest ghcr\.io\/acme\/web@sha256:abc/);
    assert.match(tooltip, /http:\/\/203\.0\.113\.10:8000/);
  });

  test('the status bar counts containers in trouble and unreachable projects, names them, and hides when all is well', () => {
    const projects = [
      project('shop', [service('web', { health: 'healthy' }), service('worker', { health: 'unhealthy' }), service('cron', { state: 'exited', exitCode: 1 })]),
      project('blog', [], { state: 'unreachable', error: 'no answer' }),
      project('wiki', [], { state: 'not-deployed' }),
    ];
    const problems = serviceProblems(projects);
    assert.deepEqual(problems, [
      { name: 'blog', condition: 'unreachable' },
      { name: 'shop/cron', condition: 'stopped' },
      { name: 'shop/worker', condition: 'unhealthy' },
    ]);
    const shown = problemsStatusText(problems);
    assert.equal(shown?.text, '$(warning) 3 unhealthy');
    assert.match(shown.tooltip, /shop\/worker: unhealthy/);
    assert.equal(problemsStatusText(serviceProblems([project('shop', [service('web', { health: 'healthy' })])])), undefined);
  });

  test('log lines become terminal text: CRLF, a service prefix when several are shown, colours kept, terminal control stripped', () => {
    const lines = [
      { service: 'web', at: '2026-12-06T11:00:00.000000001Z', text: 'GET / 200 \x1b[32mok\x1b[0m' },
      { service: 'worker', at: '2026-12-06T11:00:01Z', text: 'token ******** \x1b]0;pwned\x07\x1b[2Jdone\ttab' },
    ];
    assert.equal(terminalLogText(lines.slice(0, 1), false), 'GET / 200 \x1b[32mok\x1b[0m\r\n');
    const text = terminalLogText(lines, true);
    assert.ok(text.startsWith('\x1b[2mweb |\x1b[0m GET'), JSON.stringify(text));
    assert.ok(text.includes('token ******** ]0;pwned[2Jdone\ttab\r\n'), JSON.stringify(text));
    assert.ok(!text.includes('\x07') && !text.includes('\x1b]') && !text.includes('\x1b[2J'));
  });

  test('an undeploy is summed up in names and numbers, and a failure says why', () => {
    const result: UndeployResult = {
      project: 'shop',
      server: 'prod_vps_1',
      keepData: false,
      status: 'succeeded',
      steps: [],
      removed: { containers: 2, networks: 1, volumes: ['shop_data'], keptVolumes: [], images: ['shop-web'], folder: true, firewallPorts: [8000], githubSecrets: [], modules: ['web'] },
      warnings: [],
      error: null,
      startedAt: '2026-12-06T11:00:00Z',
      finishedAt: '2026-12-06T11:00:10Z',
    };
    assert.equal(
      describeUndeploy(result).message,
      'shop is off prod_vps_1: removed 2 containers, 1 volume, 1 image, /opt/services/shop, firewall rule for port 8000; allocation released.',
    );
    const failed = describeUndeploy({ ...result, status: 'failed', error: 'prod_vps_1 does not answer' });
    assert.equal(failed.message, 'undeploy of shop failed: prod_vps_1 does not answer');
  });
});

function release(number: number, changes: Partial<ReleaseSummary> = {}): ReleaseSummary {
  return {
    id: `rel_${String(number).padStart(10, 'a')}`,
    number,
    project: 'shop',
    server: 'prod_vps_1',
    kind: 'deploy',
    repository: 'acme/shop',
    ref: 'main',
    commit: `${number}`.repeat(40).slice(0, 40),
    runId: `run_${String(number).padStart(10, 'b')}`,
    createdAt: '2026-12-06T10:00:00Z',
    rolledBackTo: null,
    archivedAt: null,
    ...changes,
  };
}

describe('releases in the Services view, the rollback command and the deploy panel', () => {
  test('a release line: short commit, ref, age, what a rollback went back to, and which one runs', () => {
    assert.equal(releaseName(release(3)), '#3');
    assert.equal(describeRelease(release(3), true, now), '3333333 · main · 2 h ago · current');
    const back = release(4, { kind: 'rollback', rolledBackTo: release(2).id });
    assert.equal(describeRelease(back, true, now, release(2)), '4444444 · main · 2 h ago · rollback to #2 · current');
  });

  test('a rollback without a release goes to the one before the current; with one release there is none', () => {
    assert.equal(previousRelease([release(3), release(5), release(4)])?.number, 4);
    assert.equal(previousRelease([release(1)]), undefined);
  });

  test('the rollback confirmation names the project, the server and the release', () => {
    const question = rollbackQuestion(release(2, { ref: 'v1.2.0' }), now);
    assert.equal(question.title, 'Roll shop on prod_vps_1 back to release #2?');
    assert.match(question.detail, /^Release #2 \(2222222 of v1\.2\.0, deployed 2 h ago\) is redeployed exactly/);
  });

  test('the deploy panel shows the release a run made, so it can offer Rollback', () => {
    const run = {
      id: 'run_bbbbbbbbb3',
      project: 'shop',
      kind: 'deploy',
      status: 'succeeded',
      repository: 'acme/shop',
      ref: 'main',
      error: null,
      allocation: null,
      releaseId: release(3).id,
      rollbackTo: null,
      steps: [],
    } as unknown as RunDetail;
    assert.deepEqual(runView(run, release(3)).release, { project: 'shop', name: '#3 (3333333)' });
    assert.equal(runView(run).release, undefined);
  });
});
