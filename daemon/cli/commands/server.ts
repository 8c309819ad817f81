import {
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  type ServerInfo,
  ServersAcceptHostKey,
  describeProxy,
  ServersAdd,
  ServersCheck,
  ServersFetch,
  ServersGhost,
  ServersList,
  ServersManage,
  ServersReboot,
  ServersRebootProgress,
  ServersRemove,
  ServersShow,
  ServersSync,
  ServersUpdate,
  ServersUpload,
  fileMode,
} from '../../protocol/servers.js';
import path from 'node:path';
import readline from 'node:readline';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled } from '../../client/client.js';
import { CliError, type Command, integerFlag, listFlag, stringFlag, call } from '../command.js';
import { PagedTable, listPages, printPages } from '../listing.js';
import { serverSshCommands } from './serverSsh.js';

function megabytes(value: number | null): string {
  if (value === null) return '?';
  return value >= 10_240 ? `${(value / 1024).toFixed(1)} GB` : `${value} MB`;
}

const NO_SERVERS = 'No servers. Add one with `zavhoz server add HANDLE --host H`, or configure a provider and run `zavhoz server sync`.';

function serverTable(): PagedTable<ServerInfo> {
  return new PagedTable(['HANDLE', 'STATUS', 'ADDRESS', 'RAM', 'SERVICES', 'PROXY'], (server) => [
    server.handle + (server.managed ? '' : ' (ghost)'),
    server.status,
    `${server.host}:${server.sshPort}`,
    `${megabytes(server.availableRamMb)} free / ${megabytes(server.ramMb)}`,
    String(server.services),
    proxyCell(server),
  ]);
}

/** The PROXY column: `-` without one, else its state, version and domains (`running v2.6.2, 2 domains`). */
function proxyCell(server: ServerInfo): string {
  if (!server.proxy || server.proxy.state === 'not-installed') return '-';
  return describeProxy(server.proxy).replace(/^proxy /, '');
}

function details(server: ServerInfo): string {
  const lines: [string, string][] = [
    ['handle', server.handle],
    ['name', server.name],
    ['status', server.status + (server.missingSince ? ` (since ${server.missingSince})` : '')],
    ['managed', server.managed ? 'yes' : 'no (ghost: never offered to automation)'],
    ['ssh', `${server.sshUser}@${server.host}:${server.sshPort}`],
    ['ssh key', server.sshKeySecret ?? '(none)'],
    ['host key', server.hostKeyFingerprint ?? '(not pinned yet)'],
    ['capacity', `${megabytes(server.ramMb)} RAM, ${megabytes(server.diskMb)} disk, ${server.cpuCores ?? '?'} cores`],
    ['available', `${megabytes(server.availableRamMb)} RAM, ${megabytes(server.availableDiskMb)} disk`],
    ['reserved', `${megabytes(server.reservedRamMb)} RAM for ${server.services} module(s)`],
    ['listening', server.listeningPorts.join(', ') || '(unknown)'],
    ['labels', server.labels.join(', ') || '(none)'],
    ['provider', server.provider ? `${server.provider} #${server.providerId} (${server.providerStatus ?? '?'})` : '(added by hand)'],
    ['proxy', proxyLine(server)],
    ['last check', server.lastCheckAt ? `${server.lastCheckAt}${server.lastCheckError ? `: ${server.lastCheckError}` : ' ok'}` : 'never'],
  ];
  if (server.offeredHostKeyFingerprint) lines.push(['offered key', `${server.offeredHostKeyFingerprint} (refused; accept with zavhoz server accept-host-key ${server.handle})`]);
  return lines.map(([name, value]) => `${name.padEnd(12)}${value}`).join('\n');
}

/** The proxy line of `server show`: state, version, domains, when it was last looked at, and why it is unhealthy. */
function proxyLine(server: ServerInfo): string {
  const proxy = server.proxy;
  if (!proxy || proxy.state === 'not-installed') return '(none: no domain routes through this server)';
  const checked = proxy.checkedAt ? `, checked ${proxy.checkedAt}` : '';
  return `${describeProxy(proxy).replace(/^proxy /, '')}${checked}${proxy.error ? `: ${proxy.error}` : ''}`;
}

const sshOptions = {
  host: { type: 'string', value: 'HOST', description: 'Address or host name SSH connects to.' },
  'ssh-port': { type: 'string', value: 'PORT', description: `SSH port (default ${DEFAULT_SSH_PORT}).` },
  'ssh-user': { type: 'string', value: 'USER', description: `SSH user (default ${DEFAULT_SSH_USER}).` },
  'ssh-key-secret': { type: 'string', value: 'HANDLE', description: 'Vault handle of the private key SSH uses (never the key itself).' },
  'ram-mb': { type: 'string', value: 'MB', description: 'RAM of the server, when no check has measured it.' },
  'disk-mb': { type: 'string', value: 'MB', description: 'Disk of the server, when no check has measured it.' },
  'cpu-cores': { type: 'string', value: 'N', description: 'CPU cores of the server.' },
  label: { type: 'string', multiple: true, value: 'LABEL', description: 'A free-form label (replaces all labels on update).' },
} as const;

const forceOption = { type: 'boolean', description: 'Release the modules allocated on the server instead of refusing.' } as const;

function optional<T>(name: string, value: T | undefined): Record<string, T> {
  return value === undefined ? {} : { [name]: value };
}

/** `zavhoz server …`: the inventory. */
export const serverCommands: Command[] = [
  {
    path: ['server', 'add'],
    usage: `zavhoz server add HANDLE --host H [--ssh-port ${DEFAULT_SSH_PORT}] [--ssh-user ${DEFAULT_SSH_USER}] [--ssh-key-secret HANDLE] [--ram-mb N] [--disk-mb N] [--cpu-cores N] [--label x]…`,
    summary: 'Add a server by hand (the SSH key is a vault handle, never the key).',
    examples: ['zavhoz server add web-1 --host 203.0.113.7 --ssh-key-secret sec_ab12cd34', 'zavhoz server add pi --host pi.local --ssh-user pi --ssh-port 2222 --label home'],
    options: sshOptions,
    positionals: [1, 1],
    async run(context) {
      const host = stringFlag(context.flags, 'host');
      if (!host) throw new CliError('--host is required.', 2);
      const server = await call(context, ServersAdd, {
        handle: context.positionals[0] as string,
        host,
        ...optional('sshPort', integerFlag(context.flags, 'ssh-port')),
        ...optional('sshUser', stringFlag(context.flags, 'ssh-user')),
        labels: listFlag(context.flags, 'label'),
        ...optional('sshKeySecret', stringFlag(context.flags, 'ssh-key-secret')),
        ...optional('ramMb', integerFlag(context.flags, 'ram-mb')),
        ...optional('diskMb', integerFlag(context.flags, 'disk-mb')),
        ...optional('cpuCores', integerFlag(context.flags, 'cpu-cores')),
      });
      context.print(server, () => `Added ${server.handle} (${server.status}). Check it with: zavhoz server check ${server.handle}`);
    },
  },
  {
    path: ['server', 'update'],
    usage: 'zavhoz server update HANDLE [--host H] [--ssh-port N] [--ssh-user U] [--ssh-key-secret HANDLE] [--ram-mb N] [--disk-mb N] [--cpu-cores N] [--label x]…',
    summary: 'Change how a server is reached or described.',
    examples: ['zavhoz server update web-1 --ssh-port 2222', 'zavhoz server update web-1 --label eu --label prod'],
    options: sshOptions,
    positionals: [1, 1],
    async run(context) {
      const labels = listFlag(context.flags, 'label');
      const server = await call(context, ServersUpdate, {
        handle: context.positionals[0] as string,
        ...optional('host', stringFlag(context.flags, 'host')),
        ...optional('sshPort', integerFlag(context.flags, 'ssh-port')),
        ...optional('sshUser', stringFlag(context.flags, 'ssh-user')),
        ...optional('sshKeySecret', stringFlag(context.flags, 'ssh-key-secret')),
        ...optional('ramMb', integerFlag(context.flags, 'ram-mb')),
        ...optional('diskMb', integerFlag(context.flags, 'disk-mb')),
        ...optional('cpuCores', integerFlag(context.flags, 'cpu-cores')),
        ...(labels.length > 0 ? { labels } : {}),
      });
      context.print(server, () => details(server));
    },
  },
  {
    path: ['server', 'list'],
    usage: 'zavhoz server list [--all] [--json]',
    summary: 'List managed servers (with --all, ghost servers too).',
    examples: ['zavhoz server list', 'zavhoz server list --all --json'],
    options: { all: { type: 'boolean', description: 'List ghost servers (personal machines) too.' } },
    async run(context) {
      const table = serverTable();
      const pages = listPages(context, ServersList, { all: context.flags.all === true }, (page) => page.servers);
      await printPages(context, pages, { empty: NO_SERVERS, lines: (servers, first) => table.lines(servers, first) });
    },
  },
  {
    path: ['server', 'show'],
    usage: 'zavhoz server show HANDLE [--json]',
    summary: 'Show one server: status, capacity, host key, provider.',
    examples: ['zavhoz server show web-1'],
    positionals: [1, 1],
    async run(context) {
      const server = await call(context, ServersShow, { handle: context.positionals[0] as string });
      context.print(server, () => details(server));
    },
  },
  {
    path: ['server', 'remove'],
    usage: 'zavhoz server remove HANDLE [--force]',
    summary: 'Remove a server; refused while modules are allocated on it unless --force releases them.',
    examples: ['zavhoz server remove web-1', 'zavhoz server remove web-1 --force'],
    options: { force: forceOption },
    positionals: [1, 1],
    async run(context) {
      const removed = await call(context, ServersRemove, { handle: context.positionals[0] as string, force: context.flags.force === true });
      context.print(removed, () => `Removed ${removed.removed}${removed.releasedAllocations > 0 ? `, released ${removed.releasedAllocations} allocation(s)` : ''}.`);
    },
  },
  {
    path: ['server', 'manage'],
    usage: 'zavhoz server manage HANDLE',
    summary: 'Let automation use a server again (takes it off the ghost list).',
    examples: ['zavhoz server manage my-laptop'],
    positionals: [1, 1],
    async run(context) {
      const server = await call(context, ServersManage, { handle: context.positionals[0] as string });
      context.print(server, () => `${server.handle} is managed.`);
    },
  },
  {
    path: ['server', 'ghost'],
    usage: 'zavhoz server ghost HANDLE [--force]',
    summary: 'Mark a server as a ghost (a personal machine automation never uses).',
    examples: ['zavhoz server ghost my-laptop'],
    options: { force: { type: 'boolean', description: 'Make it a ghost even while modules are allocated on it.' } },
    positionals: [1, 1],
    async run(context) {
      const server = await call(context, ServersGhost, { handle: context.positionals[0] as string, force: context.flags.force === true });
      context.print(server, () => `${server.handle} is a ghost server: stored, never offered to automation.`);
    },
  },
  {
    path: ['server', 'sync'],
    usage: 'zavhoz server sync [--json]',
    summary: 'Sync the inventory with the configured provider (Time4VPS) now.',
    examples: ['zavhoz server sync'],
    async run(context) {
      const result = await call(context, ServersSync, {});
      context.print(result, () =>
        `Synced ${result.total} server(s) from ${result.provider}: ${result.added.length} new, ${result.updated.length} changed, ${result.missing.length} missing, ${result.restored.length} back, ${result.unchanged} unchanged.`,
      );
    },
  },
  {
    path: ['server', 'check'],
    usage: 'zavhoz server check HANDLE [--json]',
    summary: 'Health-check a server: TCP, then SSH with its vault key (free RAM, disk, listening ports).',
    examples: ['zavhoz server check web-1'],
    positionals: [1, 1],
    async run(context) {
      const server = await call(context, ServersCheck, { handle: context.positionals[0] as string });
      context.print(server, () => details(server));
    },
  },
  {
    path: ['server', 'accept-host-key'],
    usage: 'zavhoz server accept-host-key HANDLE',
    summary: 'Pin the new SSH host key a server presented (after it was refused as changed).',
    examples: ['zavhoz server accept-host-key web-1'],
    positionals: [1, 1],
    async run(context) {
      const result = await call(context, ServersAcceptHostKey, { handle: context.positionals[0] as string });
      context.print(result, () => `Pinned ${result.accepted} for ${result.server.handle}${result.previous ? ` (was ${result.previous})` : ''}.`);
    },
  },
  {
    path: ['server', 'reboot'],
    usage: 'zavhoz server reboot HANDLE --yes [--timeout SECONDS] [--json]',
    summary: 'Reboot a server, wait until SSH answers again, then health-check it.',
    examples: ['zavhoz server reboot web-1 --yes', 'zavhoz server reboot web-1 --yes --timeout 600'],
    options: {
      yes: { type: 'boolean', description: 'Reboot without asking (needed when not on a terminal).' },
      timeout: { type: 'string', value: 'SECONDS', description: 'How long to wait for SSH to answer again (default 300).' },
    },
    positionals: [1, 1],
    async run(context) {
      const handle = context.positionals[0] as string;
      const timeoutSeconds = integerFlag(context.flags, 'timeout');
      if (context.flags.yes !== true) {
        if (!context.interactive) throw new CliError(`Rebooting stops every service on ${handle} for a while; pass --yes to confirm when not on a terminal.`, 2);
        const lines = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
        const answer = await new Promise<string | undefined>((resolve) => {
          lines.once('close', () => resolve(undefined));
          lines.question(`Reboot ${handle}? Every service on it stops until it is back. [y/N] `, resolve);
        });
        lines.close();
        if (answer === undefined || !/^\s*y(es)?\s*$/i.test(answer)) throw new CliError('Nothing was changed.', 1);
      }
      const client = await context.connect();
      const source = new CancellationTokenSource();
      const onInterrupt = (): void => source.cancel();
      process.once('SIGINT', onInterrupt);
      try {
        client.onNotification(ServersRebootProgress, (progress) => {
          if (!context.json && progress.handle === handle) process.stderr.write(`${progress.phase}${progress.detail ? `: ${progress.detail}` : ''}\n`);
        });
        const result = await client.request(ServersReboot, { handle, confirm: true, ...optional('timeoutSeconds', timeoutSeconds) }, { token: source.token });
        context.print(result, () => `${handle} rebooted: down after ${result.downAfterSeconds} s, SSH back after ${result.upAfterSeconds} s; health check ${result.server.status}.`);
      } catch (error) {
        if (isCancelled(error)) throw new CliError(`Stopped waiting for ${handle}; a reboot already started goes on. Check it later with: zavhoz server check ${handle}`, 130);
        throw error;
      } finally {
        process.off('SIGINT', onInterrupt);
        client.close();
      }
    },
  },
  {
    path: ['server', 'upload'],
    usage: 'zavhoz server upload HANDLE LOCAL REMOTE [--mode 0640] [--json]',
    summary: 'Copy a file of this machine to a server over SFTP (replaced atomically, with the given permissions).',
    examples: ['zavhoz server upload web-1 ./nginx.conf /etc/nginx/conf.d/shop.conf', 'zavhoz server upload web-1 ./app.env /opt/services/shop/app.env --mode 0600'],
    options: { mode: { type: 'string', value: 'MODE', description: "The file's permission bits on the server, in octal (default: the local file's)." } },
    complete: 'file',
    positionals: [3, 3],
    async run(context) {
      const [handle = '', local = '', remote = ''] = context.positionals;
      const mode = stringFlag(context.flags, 'mode');
      if (mode !== undefined && !fileMode.safeParse(mode).success) throw new CliError(`--mode must be octal permission bits like 0640, got "${mode}".`, 2);
      if (!remote.startsWith('/')) throw new CliError(`REMOTE must be an absolute path on the server, got "${remote}".`, 2);
      const copied = await call(context, ServersUpload, { handle, local: path.resolve(local), remote, ...optional('mode', mode) });
      context.print(copied, () => `Uploaded ${copied.local} to ${copied.server}:${copied.remote} (${copied.bytes} bytes, mode ${copied.mode}).`);
    },
  },
  {
    path: ['server', 'fetch'],
    usage: 'zavhoz server fetch HANDLE REMOTE LOCAL [--json]',
    summary: 'Copy a file of a server to this machine over SFTP (written atomically, with its permissions).',
    examples: ['zavhoz server fetch web-1 /opt/services/shop/.env.prod ./prod.env', 'zavhoz server fetch web-1 /var/log/syslog .'],
    complete: 'file',
    positionals: [3, 3],
    async run(context) {
      const [handle = '', remote = '', local = ''] = context.positionals;
      if (!remote.startsWith('/')) throw new CliError(`REMOTE must be an absolute path on the server, got "${remote}".`, 2);
      const copied = await call(context, ServersFetch, { handle, remote, local: path.resolve(local) });
      context.print(copied, () => `Fetched ${copied.server}:${copied.remote} to ${copied.local} (${copied.bytes} bytes, mode ${copied.mode}).`);
    },
  },
  ...serverSshCommands,
];
