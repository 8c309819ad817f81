import type { Migration } from './migrations.js';

/**
 * The schema, as numbered migrations. Append only: a released migration is never edited, a change is a new one.
 * Each capability owns a block; keep statements deterministic (no `datetime('now')`, no `random()`).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'settings and audit log',
    statements: [
      `CREATE TABLE settings (
         key TEXT PRIMARY KEY,
         value TEXT NOT NULL,
         updated_at TEXT NOT NULL
       )`,
      `CREATE TABLE audit_log (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at TEXT NOT NULL,
         client TEXT NOT NULL,
         request_id TEXT NOT NULL,
         action TEXT NOT NULL,
         subject TEXT NOT NULL,
         detail TEXT NOT NULL DEFAULT '{}'
       )`,
      'CREATE INDEX audit_log_subject ON audit_log (subject, at)',
    ],
  },
  {
    version: 2,
    description: 'vault: secret metadata (values live in the keychain) and pending keychain writes',
    statements: [
      // Never a value here: the journal records every param. `fingerprint` is an HMAC keyed by a secret that
      // itself lives in the keychain.
      `CREATE TABLE secrets (
         handle TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         type TEXT NOT NULL,
         category TEXT NOT NULL,
         project TEXT,
         tags TEXT NOT NULL DEFAULT '[]',
         origin TEXT NOT NULL,
         generated_length INTEGER,
         has_passphrase INTEGER NOT NULL DEFAULT 0,
         fingerprint TEXT NOT NULL,
         created_at TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         last_used_at TEXT,
         expires_at TEXT,
         rotation_days INTEGER,
         previous_fingerprint TEXT,
         previous_has_passphrase INTEGER NOT NULL DEFAULT 0,
         previous_kept_until TEXT
       )`,
      "CREATE UNIQUE INDEX secrets_name_scope ON secrets (name, COALESCE(project, ''))",
      // Keychain writes in flight: a row is written before the keychain is touched, so a crash leaves a trace
      // that start-up reconciliation rolls back (state 'prepared') or forward (state 'committed').
      `CREATE TABLE vault_pending (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         handle TEXT NOT NULL,
         operation TEXT NOT NULL,
         state TEXT NOT NULL,
         created_at TEXT NOT NULL
       )`,
      'CREATE TABLE vault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    ],
  },
  {
    version: 3,
    description: 'inventory: servers (ghosts, provider rows, pinned host keys) and allocations (one server per project)',
    statements: [
      `CREATE TABLE servers (
         handle TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         host TEXT NOT NULL,
         ssh_port INTEGER NOT NULL,
         ssh_user TEXT NOT NULL,
         ssh_key_secret TEXT,
         ram_mb INTEGER,
         disk_mb INTEGER,
         cpu_cores INTEGER,
         available_ram_mb INTEGER,
         available_disk_mb INTEGER,
         listening_ports TEXT NOT NULL DEFAULT '[]',
         labels TEXT NOT NULL DEFAULT '[]',
         provider TEXT,
         provider_id TEXT,
         provider_status TEXT,
         provider_digest TEXT,
         os TEXT,
         managed INTEGER NOT NULL DEFAULT 1,
         status TEXT NOT NULL,
         status_before_missing TEXT,
         missing_since TEXT,
         host_key_fingerprint TEXT,
         offered_host_key_fingerprint TEXT,
         last_check_at TEXT,
         last_check_error TEXT,
         reserved_ram_mb INTEGER NOT NULL DEFAULT 0,
         allocation_count INTEGER NOT NULL DEFAULT 0,
         created_at TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         UNIQUE (provider, provider_id)
       )`,
      'CREATE INDEX servers_choice ON servers (managed, status)',
      `CREATE TABLE allocations (
         project TEXT NOT NULL,
         module TEXT NOT NULL,
         server TEXT NOT NULL,
         port INTEGER NOT NULL,
         ram_mb INTEGER NOT NULL,
         created_at TEXT NOT NULL,
         PRIMARY KEY (project, module),
         UNIQUE (server, port)
       )`,
    ],
  },
  {
    version: 4,
    description: 'deploy runs',
    statements: [
      // Names, numbers and handles only: the env plan and options hold handles, never values.
      `CREATE TABLE deploy_runs (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         status TEXT NOT NULL,
         repository TEXT NOT NULL,
         ref TEXT NOT NULL,
         client TEXT NOT NULL,
         request_id TEXT NOT NULL,
         created_at TEXT NOT NULL,
         started_at TEXT,
         finished_at TEXT,
         exit_code INTEGER,
         error TEXT,
         allocation TEXT,
         env_plan TEXT,
         steps TEXT NOT NULL DEFAULT '[]',
         options TEXT NOT NULL DEFAULT '{}',
         folder TEXT NOT NULL,
         pid INTEGER,
         attempts INTEGER NOT NULL DEFAULT 0,
         timeout_seconds INTEGER NOT NULL
       )`,
      'CREATE INDEX deploy_runs_project ON deploy_runs (project, created_at)',
      'CREATE INDEX deploy_runs_status ON deploy_runs (status)',
    ],
  },
  {
    version: 5,
    description: 'github: what Zavhoz last pushed to each repository secret',
    statements: [
      // One row per (repository, environment, secret): names, handles, fingerprints and times, never values.
      `CREATE TABLE github_secret_pushes (
         repo TEXT NOT NULL,
         environment TEXT NOT NULL,
         name TEXT NOT NULL,
         repo_display TEXT NOT NULL,
         source TEXT NOT NULL,
         project TEXT,
         fingerprint TEXT NOT NULL,
         key_id TEXT NOT NULL,
         github_time TEXT NOT NULL,
         pushed_at TEXT NOT NULL,
         request_id TEXT NOT NULL,
         github_request_id TEXT NOT NULL,
         PRIMARY KEY (repo, environment, name)
       )`,
      // The HMAC key of push fingerprints, made on first use.
      `CREATE TABLE github_state (
         key TEXT PRIMARY KEY,
         value TEXT NOT NULL
       )`,
    ],
  },
  {
    version: 6,
    description: 'allocation: servers in the order the allocator chooses them',
    statements: [
      // The allocator's choice reads this index from the top and stops at the first server with room, instead of
      // sorting every server on each call. Its expression and WHERE must stay those of the allocator's query.
      `CREATE INDEX servers_by_room ON servers (COALESCE(available_ram_mb, ram_mb, 0) - reserved_ram_mb DESC, allocation_count ASC, handle ASC)
         WHERE managed = 1 AND status IN ('ready', 'in_use')`,
    ],
  },
  {
    version: 7,
    description: 'releases: what each successful deploy left running, and the kind of every run',
    statements: [
      // Names, handles, digests and fingerprints only. `detail` holds the allocation, images, env plan, secret
      // versions, health paths and the run's options (handles), as JSON.
      `CREATE TABLE releases (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         number INTEGER NOT NULL,
         server TEXT NOT NULL,
         kind TEXT NOT NULL,
         repository TEXT NOT NULL,
         ref TEXT NOT NULL,
         commit_sha TEXT NOT NULL,
         run_id TEXT NOT NULL,
         created_at TEXT NOT NULL,
         rolled_back_to TEXT,
         detail TEXT NOT NULL,
         UNIQUE (project, number)
       )`,
      `ALTER TABLE deploy_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'deploy'`,
      'ALTER TABLE deploy_runs ADD COLUMN release_id TEXT',
      'ALTER TABLE deploy_runs ADD COLUMN rollback_to TEXT',
    ],
  },
  {
    version: 8,
    description: 'vault: numbered secret versions, kept versions, and the releases that hold them',
    statements: [
      'ALTER TABLE secrets ADD COLUMN version INTEGER NOT NULL DEFAULT 1',
      // Versions other than the current one whose values the backend still holds (account `<handle>@v<version>`).
      // `kept_until`: the grace a version gets when it stops being current (until the next successful deploy or
      // that time); null once that is over, when only holders keep it.
      `CREATE TABLE secret_versions (
         handle TEXT NOT NULL,
         version INTEGER NOT NULL,
         fingerprint TEXT NOT NULL,
         has_passphrase INTEGER NOT NULL DEFAULT 0,
         kept_until TEXT,
         PRIMARY KEY (handle, version)
       )`,
      // Who keeps which version (a release id keeps the versions it deployed).
      `CREATE TABLE secret_holds (
         holder TEXT NOT NULL,
         handle TEXT NOT NULL,
         version INTEGER NOT NULL,
         PRIMARY KEY (holder, handle, version)
       )`,
      'CREATE INDEX secret_holds_version ON secret_holds (handle, version)',
      'ALTER TABLE vault_pending ADD COLUMN version INTEGER',
      // The old single previous version becomes version 1 (the current one version 2); its value moves from the
      // `#previous` account to `@v1` when the vault next starts, through a committed pending row.
      `INSERT INTO secret_versions (handle, version, fingerprint, has_passphrase, kept_until)
         SELECT handle, 1, previous_fingerprint, previous_has_passphrase, previous_kept_until FROM secrets WHERE previous_fingerprint IS NOT NULL`,
      `INSERT INTO vault_pending (handle, operation, state, created_at, version)
         SELECT handle, 'move-previous', 'committed', updated_at, 1 FROM secrets WHERE previous_fingerprint IS NOT NULL`,
      'UPDATE secrets SET version = 2 WHERE previous_fingerprint IS NOT NULL',
      'ALTER TABLE secrets DROP COLUMN previous_fingerprint',
      'ALTER TABLE secrets DROP COLUMN previous_has_passphrase',
      'ALTER TABLE secrets DROP COLUMN previous_kept_until',
    ],
  },
  {
    version: 9,
    description: 'releases: an undeploy archives a project\'s releases (kept for the record, no longer redeployable)',
    statements: ['ALTER TABLE releases ADD COLUMN archived_at TEXT'],
  },
  {
    version: 10,
    description: 'agents: time-limited grants per project, and the command lines a human approved for agents to run with secrets',
    statements: [
      // `actions`: a JSON array of grant actions. `expires_at` null only for grants made without end (none yet: the
      // agentDeployProjects setting plays that part). `revoked_at` set by a revoke; rows stay for the record.
      `CREATE TABLE agent_grants (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         actions TEXT NOT NULL,
         created_at TEXT NOT NULL,
         expires_at TEXT,
         revoked_at TEXT,
         created_by TEXT NOT NULL
       )`,
      'CREATE INDEX agent_grants_project ON agent_grants (project, expires_at)',
      // `command`: the argument array as JSON, compared exactly.
      `CREATE TABLE agent_commands (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         command TEXT NOT NULL,
         approved_at TEXT NOT NULL,
         approved_by TEXT NOT NULL,
         UNIQUE (project, command)
       )`,
    ],
  },
  {
    version: 11,
    description: 'domains: names the proxy on a server routes to a project\'s module, with the DNS record Zavhoz made',
    statements: [
      // `dns_type`/`dns_content`: the A or AAAA record Zavhoz wrote at Cloudflare (null: none written).
      `CREATE TABLE domains (
         domain TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         module TEXT NOT NULL,
         server TEXT NOT NULL,
         created_at TEXT NOT NULL,
         dns_type TEXT,
         dns_content TEXT
       )`,
      'CREATE INDEX domains_by_project ON domains (project)',
      'CREATE INDEX domains_by_server ON domains (server)',
    ],
  },
  {
    version: 12,
    description: 'notifications: endpoints, the delivery queue and what the watchers last saw; approval requests',
    statements: [
      // Settings hold handles only (a credential's value stays in the vault).
      `CREATE TABLE notify_endpoints (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         kind TEXT NOT NULL,
         events TEXT NOT NULL,
         rate_per_minute INTEGER NOT NULL,
         settings TEXT NOT NULL,
         created_at TEXT NOT NULL
       )`,
      // One row per message and endpoint. `state`: pending (waits for next_at), sending (an attempt is under way:
      // found so at start, the daemon died during the send), delivered, failed (given up). Text is redacted.
      `CREATE TABLE notify_deliveries (
         id TEXT PRIMARY KEY,
         endpoint_id TEXT NOT NULL,
         event TEXT NOT NULL,
         subject TEXT NOT NULL,
         title TEXT NOT NULL,
         body TEXT NOT NULL,
         detail TEXT NOT NULL,
         created_at TEXT NOT NULL,
         state TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_at TEXT NOT NULL,
         sent_at TEXT,
         last_error TEXT
       )`,
      'CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at)',
      'CREATE INDEX notify_deliveries_endpoint ON notify_deliveries (endpoint_id, state)',
      // What a watcher last saw of a subject (a service's health, a server's status, a secret's version), so a
      // change is told once, across restarts.
      `CREATE TABLE notify_seen (
         key TEXT PRIMARY KEY,
         value TEXT NOT NULL,
         updated_at TEXT NOT NULL
       )`,
      // Runs of protected projects waiting for a person. `params`: the request it starts with once approved (names,
      // folders and handles, never a value).
      `CREATE TABLE approvals (
         id TEXT PRIMARY KEY,
         kind TEXT NOT NULL,
         project TEXT NOT NULL,
         status TEXT NOT NULL,
         requested_by TEXT NOT NULL,
         request_id TEXT NOT NULL,
         created_at TEXT NOT NULL,
         expires_at TEXT NOT NULL,
         summary TEXT NOT NULL,
         handles TEXT NOT NULL,
         params TEXT NOT NULL,
         decided_at TEXT,
         decided_by TEXT,
         run_id TEXT
       )`,
      'CREATE INDEX approvals_waiting ON approvals (status, expires_at)',
    ],
  },
  {
    version: 13,
    description: "team secrets: where a secret's value lives (a row per secret whose value is in the team's HashiCorp Vault)",
    statements: [
      // Metadata only: the value is in the team's Vault (KV v2), never here. Personal secrets have no row.
      `CREATE TABLE secret_locations (
         handle TEXT PRIMARY KEY,
         location TEXT NOT NULL,
         created_at TEXT NOT NULL
       )`,
    ],
  },
  {
    version: 14,
    description: 'proxy: each server\'s proxy as last seen; allocations: the switchover slot port of a module behind it',
    statements: [
      // The port a proxied module's next release answers on beside the old one during a deploy: allocated on the
      // module's server like its own port (never one another allocation holds), kept until the module is released.
      'ALTER TABLE allocations ADD COLUMN slot_port INTEGER',
      'CREATE UNIQUE INDEX allocations_slot ON allocations (server, slot_port)',
      // What the last apply or health check found of the proxy container (`running` or `unhealthy` with the reason).
      `CREATE TABLE proxies (
         server TEXT PRIMARY KEY,
         state TEXT NOT NULL,
         version TEXT,
         checked_at TEXT NOT NULL,
         error TEXT
       )`,
    ],
  },
  {
    version: 15,
    description: 'team store: the members whose daemons use a shared store, and who holds each lock shared across them',
    statements: [
      // One row per member's daemon that opened the team store (name from `zavhoz team join --member`, or user@host).
      `CREATE TABLE team_members (
         member TEXT PRIMARY KEY,
         version TEXT NOT NULL,
         first_seen TEXT NOT NULL,
         last_seen TEXT NOT NULL
       )`,
      // Who holds a lock that spans the team's daemons (a project's deploy), for the message the others get. The lock
      // itself is PostgreSQL's (an advisory lock on the holder's connection, gone with it); a row may outlive a
      // holder that crashed, and the next holder overwrites it.
      `CREATE TABLE shared_locks (
         key TEXT PRIMARY KEY,
         member TEXT NOT NULL,
         activity TEXT NOT NULL,
         since TEXT NOT NULL
       )`,
    ],
  },
  {
    version: 16,
    description: "team store: the member who did each audited action, and each run's daemon and what a queued run waits for",
    statements: [
      // Who did it, on a team's shared store (the member name of the daemon that wrote the entry); NULL alone.
      'ALTER TABLE audit_log ADD COLUMN member TEXT',
      // Which daemon carries the run out (a hash of its host and data folder): on a shared store each daemon starts,
      // recovers and interrupts only its own runs. NULL: a run from before this column, or the embedded store's.
      'ALTER TABLE deploy_runs ADD COLUMN daemon TEXT',
      // What a queued run waits for, in words ("waiting for alice@host's deploy of shop …"); NULL once it runs.
      'ALTER TABLE deploy_runs ADD COLUMN waiting_for TEXT',
    ],
  },
  {
    version: 17,
    description: 'team store: the line of daemons waiting for a shared lock, first come, first served',
    statements: [
      // One ticket per piece of work that waits for a lock another daemon holds (a project's deploy), in the order they
      // came. A ticket lives as long as its daemon's lock connection (an advisory lock on the ticket, gone with it): a
      // ticket whose daemon died is skipped and removed by the next daemon that looks.
      `CREATE TABLE lock_waiters (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         key TEXT NOT NULL,
         member TEXT NOT NULL,
         activity TEXT NOT NULL,
         since TEXT NOT NULL
       )`,
      'CREATE INDEX lock_waiters_in_line ON lock_waiters (key, id)',
    ],
  },
];
