/**
 * The undeploy's bookkeeping with the server and GitHub replaced by stand-ins: which steps run in which order, what
 * happens to the allocation when the server cannot be reached, the after-undeploy hooks, and the refusals. The
 * remote scripts themselves run against a real sshd and engine in test/integration/undeploy.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { AuditEntry } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { ProjectLocks } from '../../daemon/core/projectLocks.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { RemoteShell, UndeployTargets } from '../../daemon/undeploy/ports.js';
import { UndeployService } from '../../daemon/undeploy/service.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-undeploy-unit-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

/** A shell whose scripts answer as a server where the project is already gone. */
function emptyServer(): RemoteShell & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    exec(command) {
      commands.push(command);
      const stdout = command.includes('compose down') ? 'left 0\n' : command.includes('rm -rf') ? 'absent\n' : command.includes('ufw') ? 'notinstalled\n' : '';
      return Promise.resolve({ stdout, stderr: '', code: 0 });
    },
    close: () => undefined,
  };
}

function world(openShell: UndeployTargets['openShell']) {
  const audit: AuditEntry[] = [];
  const released: string[] = [];
  const locks = new ProjectLocks();
  const redactor = new Redactor();
  const service = new UndeployService({
    targets: {
      targetOf: async (project) => (project === 'shop' && !released.includes(project) ? { server: 'web-1', modules: ['app'], ports: [8000] } : undefined),
      openShell,
      release: async (project) => {
        released.push(project);
        return ['app'];
      },
    },
    ciSecrets: () => Promise.resolve({ removed: ['Acme/Shop:DEPLOY_HOST'], warnings: [] }),
    locks,
    audit: { record: (entry: AuditEntry) => audit.push(entry) } as never,
    notifier: { notify: () => undefined },
    redactor,
    log: new Logger({ file: path.join(folder, `${Math.random()}.log`), redactor }).child({}),
  });
  return { service, audit, released, locks };
}

const caller = { client: 'test', requestId: 'req-1' };

describe('undeploy bookkeeping', () => {
  test('a project with no allocation is refused before anything runs', async () => {
    const { service, audit } = world(() => Promise.reject(new Error('not reached')));
    await assert.rejects(() => service.start('blog', false, caller), (error: ZavhozError) => error.code === ErrorCodes.NotFound && /not deployed anywhere/.test(error.message));
    assert.deepEqual(audit, []);
  });

  test('an unreachable server fails the undeploy and keeps the allocation, saying how to finish', async () => {
    const { service, audit, released } = world(() => Promise.reject(new ZavhozError(ErrorCodes.Unreachable, 'Could not open an SSH session to web-1.')));
    const { done } = await service.start('shop', false, caller);
    const result = await done;
    assert.equal(result.status, 'failed');
    assert.match(result.error ?? '', /Could not open an SSH session to web-1\. The allocation of shop is kept; run `zavhoz undeploy --project shop` again/);
    assert.deepEqual(released, []);
    assert.equal(result.steps.find((step) => step.name === 'connect')?.status, 'failed');
    assert.equal(result.steps.find((step) => step.name === 'release')?.status, 'skipped');
    assert.deepEqual(audit.map((entry) => `${entry.action}:${String(entry.detail?.outcome ?? '')}`), ['undeploy-start:', 'undeploy:failed']);
  });

  test('a project already gone from its server is released, CI secrets removed, hooks run with the result', async () => {
    const shell = emptyServer();
    const { service, released } = world(() => Promise.resolve(shell));
    const seen: string[] = [];
    service.afterUndeploy((undeploy, note) => {
      seen.push(`${undeploy.project}:${undeploy.removed.modules.join(',')}`);
      note('releases archived');
      return Promise.resolve();
    });
    service.afterUndeploy(() => Promise.reject(new Error('archive full')));
    const result = await (await service.start('shop', true, caller)).done;
    assert.equal(result.status, 'succeeded', result.error ?? '');
    assert.deepEqual(released, ['shop']);
    assert.deepEqual(seen, ['shop:app']);
    assert.deepEqual(result.removed.githubSecrets, ['Acme/Shop:DEPLOY_HOST']);
    assert.deepEqual(result.warnings, ['releases archived', 'after the undeploy: archive full']);
    assert.equal(result.steps.find((step) => step.name === 'firewall')?.status, 'skipped');
    // Every value reaches the server as an argument, and the project name only as one.
    assert.ok(shell.commands.every((command) => command.startsWith("'sh' '-c' ")));
    assert.ok(shell.commands.some((command) => command.endsWith("'zavhoz' 'shop' '1'")));
  });

  test('an undeploy waits for the project lock, and can be cancelled while it waits', async () => {
    const { service, locks, released } = world(() => Promise.resolve(emptyServer()));
    let finish: () => void = () => undefined;
    const deploy = locks.hold('shop', 'deploy run_aaaaaaaaaa', () => new Promise<void>((resolve) => (finish = resolve)));
    const { done } = await service.start('shop', false, caller);
    await assert.rejects(() => service.start('shop', false, caller), (error: ZavhozError) => error.code === ErrorCodes.Conflict);
    const cancelled = await service.cancel('shop');
    assert.equal(cancelled.status, 'cancelled');
    assert.match(cancelled.error ?? '', /cancelled during wait; its allocation is kept/);
    assert.equal((await done).status, 'cancelled');
    assert.deepEqual(released, []);
    finish();
    await deploy;
  });
});
