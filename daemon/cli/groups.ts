/** What each command group is for, shown by `zavhoz --help` and `zavhoz <group> --help`. */
export const GROUP_SUMMARIES: Readonly<Record<string, string>> = {
  daemon: 'Start, stop and inspect the local daemon that holds the store and talks to the keychain.',
  config: 'Read and change daemon-wide settings.',
  secret: 'Secrets in the OS keychain: store, list, reveal, rotate, import. Values never go on the command line.',
  audit: 'The audit log: who revealed, rotated, deleted, imported or used which secret, and when.',
  server: 'The server inventory: add servers, check them, sync them from a provider, mark personal machines as ghosts.',
  allocation: 'Where projects run: list and release allocations (`zavhoz allocate` makes them).',
  env: "A project folder's variables: which come from the infrastructure, which are computed, which you bind.",
  service: "Deployed projects' containers: status, redacted logs, restart, stop and start.",
  run: 'Deploy runs: list them, show one, follow its log, cancel it.',
  release: "What each successful deploy left running (commit, images by digest, secret versions): list them, show one; `zavhoz rollback` redeploys one.",
  domain: 'Domains of deployed projects: routed by the proxy on their server with automatic HTTPS, and their DNS records.',
  github: 'GitHub Actions secrets: seal vault secrets for a repository and find drift.',
  agent: 'What AI agents may do: time-limited grants per project, and the command lines they may run with secrets.',
  vault: "The team's HashiCorp Vault / OpenBao for team secrets: connect this member (credentials kept in your keychain), status, disconnect.",
  team: "Share one store with a team on PostgreSQL: join (the daemon switches at its next start), status, leave.",
  notify: 'Outbound notifications (webhook, Slack, Telegram, email): endpoints, the events each wants, a test message.',
};
