import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import { ErrorCodes } from '../protocol/errors.js';
import { SettingSchemas } from '../protocol/settings.js';
import { type LocalStateCopied, type PasswordSecretCopy, PERSONAL_SECRETS_LISTED, type PersonalSecretCopied } from '../protocol/team.js';
import type { Database, DatabaseRow, DatabaseTransaction } from '../store/database.js';
import { insertRows } from '../store/postgres/copy.js';

/**
 * `team join --copy-local`: what a member's embedded store shares with the team, copied into an empty team store in
 * one transaction. Rows are copied as they are (the schema is the same on both engines); a secret's record goes with
 * them (handle, name, metadata, kept versions, where its value lives), never a value: a personal value stays in the
 * member's keychain, under the same handle, so it resolves for this member after the switch and for no one else.
 */

/** A table the copy fills, in the order it is written, with its statements spelled out (no names spliced into SQL). */
interface SharedTable {
  readonly table: string;
  readonly label: string;
  readonly read: string;
  readonly count: string;
}

const SHARED_TABLES: readonly SharedTable[] = [
  { table: 'secrets', label: 'secret(s)', read: 'SELECT * FROM secrets ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM secrets' },
  { table: 'secret_versions', label: 'kept secret version(s)', read: 'SELECT * FROM secret_versions ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM secret_versions' },
  { table: 'secret_holds', label: 'secret hold(s)', read: 'SELECT * FROM secret_holds ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM secret_holds' },
  { table: 'secret_locations', label: 'secret location(s)', read: 'SELECT * FROM secret_locations ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM secret_locations' },
  { table: 'servers', label: 'server(s)', read: 'SELECT * FROM servers ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM servers' },
  { table: 'allocations', label: 'allocation(s)', read: 'SELECT * FROM allocations ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM allocations' },
  { table: 'proxies', label: 'proxy state(s)', read: 'SELECT * FROM proxies ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM proxies' },
  { table: 'domains', label: 'domain(s)', read: 'SELECT * FROM domains ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM domains' },
  { table: 'deploy_runs', label: 'run(s)', read: 'SELECT * FROM deploy_runs ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM deploy_runs' },
  { table: 'releases', label: 'release(s)', read: 'SELECT * FROM releases ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM releases' },
  { table: 'github_state', label: 'GitHub state row(s)', read: 'SELECT * FROM github_state ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM github_state' },
  { table: 'github_secret_pushes', label: 'GitHub secret push record(s)', read: 'SELECT * FROM github_secret_pushes ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM github_secret_pushes' },
  { table: 'settings', label: 'setting(s)', read: 'SELECT * FROM settings ORDER BY rowid', count: 'SELECT COUNT(*) AS n FROM settings' },
];

/** What stays in the embedded store: this member's own history and arrangements, not the team's. */
const KEPT_HERE = {
  audit: 'SELECT COUNT(*) AS n FROM audit_log',
  notifyEndpoints: 'SELECT COUNT(*) AS n FROM notify_endpoints',
  agentGrants: 'SELECT COUNT(*) AS n FROM agent_grants',
  agentCommands: 'SELECT COUNT(*) AS n FROM agent_commands',
  approvals: 'SELECT COUNT(*) AS n FROM approvals',
} as const;

/** The test-only fault point (`ZAVHOZ_TEST_FAULT`): the daemon kills itself half-way through the copy. */
export const COPY_FAULT = 'team-copy-halfway';

/** The member's state as read from the embedded store in one transaction (so it is one consistent moment). */
export interface LocalSnapshot {
  readonly rows: ReadonlyMap<string, readonly DatabaseRow[]>;
  readonly vaultMeta: ReadonlyMap<string, string>;
  readonly keptHere: LocalStateCopied['keptHere'];
}

/**
 * Reads what the copy takes from the embedded store, without changing it (a transaction that only reads writes no
 * journal record). Refused while a run is under way or a vault write is unfinished: their rows are still moving.
 */
export async function readLocalState(local: Database): Promise<LocalSnapshot> {
  return local.transaction(async (tx) => {
    const active = await tx.all<{ id: string; project: string; status: string }>("SELECT id, project, status FROM deploy_runs WHERE status IN ('queued', 'running') ORDER BY created_at");
    const first = active[0];
    if (first !== undefined) {
      throw new ZavhozError(
        ErrorCodes.Conflict,
        `This machine's ${first.status} run ${first.id} (${first.project})${active.length > 1 ? ` and ${active.length - 1} more` : ''} is not finished, so it cannot be copied to the team store. Wait for it to end (zavhoz run show ${first.id}), then join again with --copy-local.`,
      );
    }
    if (await tx.get('SELECT 1 AS pending FROM vault_pending LIMIT 1')) {
      throw new ZavhozError(ErrorCodes.Conflict, 'A vault write of this machine is not finished yet, so its secrets cannot be copied to the team store now. Try again in a moment.');
    }
    const rows = new Map<string, DatabaseRow[]>();
    for (const shared of SHARED_TABLES) {
      let read = await tx.all(shared.read);
      // Only the team's settings: the embedded store also keeps the team record itself under a key of its own.
      if (shared.table === 'settings') read = read.filter((row) => Object.hasOwn(SettingSchemas, String(row.key)));
      rows.set(shared.table, read);
    }
    const vaultMeta = new Map((await tx.all<{ key: string; value: string }>("SELECT key, value FROM vault_meta WHERE key IN ('folder_id', 'backend')")).map((row) => [row.key, row.value]));
    const count = async (sql: string): Promise<number> => (await tx.get<{ n: number }>(sql))?.n ?? 0;
    const keptHere = {
      audit: await count(KEPT_HERE.audit),
      notifyEndpoints: await count(KEPT_HERE.notifyEndpoints),
      agentGrants: await count(KEPT_HERE.agentGrants),
      agentCommands: await count(KEPT_HERE.agentCommands),
      approvals: await count(KEPT_HERE.approvals),
    };
    return { rows, vaultMeta, keptHere };
  });
}

/** Who copies, for the team store's audit log and the fault hook. */
export interface CopyContext {
  readonly member: string;
  readonly client: string;
  readonly requestId: string;
  readonly where: string;
  readonly log: ScopedLogger;
  readonly testFault?: string | undefined;
}

/**
 * Copies the snapshot into the team store in one transaction: refused (nothing written) unless the team store holds
 * none of what is copied; the vault's folder id and backend kind go along when the team store has none yet, so this
 * member's keychain entries named by them (fingerprint key, team Vault connection) still apply after the switch. A
 * failure at any point leaves the team store as it was. The copy is audited there, under the member's name.
 */
export async function copyIntoTeam(team: Database, snapshot: LocalSnapshot, context: CopyContext): Promise<LocalStateCopied> {
  const rows = (table: string): readonly DatabaseRow[] => snapshot.rows.get(table) ?? [];
  const copied = await team.transaction(async (tx) => {
    // Two members copying at once: the second waits here, then finds the first one's rows and is refused.
    await tx.lock('team-copy-local');
    await refuseUnlessEmpty(tx, context.where);
    const half = Math.floor(SHARED_TABLES.length / 2);
    for (const [index, shared] of SHARED_TABLES.entries()) {
      if (index === half && context.testFault === COPY_FAULT) killForTest(context.log);
      await insertRows(tx, shared.table, rows(shared.table));
    }
    // Kept when the team store has them: another member's daemon names its own keychain entries by that folder id.
    const teamFolder = await tx.get<{ value: string }>("SELECT value FROM vault_meta WHERE key = 'folder_id'");
    const localFolder = snapshot.vaultMeta.get('folder_id');
    for (const [key, value] of snapshot.vaultMeta) await tx.run('INSERT OR IGNORE INTO vault_meta (key, value) VALUES (?, ?)', [key, value]);
    const result = { ...summarize(snapshot), vaultFolderDiffers: teamFolder !== undefined && localFolder !== undefined && teamFolder.value !== localFolder };
    await tx.run('INSERT INTO audit_log (at, client, request_id, action, subject, detail, member) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      new Date().toISOString(),
      context.client,
      context.requestId,
      'team-copy-local',
      'team',
      JSON.stringify({ servers: result.servers, allocations: result.allocations, runs: result.runs, releases: result.releases, secrets: result.secrets, domains: result.domains, settings: result.settings }),
      context.member,
    ]);
    return result;
  });
  context.log.info('copied this machine\'s state into the team store', {
    servers: copied.servers,
    allocations: copied.allocations,
    runs: copied.runs,
    releases: copied.releases,
    secrets: copied.secrets,
    personalSecrets: copied.personalSecretCount,
  });
  return copied;
}

/**
 * Copies the vault record of the join's password secret (its row, kept versions and where its value lives; never
 * the value) from the store the daemon runs on into the team store, unless it is there already: after the switch the
 * daemon's vault is the team store's, and a rotation of that handle must still find it there. A secret of the same
 * name and scope already in the team store is left alone, and the answer says so.
 */
export async function copyPasswordRecord(team: Database, source: Database, handle: string, vaultMeta: ReadonlyMap<string, string>): Promise<PasswordSecretCopy> {
  const secret = await source.get('SELECT * FROM secrets WHERE handle = ?', [handle]);
  if (!secret) return { outcome: 'not-copied', message: `The secret ${handle} is not in this daemon's vault, so its record was not copied to the team store.` };
  const versions = await source.all('SELECT * FROM secret_versions WHERE handle = ? ORDER BY rowid', [handle]);
  const locations = await source.all('SELECT * FROM secret_locations WHERE handle = ?', [handle]);
  return team.transaction(async (tx) => {
    if (await tx.get('SELECT 1 AS present FROM secrets WHERE handle = ?', [handle])) return { outcome: 'present', message: null };
    const project = secret.project === null || secret.project === undefined ? '' : String(secret.project);
    if (await tx.get("SELECT 1 AS taken FROM secrets WHERE name = ? AND COALESCE(project, '') = ?", [String(secret.name), project])) {
      return {
        outcome: 'not-copied',
        message: `The team store already has a secret named ${String(secret.name)}${project === '' ? '' : ` in project ${project}`}, so the record of ${handle} was not copied: after the switch, rotate the database password through a secret of the team store and run zavhoz team join again with its handle.`,
      };
    }
    await insertRows(tx, 'secrets', [secret]);
    await insertRows(tx, 'secret_versions', versions);
    await insertRows(tx, 'secret_locations', locations);
    for (const [key, value] of vaultMeta) await tx.run('INSERT OR IGNORE INTO vault_meta (key, value) VALUES (?, ?)', [key, value]);
    return { outcome: 'copied', message: null };
  });
}

/** The vault's folder id and backend kind of a store (what names this member's keychain entries). */
export async function vaultMetaOf(store: Database): Promise<Map<string, string>> {
  return new Map((await store.all<{ key: string; value: string }>("SELECT key, value FROM vault_meta WHERE key IN ('folder_id', 'backend')")).map((row) => [row.key, row.value]));
}

/** Refuses the copy, naming what the team store already holds, unless it holds none of what would be copied. */
async function refuseUnlessEmpty(tx: DatabaseTransaction, where: string): Promise<void> {
  const present: string[] = [];
  for (const shared of SHARED_TABLES) {
    const n = (await tx.get<{ n: number }>(shared.count))?.n ?? 0;
    if (n > 0) present.push(`${n} ${shared.label}`);
  }
  if (present.length === 0) return;
  throw new ZavhozError(
    ErrorCodes.Conflict,
    `The team store at ${where} is not empty: it holds ${present.join(', ')}. --copy-local only fills an empty team store, so that nobody's servers, allocations or settings are overwritten or merged; nothing was copied or changed. Join without --copy-local (this machine's embedded store stays as it is, and comes back after zavhoz team leave), then add what the team lacks on the team store once the daemon switched (zavhoz server add …).`,
  );
}

/** The counts and the personal secrets (with what uses them) of a snapshot. */
function summarize(snapshot: LocalSnapshot): Omit<LocalStateCopied, 'vaultFolderDiffers'> {
  const rows = (table: string): readonly DatabaseRow[] => snapshot.rows.get(table) ?? [];
  const inTeamVault = new Set(rows('secret_locations').filter((row) => row.location === 'team').map((row) => String(row.handle)));
  const uses = new Map<string, string[]>();
  const use = (handle: unknown, what: string): void => {
    if (typeof handle !== 'string' || handle === '') return;
    const list = uses.get(handle) ?? [];
    if (!list.includes(what)) list.push(what);
    uses.set(handle, list);
  };
  for (const server of rows('servers')) use(server.ssh_key_secret, `SSH key of server ${String(server.handle)}`);
  for (const setting of rows('settings')) {
    try {
      use(JSON.parse(String(setting.value)) as unknown, `setting ${String(setting.key)}`);
    } catch {
      // A setting that is not JSON names no secret.
    }
  }
  const personal: PersonalSecretCopied[] = [];
  for (const secret of rows('secrets')) {
    const handle = String(secret.handle);
    if (inTeamVault.has(handle)) continue;
    const project = secret.project === null || secret.project === undefined ? null : String(secret.project);
    personal.push({ handle, name: String(secret.name), project, usedBy: [...(uses.get(handle) ?? []), ...(project === null ? [] : [`project ${project}`])] });
  }
  // The secrets something copied uses come first: those are what other members will miss.
  personal.sort((left, right) => Number(right.usedBy.length > 0) - Number(left.usedBy.length > 0));
  return {
    servers: rows('servers').length,
    allocations: rows('allocations').length,
    runs: rows('deploy_runs').length,
    releases: rows('releases').length,
    secrets: rows('secrets').length,
    domains: rows('domains').length,
    settings: rows('settings').length,
    personalSecrets: personal.slice(0, PERSONAL_SECRETS_LISTED),
    personalSecretCount: personal.length,
    keptHere: snapshot.keptHere,
  };
}

/** Test-only: ends the daemon mid-transaction, as a crash or a cut connection would. */
function killForTest(log: ScopedLogger): never {
  log.warn('test fault hook: killing the daemon half-way through the team copy', { point: COPY_FAULT });
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL lands asynchronously: block until it does, so not one more statement runs.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  throw new Error('the test fault did not end the daemon');
}
