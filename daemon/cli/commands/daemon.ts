import { DaemonNotRunningError } from '../../client/client.js';
import { isDaemonAlive, type LockOwner, readOwner } from '../../core/lock.js';
import { dataPaths } from '../../core/paths.js';
import { DaemonShutdown, DaemonStatus, type DaemonStatusResult } from '../../protocol/lifecycle.js';
import { type Command, CliError } from '../command.js';

/** How long `daemon stop` waits for in-flight work to end before it says the daemon is still stopping. */
const STOP_WAIT_MS = 15_000;

/**
 * Waits until no live daemon holds the data folder's lock (it releases it as the last thing before it exits) and
 * resolves undefined, or resolves the owner still running at `deadline`. A zombie or a reused pid counts as gone
 * (see isDaemonAlive).
 */
async function ownerStillRunning(folder: string, deadline: number): Promise<LockOwner | undefined> {
  const lock = dataPaths(folder).lock;
  for (;;) {
    const owner = readOwner(lock);
    if (owner === undefined || !isDaemonAlive(owner)) return undefined;
    if (Date.now() >= deadline) return owner;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function formatStatus(status: DaemonStatusResult): string {
  const clients = status.clients.map((client) => `${client.name}#${client.id}`).join(', ') || 'none';
  return [
    `running      pid ${status.pid}`,
    `version      ${status.daemonVersion} (protocol ${status.protocolVersion})`,
    `data folder  ${status.dataFolder}`,
    `uptime       ${status.uptimeSeconds} s`,
    `clients      ${clients}`,
  ].join('\n');
}

/** `zavhoz daemon start|stop|status`. */
export const daemonCommands: Command[] = [
  {
    path: ['daemon', 'start'],
    usage: 'zavhoz daemon start [--json]',
    summary: 'Start the daemon for this data folder (does nothing if it already runs).',
    examples: ['zavhoz daemon start', 'ZAVHOZ_HOME=~/zavhoz-test zavhoz daemon start'],
    async run(context) {
      const client = await context.connect({ autoStart: true });
      try {
        const status = await client.request(DaemonStatus, {});
        context.print(status, () => `Zavhoz daemon running (pid ${status.pid}, data folder ${status.dataFolder}).`);
      } finally {
        client.close();
      }
    },
  },
  {
    path: ['daemon', 'stop'],
    usage: 'zavhoz daemon stop [--json]',
    summary: 'Ask the daemon to finish in-flight work and exit.',
    examples: ['zavhoz daemon stop'],
    async run(context) {
      let client;
      try {
        client = await context.connect({ autoStart: false });
      } catch (error) {
        if (error instanceof DaemonNotRunningError) {
          context.print({ stopped: false, running: false }, () => 'The Zavhoz daemon is not running.');
          return;
        }
        throw error;
      }
      const deadline = Date.now() + STOP_WAIT_MS;
      const closed = new Promise<void>((resolve) => client.onClose(resolve));
      await client.request(DaemonShutdown, {});
      // The daemon closes connections first and exits after it has stored its state; "stopped" means exited, so a
      // `daemon start` right after this never meets the old one. The timer must not keep the CLI alive.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
      clearTimeout(timer);
      client.close();
      const running = await ownerStillRunning(context.folder, deadline);
      if (running === undefined) {
        context.print({ stopped: true }, () => 'Zavhoz daemon stopped.');
        return;
      }
      const { pid } = running;
      context.print(
        { stopped: false, stopping: true, pid },
        () => `The Zavhoz daemon (pid ${pid}) is still finishing in-flight work after ${STOP_WAIT_MS / 1000} s; it exits when that is done. \`zavhoz daemon status\` tells when it has.`,
      );
    },
  },
  {
    path: ['daemon', 'status'],
    usage: 'zavhoz daemon status [--json]',
    summary: 'Show pid, versions, data folder, uptime and connected clients (exit 3 when it is not running).',
    examples: ['zavhoz daemon status', 'zavhoz daemon status --json'],
    async run(context) {
      let client;
      try {
        client = await context.connect({ autoStart: false });
      } catch (error) {
        if (error instanceof DaemonNotRunningError) {
          if (context.json) context.print({ running: false, dataFolder: context.folder }, () => '');
          throw new CliError(error.message, 3);
        }
        throw error;
      }
      try {
        const status = await client.request(DaemonStatus, {});
        context.print({ running: true, ...status }, () => formatStatus(status));
      } finally {
        client.close();
      }
    },
  },
];
