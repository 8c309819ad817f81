/**
 * The floor under `zavhoz exec`'s masked throughput, for `bench/exec.ts`: runs `cat FILE` the way `runMasked`
 * (daemon/exec/runChild.ts) runs a command whose output it masks (the same output channel, the same writer and its
 * back-pressure into this process's stdout) but with nothing to mask, so the writer passes each read on as it is.
 * What this costs against `cat` writing straight into the sink is the relay itself (one more process on the
 * machine, two more copies of every byte through the kernel), which no masker can go below.
 */
import { spawn } from 'node:child_process';
import { MaskedWriter } from '../daemon/exec/maskedWriter.js';
import { openOutputChannels } from '../daemon/exec/outputChannel.js';

async function main(file: string): Promise<void> {
  const writer = new MaskedWriter([], process.stdout);
  const channels = await openOutputChannels([(bytes, release) => writer.write(bytes, release)]);
  const channel = channels?.[0];
  if (channel === undefined) throw new Error('no output channel could be opened on this machine');
  const child = spawn('cat', [file], { stdio: ['ignore', channel.childEnd, 'inherit'] });
  channel.childEnd.destroy();
  const output = new Promise<void>((resolve) => channel.ours.once('end', () => writer.end(resolve)));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await output;
  process.exitCode = code ?? 1;
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: exec-relay.ts FILE');
// Not a top-level await: the bench bundles this file as CommonJS, as the CLI is.
main(file).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
