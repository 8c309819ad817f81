/**
 * Rotation that applies itself, end to end: a generated secret whose rotation fell due while the daemon was down is
 * rotated when it starts, the project that uses it is redeployed with its last request (health-gated), the server's
 * .env gets the new value and the app answers; a typed-in secret that is due is only reported; an expired secret
 * makes a deploy refuse. A real daemon, keychain, sshd, ansible-playbook, git and the run's real container engine
 * (deploy-support.ts); the firewall is the usual test double.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { RotationResult } from '../../daemon/protocol/rotation.js';
import type { RunSummary } from '../../daemon/protocol/runs.js';
import type { SecretMetadata } from '../../daemon/protocol/secretFields.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { waitUntil } from '../harness/processes.js';
import { cliJson, deployAndWait, deployArguments, type RealDeployWorld, readDotenv, setUpRealDeployWorld, storeUserSecrets } from './deploy-support.js';

describe('rotation: due secrets rotate themselves and their projects are redeployed', () => {
  let world: RealDeployWorld;

  before(async () => {
    world = await setUpRealDeployWorld({ name: 'rotation' });
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /** With the daemon stopped, changes secrets' rows in its store as time and `--rotate-every` would have. */
  const editSecretsOffline = async (sql: string, params: (string | number)[]): Promise<void> => {
    await world.daemon.stop();
    const paths = dataPaths(world.daemon.home);
    const store = await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS });
    try {
      store.transaction((tx) => tx.run(sql, params));
    } finally {
      store.close();
    }
  };

  const audit = async (subject: string): Promise<AuditEntryView[]> => cliJson<AuditEntryView[]>(world.daemon, ['audit', 'list', '--subject', subject]);

  test('a rotation due in the past at daemon start: new value in the keychain and on the server, the app answers, audited', async () => {
    const project = world.newProject('rot');
    await storeUserSecrets(world, project);
    const { run: first } = await deployAndWait(world, project);
    const handleOf = (name: string): string => first.plan?.variables.find((variable) => variable.name === name)?.handle ?? '';
    const password = handleOf('POSTGRES_PASSWORD');
    const token = handleOf('API_TOKEN');
    assert.match(password, /^sec_/, 'the deploy generated the infra password');
    const before = await cliJson<SecretMetadata>(world.daemon, ['secret', 'get', password]);
    assert.equal(before.origin, 'generated');
    const dotenv = path.join('/opt/services', project, '.env');
    const oldValue = readDotenv(dotenv).get('POSTGRES_PASSWORD');
    assert.ok(oldValue);

    // A second project, deployed from a folder that is gone by the time its password is due: reported, not redeployed.
    const gone = world.newProject('gone');
    const goneFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-rotation-gone-'));
    fs.cpSync(world.fixture, goneFolder, { recursive: true });
    await storeUserSecrets(world, gone);
    const goneRun = await cliJson<{ status: string; error: string | null; plan: { variables: { name: string; handle?: string }[] } | null }>(world.daemon, [
      ...deployArguments(world, gone).map((argument) => (argument === world.fixture ? goneFolder : argument)),
      '--wait',
    ]);
    assert.equal(goneRun.status, 'succeeded', goneRun.error ?? '');
    const gonePassword = goneRun.plan?.variables.find((variable) => variable.name === 'POSTGRES_PASSWORD')?.handle ?? '';
    fs.rmSync(goneFolder, { recursive: true, force: true });

    // All were set to rotate every day and last changed long ago; the daemon was down when they fell due.
    await editSecretsOffline('UPDATE secrets SET rotation_days = 1, updated_at = ? WHERE handle IN (?, ?, ?)', ['2026-01-01T00:00:00.000Z', password, token, gonePassword]);
    await world.daemon.start();

    const rotated = await waitUntil(
      'the due password to be rotated at start',
      async () => {
        const now = await cliJson<SecretMetadata>(world.daemon, ['secret', 'get', password]);
        return now.version > before.version ? now : undefined;
      },
      120_000,
    );
    assert.notEqual(rotated.fingerprint, before.fingerprint, 'a new value in the keychain');
    assert.equal(rotated.origin, 'generated');

    const redeploy = await waitUntil(
      'the redeploy the rotation started to end',
      async () => {
        const runs = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
        const started = runs.find((run) => run.requestId === 'rotation');
        return started && ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(started.status) ? started : undefined;
      },
      600_000,
    );
    assert.equal(redeploy.client, 'daemon');
    assert.equal(redeploy.status, 'succeeded', redeploy.error ?? '');
    assert.equal(redeploy.kind, 'deploy');

    const newValue = readDotenv(dotenv).get('POSTGRES_PASSWORD');
    assert.ok(newValue && newValue !== oldValue, "the server's .env has the new value");
    assert.equal(newValue.length, oldValue.length);
    const port = redeploy.allocation?.port ?? 0;
    const answer = await fetch(`http://${world.sshd.host}:${port}/`, { signal: AbortSignal.timeout(10_000) });
    assert.ok(answer.status < 500, `the app answers after the redeploy (${answer.status})`);

    const passwordAudit = await audit(password);
    const rotation = passwordAudit.find((entry) => entry.action === 'rotation');
    assert.ok(rotation, 'the audit log has the rotation');
    assert.equal(rotation.client, 'daemon');
    assert.equal(rotation.detail.result, 'rotated');
    assert.match(String(rotation.detail.why), /^due since 2026-01-02T00:00:00\.000Z/);
    const projectAudit = await audit(project);
    assert.ok(projectAudit.some((entry) => entry.action === 'rotation' && entry.detail.result === 'redeploy' && entry.detail.run === redeploy.id));

    const goneAudit = await waitUntil('the missing folder to be reported', async () => {
      const entries = await audit(gone);
      return entries.find((entry) => entry.action === 'rotation') ? entries : undefined;
    });
    const failedRedeploy = goneAudit.find((entry) => entry.action === 'rotation');
    assert.equal(failedRedeploy?.detail.result, 'redeploy-failed');
    assert.match(String(failedRedeploy.detail.error), new RegExp(`project folder .*${path.basename(goneFolder)} of ${gone} no longer exists`));
    assert.ok(!(await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', gone])).some((run) => run.requestId === 'rotation'));

    // The typed-in token is due too: reported, never made up.
    const tokenNow = await cliJson<SecretMetadata>(world.daemon, ['secret', 'get', token]);
    assert.equal(tokenNow.version, 1);
    assert.ok((await audit(token)).some((entry) => entry.action === 'rotation' && entry.detail.result === 'reported'));
    const dry = await cliJson<RotationResult>(world.daemon, ['secret', 'rotate-due', '--dry-run']);
    assert.deepEqual(dry.rotated, [], 'the password is fresh again');
    assert.ok(dry.reported.some((secret) => secret.handle === token));
    const human = await world.daemon.cli(['secret', 'rotate-due', '--dry-run']);
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stdout.includes(`zavhoz secret rotate ${token}`));
    for (const value of [...world.values.values(), newValue, oldValue]) {
      assert.ok(!JSON.stringify(dry).includes(value) && !human.stdout.includes(value) && !JSON.stringify(passwordAudit).includes(value), 'no secret value');
    }
  });

  test('a deploy that would deliver an expired secret is refused with the command that fixes it', async () => {
    const project = world.newProject('exp');
    await storeUserSecrets(world, project);
    const token = (await cliJson<SecretMetadata[]>(world.daemon, ['secret', 'list', '--project', project])).find((secret) => secret.name === 'API_TOKEN')?.handle ?? '';
    await editSecretsOffline('UPDATE secrets SET expires_at = ?, updated_at = ? WHERE handle = ?', ['2026-02-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', token]);
    await world.daemon.start();
    const refused = await world.daemon.cli([...deployArguments(world, project), '--wait', '--json']);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`expired[\\s\\S]*zavhoz secret rotate ${token}`));
  });
});
