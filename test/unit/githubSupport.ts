/**
 * Shared set-up of the GitHub unit tests: the real GitHub service with a real store, logger and redactor, talking to
 * the fake GitHub API (test double) on loopback, with an in-memory SecretReader (test double) standing in for the
 * vault's keychain.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { notFound } from '../../daemon/core/errors.js';
import { Logger, type ScopedLogger } from '../../daemon/core/logger.js';
import type { Notifier } from '../../daemon/core/notifier.js';
import { Redactor } from '../../daemon/core/redactor.js';
import type { GithubConnectionSettings } from '../../daemon/github/auth.js';
import type { DeployTarget } from '../../daemon/github/deploySecrets.js';
import { GithubService } from '../../daemon/github/service.js';
import type { NotificationDefinition } from '../../daemon/protocol/define.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { FakeGithub } from '../fakes/github.js';

import { MemorySecrets as MemoryVault } from '../fakes/memorySecrets.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

/** The vault test double, under the name these tests use. */
export { MemoryVault };

/** Everything a GitHub unit test works with. */
export interface GithubHarness {
  readonly fake: FakeGithub;
  readonly vault: MemoryVault;
  readonly service: GithubService;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly logFile: string;
  /** The service's logger, for code under test that takes one directly. */
  readonly log: ScopedLogger;
  readonly notifications: { method: string; params: unknown }[];
  /** Mutable: tests switch credentials. */
  readonly connection: { -readonly [K in keyof GithubConnectionSettings]: GithubConnectionSettings[K] };
  /** Mutable: where the inventory says each project lives. */
  readonly targets: Map<string, DeployTarget>;
  /** Every CI credential the service asked for (project, server, rotate): a stand-in for daemon/cikey/. */
  readonly ciKeyCalls: { project: string; server: string; rotate: boolean; retired: boolean }[];
  dispose(): Promise<void>;
}

/** A valid vault handle for tests. */
export function handle(suffix: string): string {
  return `sec_${suffix.padEnd(8, 'a').slice(0, 8)}`;
}

/** The token the fake accepts for every repository. */
export const TEST_TOKEN = 'ghp_TestTokenForTheFakeGithub0001';

/** Starts the fake GitHub and a service wired to it. */
export async function startGithubHarness(options: { concurrency?: number } = {}): Promise<GithubHarness> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-github-'));
  const store = await Store.open({
    database: path.join(folder, 'zavhoz.db'),
    journal: path.join(folder, 'zavhoz.journal'),
    migrations: MIGRATIONS,
  });
  const redactor = new Redactor();
  const logFile = path.join(folder, 'daemon.log');
  const logger = new Logger({ file: logFile, redactor });
  const fake = await FakeGithub.start();
  fake.addToken(TEST_TOKEN, '*');
  const vault = new MemoryVault();
  vault.set(handle('token'), TEST_TOKEN);
  const notifications: { method: string; params: unknown }[] = [];
  const notifier: Notifier = {
    notify<P>(definition: NotificationDefinition<P>, params: P): void {
      notifications.push({ method: definition.method, params });
    },
  };
  const connection = { apiBase: fake.url, tokenSecret: handle('token') as string | null, appId: null as number | null, appKeySecret: null as string | null };
  const targets = new Map<string, DeployTarget>();
  const audit = new AuditLog(EmbeddedDatabase.of(store));
  const log = logger.child({ component: 'test' });
  const ciKeyCalls: GithubHarness['ciKeyCalls'] = [];
  const service = new GithubService({
    store: EmbeddedDatabase.of(store),
    audit,
    vault,
    redactor,
    notifier,
    log,
    connection: () => ({ ...connection }),
    targets: {
      async deployTarget(project) {
        const target = targets.get(project);
        if (!target) throw notFound(`A server for project ${project}`);
        return target;
      },
    },
    // The CI key service's part, without a server: user zd-<project>, key handle sec_cikeyaaa (the test stores it).
    credentials: {
      ensure(project, where, _caller, ensureOptions) {
        const call = { project, server: where.server, rotate: ensureOptions.rotate === true, retired: false };
        ciKeyCalls.push(call);
        const knownHosts = `${where.sshPort === 22 ? where.host : `[${where.host}]:${where.sshPort}`} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestServer`;
        return Promise.resolve({
          credential: { user: `zd-${project}`, keyHandle: handle('cikey'), knownHosts },
          rotated: call.rotate,
          retire: () => {
            call.retired = true;
            return Promise.resolve();
          },
        });
      },
      current: async (project) => ({ user: `zd-${project}`, keyHandle: handle('cikey') }),
    },
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    serverRetryBaseMs: 20,
  });
  return {
    fake,
    vault,
    service,
    store,
    audit,
    logFile,
    log,
    notifications,
    connection,
    targets,
    ciKeyCalls,
    async dispose() {
      await fake.stop();
      store.close();
      logger.close();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A real OpenSSH-style multi-line private key (PEM), the kind DEPLOY_SSH_KEY carries. */
export function multiLineKey(): string {
  return crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A caller for service calls. */
export function caller(requestId = `test-${crypto.randomBytes(4).toString('hex')}`): { client: string; requestId: string } {
  return { client: 'test', requestId };
}
