import { describeError, ZavhozError } from './core/errors.js';
import { resolveDataFolder } from './core/paths.js';
import { EXIT_ALREADY_RUNNING, EXIT_FAILED, READY_LINE } from './core/startup.js';
import { AlreadyRunningError, startDaemon } from './daemon.js';


async function main(): Promise<void> {
  const folder = resolveDataFolder();
  let daemon;
  try {
    daemon = await startDaemon(folder);
  } catch (error) {
    if (error instanceof AlreadyRunningError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_ALREADY_RUNNING);
    }
    const message = error instanceof ZavhozError ? error.message : `Zavhoz daemon failed to start: ${describeError(error)}`;
    process.stderr.write(`${message}\n`);
    process.exit(EXIT_FAILED);
  }
  process.on('uncaughtException', (error) => {
    daemon.services.log.error('uncaught exception', { error: error.stack ?? error.message });
    void daemon.shutdown('uncaught exception');
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void daemon.shutdown(signal));
  }
  // After the ready line the starter closes its pipes; later writes must not kill the daemon.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  process.stdout.write(`${READY_LINE}\n`);
  await daemon.stopped;
  process.exit(0);
}

void main();
