import { RotationRun, type RotationResult } from '../../protocol/rotation.js';
import type { Command } from '../command.js';

function summary(result: RotationResult): string {
  const verb = result.dryRun ? 'would rotate' : 'rotated';
  const lines: string[] = [];
  for (const secret of result.rotated) lines.push(`${verb} ${secret.handle} (${secret.name}${secret.project ? `, project ${secret.project}` : ''}), due since ${secret.dueSince}`);
  for (const secret of result.failed) lines.push(`failed to rotate ${secret.handle} (${secret.name}): ${secret.error}`);
  for (const secret of result.reported) {
    lines.push(`due since ${secret.dueSince}: ${secret.handle} (${secret.name}) needs a new value from you: zavhoz secret rotate ${secret.handle}`);
  }
  for (const redeploy of result.redeploys) {
    if (redeploy.runId) lines.push(`redeploying ${redeploy.project}: run ${redeploy.runId} (follow it with: zavhoz run log ${redeploy.runId} --follow)`);
    else if (redeploy.error) lines.push(`not redeployed ${redeploy.project}: ${redeploy.error}`);
    else lines.push(`would redeploy ${redeploy.project} (repeating run ${redeploy.fromRun})`);
  }
  return lines.length > 0 ? lines.join('\n') : 'No secret is due for rotation.';
}

/** `zavhoz secret rotate-due`: run the due-rotation round now. */
export const rotationCommands: Command[] = [
  {
    path: ['secret', 'rotate-due'],
    usage: 'zavhoz secret rotate-due [--dry-run] [--json]',
    summary: 'Rotate every generated secret whose --rotate-every is up and redeploy the projects that use them; report typed-in ones that are due.',
    examples: ['zavhoz secret rotate-due --dry-run', 'zavhoz secret rotate-due'],
    positionals: [0, 0],
    options: {
      'dry-run': { type: 'boolean', description: 'Only say what would be rotated and redeployed; change nothing.' },
    },
    async run(context) {
      const client = await context.connect();
      try {
        const result = await client.request(RotationRun, { dryRun: context.flags['dry-run'] === true });
        context.print(result, () => summary(result));
        return result.failed.length > 0 || result.redeploys.some((redeploy) => redeploy.error !== undefined) ? 1 : 0;
      } finally {
        client.close();
      }
    },
  },
];
