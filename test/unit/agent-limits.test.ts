/**
 * The daemon's own limit on agent connections: requests that widen what agents may do or hand out values are refused
 * on a connection named `agent`, whatever it sends, and work for a person's client.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { AgentGrantCreate } from '../../daemon/protocol/agent.js';
import { AGENT_CLIENT_NAME, REFUSED_FOR_AGENTS } from '../../daemon/protocol/agentLimits.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ExecResolve } from '../../daemon/protocol/exec.js';
import { RemoteHandoff } from '../../daemon/protocol/remote.js';
import { SecretsReveal } from '../../daemon/protocol/secrets.js';
import { SettingsGet, SettingsSet } from '../../daemon/protocol/settings.js';
import { VaultConnect, VaultDisconnect } from '../../daemon/protocol/vault.js';
import { TeamJoin, TeamLeave } from '../../daemon/protocol/team.js';
import { type ClientInfo, Router } from '../../daemon/server/router.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-agent-limits-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

function client(name: string): ClientInfo {
  return { connectionId: 1, name, connectedAt: new Date().toISOString() };
}

test('an agent connection is refused grants, settings, reveals and exec values; a person\'s client is not', async () => {
  const redactor = new Redactor();
  const router = new Router(redactor, new Logger({ file: path.join(folder, 'daemon.log'), redactor }).child({ component: 'rpc' }));
  const calls: string[] = [];
  router.handle(SettingsSet, (params) => {
    calls.push(`settings/set ${params.key}`);
    return {} as never;
  });
  router.handle(SettingsGet, () => {
    calls.push('settings/get');
    return {} as never;
  });
  assert.deepEqual([...REFUSED_FOR_AGENTS].sort(), [AgentGrantCreate, ExecResolve, SecretsReveal, SettingsSet, VaultConnect, VaultDisconnect, TeamJoin, TeamLeave, RemoteHandoff].map((definition) => definition.method).sort());

  const token = new CancellationTokenSource().token;
  const widen = { key: 'agentMode', value: 'deploy' };
  await assert.rejects(router.dispatch(SettingsSet.method, widen, client(AGENT_CLIENT_NAME), token), (error: unknown) => {
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, ErrorCodes.Unauthorized);
    assert.match(error.message, /A person does it with the zavhoz CLI or in VS Code/);
    return true;
  });
  assert.deepEqual(calls, [], 'the handler never ran');
  await router.dispatch(SettingsGet.method, {}, client(AGENT_CLIENT_NAME), token);
  await router.dispatch(SettingsSet.method, widen, client('cli'), token);
  assert.deepEqual(calls, ['settings/get', 'settings/set agentMode']);
});
