import { type TeamVaultStatus, VaultConnect, VaultDisconnect, VaultStatus } from '../../protocol/vault.js';
import { type Command, type CommandContext, CliError, stringFlag, withClient } from '../command.js';
import { requestCommand } from '../listing.js';

/** A credential from stdin (one line; a trailing newline is not part of it), never from argv. */
async function readCredential(context: CommandContext, what: string): Promise<string> {
  const text = context.interactive ? await context.promptSecret(`${what} (typing is not shown): `) : (await context.readStdin()).replace(/\r?\n$/, '');
  if (text.trim() === '') throw new CliError(`No ${what} on stdin: pipe it in (e.g. from a password manager), never on the command line.`, 2);
  return text.trim();
}

function describe(status: TeamVaultStatus): string {
  if (!status.connected) return `team vault   not connected${status.teamByDefault ? ' (ZAVHOZ_VAULT=hashicorp: new secrets need one)' : ''}\n${status.message ?? ''}`.trimEnd();
  return [
    `team vault   hashicorp at ${status.address ?? '-'}`,
    `mount        ${status.mount ?? '-'}${status.prefix ? `, prefix ${status.prefix}` : ''}`,
    ...(status.namespace ? [`namespace    ${status.namespace}`] : []),
    `auth         ${status.auth ?? '-'}${status.tokenTtlSeconds === null ? '' : ` (token valid ${status.tokenTtlSeconds} s, renewed by the daemon)`}`,
    `state        ${status.state}${status.message ? `: ${status.message}` : ''}`,
    `new secrets  ${status.teamByDefault ? 'team (ZAVHOZ_VAULT=hashicorp; --personal keeps one in your keychain)' : 'personal (--team puts one in the team vault)'}`,
    `team secrets ${status.teamSecrets}`,
  ].join('\n');
}

/** `zavhoz vault …`: the team's Vault. Tokens and secret ids come through stdin and go to the keychain. */
export const vaultCommands: Command[] = [
  {
    path: ['vault', 'connect'],
    usage: 'zavhoz vault connect hashicorp --address URL --mount MOUNT [--prefix PATH] [--namespace NS] (--token-stdin | --approle ROLE_ID --secret-id-stdin) [--json]',
    summary: "Connect this member to the team's HashiCorp Vault / OpenBao (KV v2); the credentials are checked at once and kept in your keychain.",
    examples: [
      'vault print token | zavhoz vault connect hashicorp --address https://vault.acme.dev:8200 --mount secret --prefix zavhoz/acme --token-stdin',
      'zavhoz vault connect hashicorp --address https://vault.acme.dev:8200 --mount team-kv --approle 6f1c… --secret-id-stdin < secret-id.txt',
    ],
    positionals: [1, 1],
    complete: ['hashicorp'],
    options: {
      address: { type: 'string', value: 'URL', description: "Vault's address, https (plain http only on loopback)." },
      mount: { type: 'string', value: 'MOUNT', description: 'The KV v2 mount that holds team secrets (e.g. secret).' },
      prefix: { type: 'string', value: 'PATH', description: 'The folder inside the mount for Zavhoz (e.g. zavhoz/acme).' },
      namespace: { type: 'string', value: 'NS', description: 'Vault Enterprise / OpenBao namespace.' },
      'token-stdin': { type: 'boolean', description: 'Read a Vault token from stdin.' },
      approle: { type: 'string', value: 'ROLE_ID', description: 'Log in with AppRole with this role id (with --secret-id-stdin).' },
      'secret-id-stdin': { type: 'boolean', description: "Read the AppRole secret id from stdin." },
      'approle-path': { type: 'string', value: 'PATH', description: 'Where the AppRole method is mounted (default approle).' },
    },
    async run(context) {
      if (context.positionals[0] !== 'hashicorp') throw new CliError(`Only "hashicorp" (HashiCorp Vault or OpenBao) can be connected; got "${context.positionals[0] ?? ''}".`, 2);
      const address = stringFlag(context.flags, 'address');
      const mount = stringFlag(context.flags, 'mount');
      if (address === undefined || mount === undefined) throw new CliError('--address and --mount are required.', 2);
      const roleId = stringFlag(context.flags, 'approle');
      const byToken = context.flags['token-stdin'] === true;
      if (byToken === (roleId !== undefined)) throw new CliError('Give --token-stdin, or --approle ROLE_ID with --secret-id-stdin.', 2);
      if (roleId !== undefined && context.flags['secret-id-stdin'] !== true) throw new CliError('--approle needs --secret-id-stdin: the secret id comes through stdin, never the command line.', 2);
      const mountPath = stringFlag(context.flags, 'approle-path');
      const auth =
        roleId === undefined
          ? { kind: 'token' as const, token: await readCredential(context, 'Vault token') }
          : { kind: 'approle' as const, roleId, secretId: await readCredential(context, 'AppRole secret id'), ...(mountPath === undefined ? {} : { mountPath }) };
      const prefix = stringFlag(context.flags, 'prefix');
      const namespace = stringFlag(context.flags, 'namespace');
      const status = await withClient(context, (client) =>
        client.request(VaultConnect, { kind: 'hashicorp', address, mount, auth, ...(prefix === undefined ? {} : { prefix }), ...(namespace === undefined ? {} : { namespace }) }),
      );
      context.print(status, () => `Connected.\n${describe(status)}`);
    },
  },
  requestCommand({
    path: ['vault', 'status'],
    usage: 'zavhoz vault status [--json]',
    summary: "Show the team's Vault: address, mount, auth kind, whether it answers (sealed, unreachable, refused); never a token.",
    examples: ['zavhoz vault status'],
    request: VaultStatus,
    params: () => ({}),
    human: describe,
    exitCode: (status) => (status.connected && status.state !== 'ok' ? 1 : undefined),
  }),
  requestCommand({
    path: ['vault', 'disconnect'],
    usage: 'zavhoz vault disconnect [--json]',
    summary: "Forget this member's Vault connection (removes it from your keychain); team secrets are unreadable until you connect again.",
    examples: ['zavhoz vault disconnect'],
    request: VaultDisconnect,
    params: () => ({}),
    human: (result) => (result.disconnected ? `Disconnected.${result.teamSecrets > 0 ? ` ${result.teamSecrets} team secret(s) cannot be read until you connect again.` : ''}` : 'No team vault was connected.'),
  }),
];
