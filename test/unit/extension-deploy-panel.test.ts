/**
 * The deploy panel's requests, without VS Code: `plan` shows the modules the daemon reads from the compose files
 * (`deploy/plan`) beside the env plan, says what to add when there is no compose file or no published port, and
 * `deploy` starts the run without allocating anything itself (the run allocates, as from the CLI). The daemon side is
 * a recording stand-in answering with protocol-shaped results; no secret value is ever in what the panel gets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestDefinition } from '../../daemon/protocol/define.js';
import { type DeployPlan, DeployPlanRequest } from '../../daemon/protocol/deploy.js';
import { type EnvPlan, EnvPlanRequest } from '../../daemon/protocol/env.js';
import { DeployStart } from '../../daemon/protocol/runs.js';
import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { NO_FOLDER, panelPlan, startDeploy } from '../../extension/deploy/deployStarter.js';
import { modulesView } from '../../extension/model/deployView.js';

const envPlan: EnvPlan = {
  project: 'shop',
  files: ['.env.example', 'infra/compose.base.yml', 'infra/compose.prod.yml'],
  variables: [
    { name: 'PORT', kind: 'computed', status: 'computed', sources: ['compose'], rule: 'the port allocated to module app' },
    { name: 'API_TOKEN', kind: 'user', status: 'bound', sources: ['.env.example'], handle: 'sec_aaaaaaaaaaaa' },
  ],
  missing: [],
  ready: true,
};

const twoModules: DeployPlan = {
  project: 'shop',
  composeFiles: ['infra/compose.base.yml', 'infra/compose.prod.yml'],
  modules: [
    { name: 'admin', service: 'admin', containerPort: 80, portVariable: 'ADMIN_PORT', file: 'infra/compose.prod.yml', line: 6 },
    { name: 'app', service: 'backend', containerPort: 8000, portVariable: 'PORT', file: 'infra/compose.prod.yml', line: 3, allocation: { server: 'prod_vps_1', port: 8000 } },
  ],
  retired: [{ module: 'worker', server: 'prod_vps_1', port: 8003 }],
};

/** A stand-in for the daemon connection: answers per method and records every request. */
function connection(answers: Record<string, (params: unknown) => unknown>): { request: <P, R>(definition: RequestDefinition<P, R>, params: P) => Promise<R>; calls: { method: string; params: unknown }[] } {
  const calls: { method: string; params: unknown }[] = [];
  return {
    calls,
    request: <P, R>(definition: RequestDefinition<P, R>, params: P): Promise<R> => {
      calls.push({ method: definition.method, params });
      const answer = answers[definition.method];
      if (!answer) return Promise.reject(new ResponseError(ErrorCodes.MethodNotFound, `Unhandled method ${definition.method}`));
      try {
        return Promise.resolve(answer(params) as R);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

type Services = Parameters<typeof panelPlan>[0];

describe('the deploy panel shows the modules of the compose files', () => {
  test('each module with its service, how and where it is published, and its allocation; the modules a deploy releases', () => {
    const view = modulesView(twoModules);
    assert.deepEqual(
      view.rows.map((row) => [row.name, row.service, row.published, row.where, row.allocation, row.allocated]),
      [
        ['admin', 'admin', '${ADMIN_PORT}:80', 'infra/compose.prod.yml:6', 'allocated by the deploy', false],
        ['app', 'backend', '${PORT}:8000', 'infra/compose.prod.yml:3', 'prod_vps_1 port 8000', true],
      ],
    );
    assert.deepEqual(view.retired, [{ module: 'worker', server: 'prod_vps_1', port: 8003 }]);
    assert.equal(view.notice, undefined);
  });

  test('plan asks the daemon for the env plan and the modules of the folder, and allocates nothing', async () => {
    const daemon = connection({ [EnvPlanRequest.method]: () => envPlan, [DeployPlanRequest.method]: () => twoModules });
    const plan = await panelPlan({ connection: daemon } as unknown as Services, '/srv/shop', 'shop', { API_TOKEN: 'sec_aaaaaaaaaaaa' });
    assert.deepEqual(daemon.calls.map((call) => call.method).sort(), ['deploy/plan', 'env/plan']);
    assert.deepEqual(daemon.calls.find((call) => call.method === 'deploy/plan')?.params, { folder: '/srv/shop', project: 'shop' });
    assert.equal(plan.ready, true);
    assert.deepEqual(plan.rows.map((row) => row.name), ['PORT', 'API_TOKEN']);
    assert.deepEqual(plan.modules?.rows.map((row) => row.name), ['admin', 'app']);
  });

  test('a folder without compose files: the modules say what to add, the env section does not repeat the error', async () => {
    const message = 'No compose file in /srv/shop: a deploy runs infra/compose.base.yml and infra/compose.prod.yml. Add them, or pass the project\'s root folder.';
    const daemon = connection({
      [EnvPlanRequest.method]: () => {
        throw new ResponseError(ErrorCodes.InvalidInput, message);
      },
      [DeployPlanRequest.method]: (): DeployPlan => ({ project: 'shop', composeFiles: [], modules: [], retired: [], notice: { kind: 'no-compose-file', message } }),
    });
    const plan = await panelPlan({ connection: daemon } as unknown as Services, '/srv/shop', 'shop', {});
    assert.equal(plan.modules?.notice?.kind, 'no-compose-file');
    assert.match(plan.modules.notice.message, /a deploy runs infra\/compose\.base\.yml and infra\/compose\.prod\.yml/);
    assert.equal(plan.error, 'The environment is planned from the compose files once they are there.');
  });

  test('compose files without a published port: the default app and what to write, as a notice', async () => {
    const notice = { kind: 'no-published-port' as const, message: 'infra/compose.base.yml publishes no port on a variable … ports: ["${PORT}:8000"].' };
    const daemon = connection({
      [EnvPlanRequest.method]: () => envPlan,
      [DeployPlanRequest.method]: (): DeployPlan => ({
        project: 'shop',
        composeFiles: ['infra/compose.base.yml'],
        modules: [{ name: 'app', service: '', containerPort: 0, portVariable: 'PORT', file: '', line: 0 }],
        retired: [],
        notice,
      }),
    });
    const plan = await panelPlan({ connection: daemon } as unknown as Services, '/srv/shop', 'shop', {});
    assert.deepEqual(plan.modules?.notice, notice);
    assert.deepEqual(plan.modules.rows.map((row) => [row.name, row.published, row.where]), [['app', 'published by no service', '']]);
  });

  test('a compose file the daemon cannot read shows its file and line; an older daemon is told to restart', async () => {
    const unreadable = connection({
      [EnvPlanRequest.method]: () => envPlan,
      [DeployPlanRequest.method]: () => {
        throw new ResponseError(ErrorCodes.InvalidInput, '/srv/shop/infra/compose.prod.yml:3: service backend publishes on ${LISTEN}');
      },
    });
    const plan = await panelPlan({ connection: unreadable } as unknown as Services, '/srv/shop', 'shop', {});
    assert.match(plan.modules?.error ?? '', /compose\.prod\.yml:3/);
    const older = connection({ [EnvPlanRequest.method]: () => envPlan });
    assert.match((await panelPlan({ connection: older } as unknown as Services, '/srv/shop', 'shop', {})).modules?.error ?? '', /restart it/);
  });

  test('no folder or no project: said, and the daemon is not asked', async () => {
    const daemon = connection({});
    assert.equal((await panelPlan({ connection: daemon } as unknown as Services, undefined, 'shop', {})).error, NO_FOLDER);
    assert.equal((await panelPlan({ connection: daemon } as unknown as Services, '/srv/shop', '', {})).error, 'Enter the project name.');
    assert.deepEqual(daemon.calls, []);
  });
});

describe('the deploy panel starts the run and lets the daemon allocate', () => {
  test('deploy sends deploy/start alone: no allocations/allocate from the extension', async () => {
    const daemon = connection({
      [DeployStart.method]: (params) => ({ id: 'run_aaaaaaaaaa', project: 'shop', repository: 'acme/shop', ref: 'main', status: 'running', ...(params as object) }),
    });
    const lines: string[] = [];
    const services = { connection: daemon, log: { info: (line: string) => lines.push(line) } } as unknown as Parameters<typeof startDeploy>[0];
    const folder = { fsPath: '/srv/shop' } as unknown as NonNullable<Parameters<typeof startDeploy>[1]['folder']>;
    const run = await startDeploy(services, { folder }, { project: 'shop', repository: 'acme/shop', ref: 'main', bindings: { API_TOKEN: 'sec_aaaaaaaaaaaa' } });
    assert.equal(run.id, 'run_aaaaaaaaaa');
    assert.deepEqual(daemon.calls.map((call) => call.method), ['deploy/start']);
    assert.deepEqual(daemon.calls[0]?.params, { folder: '/srv/shop', project: 'shop', repository: 'acme/shop', ref: 'main', bindings: { API_TOKEN: 'sec_aaaaaaaaaaaa' }, confirmed: true });
    await assert.rejects(startDeploy(services, {}, { project: 'shop', repository: 'acme/shop', ref: 'main', bindings: {} }), /Open the project folder/);
  });
});
