/**
 * The tool catalogue as the VS Code front end runs it (the same `runTool` and `confirmationFor` the extension's
 * language model tools call), against a real daemon with the real vault on a private keychain and a real sshd as
 * the managed server. The human's side of `zavhoz_request_secret` is played the way the secret form does it: a
 * separate `vscode` connection saves the value and hands back the handle.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AGENT_CLIENT_NAME, confirmationFor, runTool } from '../../daemon/agent/catalogue.js';
import { AgentDaemonLink } from '../../daemon/agent/link.js';
import type { AgentEnvironment, SecretAnswer, SecretAsk } from '../../daemon/agent/tool.js';
import { DaemonClient } from '../../daemon/client/client.js';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import { SecretsSet } from '../../daemon/protocol/secrets.js';
import { type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';
import { field } from './agent-support.js';
import { cliJson, FIXTURE } from './deploy-support.js';

describe('agent tools in the VS Code front end: confirmations, the secret form, audit', () => {
  let keyring: KeyringSession;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let link: AgentDaemonLink;
  const asked: SecretAsk[] = [];
  /** What the "human" does when the form opens: save this value, or close the form. */
  let human: { value: string } | 'close' = 'close';
  const answers: string[] = [];

  const environment = (): AgentEnvironment => ({
    daemon: link,
    frontEnd: 'vscode',
    defaults: { folder: FIXTURE, repository: 'acme/shop' },
    async askHuman(ask): Promise<SecretAnswer> {
      asked.push(ask);
      if (human === 'close') return { kind: 'declined' };
      // The secret form saves on the extension's own connection, as the human.
      const form = await daemon.connect('vscode');
      try {
        const saved = await form.request(SecretsSet, { name: ask.name, type: ask.type, value: human.value, ...(ask.project ? { project: ask.project } : {}) });
        return { kind: 'saved', handle: saved.handle, name: saved.name };
      } finally {
        form.close();
      }
    },
  });
  const call = async (name: string, input: Record<string, unknown>): Promise<{ text: string; isError: boolean }> => {
    const outcome = await runTool(name, input, environment(), new AbortController().signal);
    answers.push(outcome.text);
    return outcome;
  };

  before(async () => {
    keyring = await startKeyring();
    sshd = await startSshd();
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(daemon, ['server', 'add', 'vps_one', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    await cliJson(daemon, ['server', 'check', 'vps_one']);
    link = new AgentDaemonLink(() => DaemonClient.connect({ folder: daemon.home, clientName: AGENT_CLIENT_NAME }));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    link?.close();
    await daemon?.dispose();
    await sshd?.stop();
    await keyring?.stop();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('deploy and push ask first, showing project, server and port (no address); read-only tools do not ask', async () => {
    const signal = new AbortController().signal;
    const before = await confirmationFor('zavhoz_deploy', { project: 'shop' }, environment(), signal);
    assert.match(before?.message ?? '', /the project has no allocation yet/);
    await call('zavhoz_allocate', { project: 'shop' });
    const port = Number(/- app: port (\d+)/.exec(answers.at(-1) ?? '')?.[1]);
    const deploy = await confirmationFor('zavhoz_deploy', { project: 'shop', ref: 'v1.2.0' }, environment(), signal);
    assert.equal(deploy?.title, 'Deploy shop?');
    assert.equal(deploy.message, `Deploy project **shop** from \`acme/shop@v1.2.0\` to server \`vps_one\`, port **${port}**. The running version is replaced.`);
    const push = await confirmationFor('zavhoz_push_ci_secrets', { project: 'shop', environment: 'production' }, environment(), signal);
    assert.match(push?.message ?? '', new RegExp(`project \\*\\*shop\\*\\* on server \`vps_one\`, port \\*\\*${port}\\*\\* to the GitHub Actions secrets of \`acme/shop\` \\(environment \`production\`\\)`));
    assert.equal(await confirmationFor('zavhoz_list_managed_servers', {}, environment(), signal), undefined);
    assert.equal(await confirmationFor('zavhoz_deploy', { project: 'shop', gitToken: 'a-plain-value' }, environment(), signal), undefined, 'input the tool refuses is not offered for confirmation');
  });

  test('request a secret: the form opens with name and type; saved gives the handle, closed gives "declined"', async () => {
    human = 'close';
    const declined = await call('zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project: 'shop', category: 'api_key' });
    assert.equal(field(declined.text, 'status'), 'declined');
    assert.deepEqual(asked.at(-1), { name: 'API_TOKEN', type: 'token', project: 'shop', category: 'api_key' });

    const value = `canary-${crypto.randomBytes(16).toString('hex')}`;
    human = { value };
    const saved = await call('zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project: 'shop' });
    assert.equal(field(saved.text, 'status'), 'stored');
    const handle = field(saved.text, 'handle') ?? '';
    assert.match(handle, /^sec_[a-z2-7]{8}$/);

    // Asked again, the handle comes back without bothering the human.
    const count = asked.length;
    const again = await call('zavhoz_request_secret', { name: 'API_TOKEN', type: 'token', project: 'shop' });
    assert.equal(field(again.text, 'handle'), handle);
    assert.equal(asked.length, count, 'the form did not open again');
    assert.ok(!answers.join('\n').includes(value), 'no answer carries the value');
  });

  test('in VS Code a deploy needs no agentDeployProjects entry (the human confirms); a missing variable comes back as what to ask for', async () => {
    const outcome = await call('zavhoz_deploy', { project: 'shop' });
    assert.equal(outcome.isError, true);
    assert.match(outcome.text, /^error \(PreconditionFailed\):/);
    assert.match(outcome.text, /WEBHOOK_SECRET \(type token\): call zavhoz_request_secret with name WEBHOOK_SECRET, type token, project shop/);
    assert.doesNotMatch(outcome.text, /agentDeployProjects/);
  });

  test('the agent connection comes back after a daemon restart, and every call is audited as client "agent"', async () => {
    await daemon.stop();
    await daemon.start();
    const listed = await call('zavhoz_list_managed_servers', {});
    assert.equal(listed.isError, false, listed.text);
    assert.match(listed.text, /- vps_one: status in_use; RAM .* 1 service\(s\)/);

    const entries = await cliJson<AuditEntryView[]>(daemon, ['audit', 'list', '--limit', '200']);
    const calls = entries.filter((entry) => entry.action === 'agent-tool');
    assert.equal(calls.length, answers.length);
    assert.ok(!answers.join('\n').includes(sshd.host), 'no answer names the server\'s address');
    assert.ok(calls.every((entry) => entry.client === 'agent' && entry.requestId.startsWith('agent-')));
    const stored = entries.find((entry) => entry.action === 'create' && entry.detail.name === 'API_TOKEN');
    assert.equal(stored?.client, 'vscode', 'the value was saved by the human through the form, not by the agent');
  });
});
