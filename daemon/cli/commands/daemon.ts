import { DaemonNotRunningError } from '../../client/client.js';
import { DaemonShutdown, DaemonStatus, type DaemonStatusResult } from '../../protocol/lifecycle.js';
import { type Command, CliError } from '../command.js';

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
      const closed = new Promise<void>((resolve) => client.onClose(resolve));
      await client.request(DaemonShutdown, {});
      // Wait for the daemon to close the connection, 15 s at most; the timer must not keep the CLI alive after that.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 15_000)))]);
      clearTimeout(timer);
      client.close();
      context.print({ stopped: true }, () => 'Zavhoz daemon stopped.');
    },
  },
  {
    path: ['daemon', 'status'],
    usage: 'zavhoz daemon status [--json]',
    summary: 'Show pid, versions, data folder, uptime and connected clients.',
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
