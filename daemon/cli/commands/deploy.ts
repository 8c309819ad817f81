import path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { type DaemonClient, isCancelled } from '../../client/client.js';
import { type EnvPlan, EnvPlanRequest } from '../../protocol/env.js';
import { DEFAULT_MODULE } from '../../protocol/allocations.js';
import type { RequestDefinition, RequestParams } from '../../protocol/define.js';
import { DEFAULT_REF, DEFAULT_REGISTRY, DeployStart, RUN_TIMEOUT, type RunDetail, RunsCancel, RunsGet, RunsList, RunsLog, RunsLogLines, type RunSummary } from '../../protocol/runs.js';
import { type Command, type CommandContext, CliError, integerFlag, listFlag, stringFlag, withClient } from '../command.js';
import { firstPage, listPages, printPages } from '../listing.js';
import { AWAITING_APPROVAL_EXIT_CODE, awaitingApproval, decision, waitingLine } from '../awaitApproval.js';
import { openLink } from '../openLink.js';
import { deepLink } from '../../protocol/deepLinks.js';

/** `--bind NAME=HANDLE …` as a record. */
function parseBindings(context: CommandContext): Record<string, string> {
  const bindings: Record<string, string> = {};
  for (const item of listFlag(context.flags, 'bind')) {
    const equals = item.indexOf('=');
    if (equals <= 0 || equals === item.length - 1) throw new CliError(`--bind takes NAME=HANDLE (a vault handle, never a value), got "${item}".`, 2);
    bindings[item.slice(0, equals)] = item.slice(equals + 1);
  }
  return bindings;
}

/** `--health-path [MODULE=]PATH …` as module → path (a bare PATH is the main module's); nothing when none is given. */
function healthPathsParam(context: CommandContext): { healthPaths?: Record<string, string> } {
  const paths: Record<string, string> = {};
  for (const item of listFlag(context.flags, 'health-path')) {
    const equals = item.indexOf('=');
    const slash = item.indexOf('/');
    const named = equals > 0 && (slash === -1 || equals < slash);
    const module = named ? item.slice(0, equals) : DEFAULT_MODULE;
    const value = named ? item.slice(equals + 1) : item;
    if (!value.startsWith('/')) throw new CliError(`--health-path takes [MODULE=]PATH with PATH starting with "/", got "${item}".`, 2);
    paths[module] = value;
  }
  return Object.keys(paths).length === 0 ? {} : { healthPaths: paths };
}

/**
 * Starts a run (a deploy or a rollback) and prints its id; with `--wait`, follows its log until it ends and exits
 * with its result (Ctrl-C cancels the request and the run).
 */
export async function startRun<P extends { readonly wait?: boolean | undefined }>(
  context: CommandContext,
  definition: RequestDefinition<P, RunDetail>,
  params: P,
  what: string,
): Promise<number> {
  const client = await context.connect();
  try {
    if (context.flags.wait !== true) {
      let run: RunDetail;
      try {
        run = await client.request(definition, params);
      } catch (error) {
        const approval = awaitingApproval(error);
        if (approval === undefined) throw error;
        const waiting = await client.request(RunsGet, { id: approval });
        context.print(waiting, () => waitingLine(approval));
        await openRun(context, approval);
        return AWAITING_APPROVAL_EXIT_CODE;
      }
      context.print(run, () => `${run.id} ${run.status}${run.status === 'queued' ? ' (behind the running work of this project)' : ''}`);
      await openRun(context, run.id);
      return 0;
    }
    // Log lines arrive as notifications while the request stays open; Ctrl-C cancels the request and the run.
    const source = new CancellationTokenSource();
    const onInterrupt = (): void => source.cancel();
    process.once('SIGINT', onInterrupt);
    let opened = false;
    client.onNotification(RunsLogLines, (notification) => {
      // The first lines name the run: with --open, VS Code shows it while it runs.
      if (!opened) {
        opened = true;
        void openRun(context, notification.id);
      }
      if (!context.json) for (const line of notification.lines) process.stdout.write(`${line}\n`);
    });
    try {
      const run = await client.request(definition, { ...params, wait: true }, { token: source.token });
      context.print(run, () => `${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
      return runExitCode(run);
    } catch (error) {
      if (isCancelled(error)) throw new CliError(`${what} cancelled.`, 130);
      const approval = awaitingApproval(error);
      if (approval === undefined) throw error;
      return await waitThenFollow(context, client, approval, source);
    } finally {
      process.off('SIGINT', onInterrupt);
    }
  } finally {
    client.close();
  }
}

/**
 * `--wait` on a run that waits for approval: says so, waits for the decision (Ctrl-C leaves the request waiting), then
 * follows the run it became and exits with its result; a rejected or expired request exits 1 with the reason.
 */
async function waitThenFollow(context: CommandContext, client: DaemonClient, approval: string, source: CancellationTokenSource): Promise<number> {
  process.stderr.write(`${waitingLine(approval)}\n`);
  await openRun(context, approval);
  const abort = new AbortController();
  source.token.onCancellationRequested(() => abort.abort());
  let run: RunDetail;
  try {
    run = await decision(client, approval, abort.signal);
  } catch (error) {
    if (abort.signal.aborted) throw new CliError(`Stopped waiting; ${approval} still waits for approval (zavhoz run approve ${approval}).`, 130);
    throw error;
  }
  if (run.id === approval) {
    context.print(run, () => `${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`);
    return runExitCode(run);
  }
  // An approved run whose start was refused ended before it began: it has no start time and no log to follow.
  const notStarted = run.startedAt === null && run.status === 'failed';
  if (!context.json) process.stderr.write(`approved by ${run.client}; run ${run.id} ${notStarted ? 'could not start' : 'started'}\n`);
  const final = await printLog(client, run.id, true, (line) => {
    if (!context.json) process.stdout.write(`${line}\n`);
  });
  context.print(final, () => `${final.id} ${final.status}${final.error ? `: ${final.error}` : ''}`);
  return runExitCode(final);
}

/**
 * Prints a run's log page by page (a log of any length is never one answer); with `follow`, goes on until the run
 * ends. Answers the run as it stands after the last line.
 */
async function printLog(client: DaemonClient, id: string, follow: boolean, print: (line: string) => void): Promise<RunDetail> {
  const followed = follow ? followLog(client, id, print) : undefined;
  let answer = await client.request(RunsLog, { id, follow });
  for (const line of answer.lines) print(line);
  while (answer.more) {
    answer = await client.request(RunsLog, { id, from: answer.next, follow });
    for (const line of answer.lines) print(line);
  }
  const live = answer.status === 'queued' || answer.status === 'running';
  if (followed && live) {
    followed.start(answer.next);
    await Promise.race([followed.ended, new Promise<void>((resolve) => client.onClose(resolve))]);
  }
  return client.request(RunsGet, { id });
}

/** With `--open`: opens the run (or the run waiting for approval) in VS Code through its deep link. */
async function openRun(context: CommandContext, id: string): Promise<void> {
  if (context.flags.open !== true) return;
  await openLink(deepLink({ kind: 'run', id }), (line) => process.stderr.write(`${line}\n`));
}

/** The `--open` option of the commands that show or start a run. */
export const openOption = { type: 'boolean', description: "Open the run in VS Code (its vscode:// link; VS Code's `code` command or the desktop opens it)." } as const;

export function requiredFlag(context: CommandContext, name: string): string {
  const value = stringFlag(context.flags, name);
  if (value === undefined || value === '') throw new CliError(`--${name} is required.`, 2);
  return value;
}

function formatPlan(plan: EnvPlan): string {
  const rows = plan.variables.map((variable) => [variable.name, variable.kind, variable.status, variable.handle ?? variable.rule ?? '']);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length), 4));
  const lines = rows.map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell)).join('  ').trimEnd());
  const missing = plan.missing.length
    ? ['', `Missing (${plan.missing.length}): store each value, then deploy:`, ...plan.missing.map((entry) => `  ${entry.command}   (value on stdin)`)]
    : ['', 'Ready: every variable has a source.'];
  return [`Env plan of ${plan.project} (from ${plan.files.join(', ')})`, ...lines, ...missing].join('\n');
}

const NO_RUNS = 'No runs yet. Start one with: zavhoz deploy DIR --project P --repo OWNER/NAME';

function formatRuns(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return NO_RUNS;
  return runs
    .map((run) => {
      const where = run.allocation ? `${run.allocation.server}:${run.allocation.port}` : '-';
      const what = run.status === 'awaiting_approval' ? `asked by ${run.client}: ${run.approval?.summary ?? run.kind}` : `${run.repository}@${run.ref}`;
      return `${run.id}  ${run.project.padEnd(16)}  ${run.kind.padEnd(8)}  ${run.status.padEnd(11)}  ${run.createdAt}  ${where}  ${what}`;
    })
    .join('\n');
}

/** A run that waits for (or went through) approval without running: the request, who asked, who decided. */
function formatApprovalRun(run: RunDetail, approval: NonNullable<RunDetail['approval']>): string {
  const decided = approval.decidedAt ? [`decided      ${approval.status} by ${approval.decidedBy ?? '-'} at ${approval.decidedAt}`] : [`expires      ${approval.expiresAt}`];
  return [
    `run          ${run.id} (${run.kind})`,
    `project      ${run.project}${run.repository ? ` (${run.repository}@${run.ref})` : ''}`,
    `status       ${run.status}`,
    ...(run.error ? [`error        ${run.error}`] : []),
    `asks         ${approval.summary}`,
    ...(approval.handles.length > 0 ? [`secrets      ${approval.handles.join(', ')}`] : []),
    `requested by ${run.client} at ${run.createdAt}`,
    ...decided,
    ...(run.status === 'awaiting_approval' ? ['', waitingLine(run.id)] : []),
  ].join('\n');
}

function formatRun(run: RunDetail): string {
  if (run.approval && run.id === run.approval.id) return formatApprovalRun(run, run.approval);
  return [
    `run          ${run.id} (${run.kind}${run.rollbackTo ? ` to ${run.rollbackTo}` : ''})`,
    `project      ${run.project} (${run.repository}@${run.ref})`,
    `status       ${run.status}${run.exitCode === null ? '' : ` (exit ${run.exitCode})`}`,
    ...(run.waitingFor ? [`waiting      ${run.waitingFor}`] : []),
    ...(run.releaseId ? [`release      ${run.releaseId}`] : []),
    ...(run.error ? [`error        ${run.error}`] : []),
    `target       ${run.allocation ? `${run.allocation.server} ${run.allocation.host}:${run.allocation.port}` : '-'}`,
    ...Object.entries(run.allocation?.domainUrls ?? {}).map(([module, url]) => `url          ${url} (module ${module})`),
    `created      ${run.createdAt}`,
    `started      ${run.startedAt ?? '-'}`,
    `finished     ${run.finishedAt ?? '-'}`,
    `requested by ${run.client} (${run.requestId})`,
    `folder       ${run.folder}`,
    'steps',
    ...run.steps.map((step) => `  ${step.name.padEnd(10)} ${step.status.padEnd(9)} ${step.detail ?? ''}`.trimEnd()),
    ...(run.plan ? ['variables', ...run.plan.variables.map((variable) => `  ${variable.name} ${variable.kind} ${variable.handle ?? variable.rule ?? ''}`.trimEnd())] : []),
  ].join('\n');
}

/**
 * Prints a run's `runs/log` notifications in order. Lines that arrive before the answer to `runs/log` are held
 * until `start(next)` says where the answer ended, so no line is printed twice or lost.
 */
function followLog(client: DaemonClient, id: string, print: (line: string) => void): { ended: Promise<void>; start(next: number): void } {
  let next: number | undefined;
  const pending: { from: number; lines: readonly string[]; done: boolean }[] = [];
  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  const take = (item: { from: number; lines: readonly string[]; done: boolean }): void => {
    item.lines.forEach((line, index) => {
      if (next !== undefined && item.from + index >= next) {
        print(line);
        next = item.from + index + 1;
      }
    });
    if (item.done) resolveEnded();
  };
  client.onNotification(RunsLogLines, (params) => {
    if (params.id !== id) return;
    if (next === undefined) pending.push(params);
    else take(params);
  });
  return {
    ended,
    start(value) {
      next = value;
      for (const item of pending.splice(0)) take(item);
    },
  };
}

/** Exit code for a finished run: 0 when it succeeded, 1 otherwise. */
function runExitCode(run: RunSummary): number {
  return run.status === 'succeeded' ? 0 : 1;
}

const projectOption = { type: 'string', value: 'PROJECT', description: 'The project name (required).' } as const;
const bindOption = { type: 'string', multiple: true, value: 'NAME=HANDLE', description: 'Give the variable NAME the value of a vault secret.' } as const;

/** `zavhoz env plan`, `zavhoz deploy` and `zavhoz run …`. */
export const deployCommands: Command[] = [
  {
    path: ['env', 'plan'],
    usage: 'zavhoz env plan DIR --project P [--bind NAME=HANDLE]… [--json]',
    summary: 'Classify the variables of a project folder (infra, computed, user): names, kinds and handles, never values.',
    examples: ['zavhoz env plan . --project shop', 'zavhoz env plan ./shop --project shop --bind BOT_TOKEN=sec_ab12cd34 --json'],
    positionals: [1, 1],
    complete: 'file',
    options: { project: projectOption, bind: bindOption },
    async run(context) {
      const folder = path.resolve(context.positionals[0] ?? '.');
      const plan = await withClient(context, (client) =>
        client.request(EnvPlanRequest, { folder, project: requiredFlag(context, 'project'), bindings: parseBindings(context) }),
      );
      context.print(plan, () => formatPlan(plan));
      return plan.ready ? 0 : 1;
    },
  },
  {
    path: ['deploy'],
    usage:
      `zavhoz deploy DIR --project P --repo OWNER/NAME [--ref ${DEFAULT_REF}] [--bind NAME=HANDLE]… [--repo-url URL] [--git-token HANDLE] [--registry HOST] [--registry-token HANDLE] [--registry-user U] [--timeout S] [--health-path [MODULE=]PATH]… [--no-rollback] [--wait] [--yes] [--open] [--json]`,
    summary: `Deploy a project folder to its allocated server and print the run id (--wait follows the log and exits with the result). A protected project's deploy without --yes waits for approval: exit ${AWAITING_APPROVAL_EXIT_CODE} with its apr_ id, or with --wait, wait for the decision and go on.`,
    examples: [
      'zavhoz deploy . --project shop --repo acme/shop --wait',
      'zavhoz deploy ./shop --project shop --repo acme/shop --ref v1.4.0 --bind BOT_TOKEN=sec_ab12cd34',
      'zavhoz deploy . --project shop --repo acme/shop --health-path /healthz --health-path admin=/status --wait',
    ],
    positionals: [1, 1],
    complete: 'file',
    options: {
      project: projectOption,
      repo: { type: 'string', value: 'OWNER/NAME', description: 'The GitHub repository the server clones (required).' },
      ref: { type: 'string', value: 'REF', description: `Branch, tag or commit to deploy (default ${DEFAULT_REF}).` },
      bind: bindOption,
      'repo-url': { type: 'string', value: 'URL', description: 'Clone from this URL instead of GitHub (no credentials in it: use --git-token).' },
      'git-token': { type: 'string', value: 'HANDLE', description: 'Vault handle of a token git uses for an https clone.' },
      registry: { type: 'string', value: 'HOST', description: `The container registry the server logs in to (default ${DEFAULT_REGISTRY}).` },
      'registry-token': { type: 'string', value: 'HANDLE', description: 'Vault handle of a registry token; the server logs in to the registry before pulling.' },
      'registry-user': { type: 'string', value: 'USER', description: 'The user name for the registry login.' },
      timeout: { type: 'string', value: 'SECONDS', description: `Give up after this many seconds (default ${RUN_TIMEOUT.default}).` },
      'health-path': {
        type: 'string',
        multiple: true,
        value: '[MODULE=]PATH',
        description: `The HTTP path a module is health-checked at after the containers start (default /; without MODULE=, the main module ${DEFAULT_MODULE}).`,
      },
      'no-rollback': { type: 'boolean', description: 'Keep a new release that fails its health check running, for debugging, instead of rolling back to the previous one.' },
      wait: { type: 'boolean', description: 'Follow the log until the run ends and exit with its result (Ctrl-C cancels it); a run waiting for approval is waited for first.' },
      yes: { type: 'boolean', description: `You confirm it now: a protected project (setting protectedProjects) runs at once instead of waiting for approval (exit ${AWAITING_APPROVAL_EXIT_CODE}; --wait waits for it).` },
      open: openOption,
    },
    async run(context) {
      const optional = (key: string, flag: string): Record<string, string> => {
        const value = stringFlag(context.flags, flag);
        return value === undefined ? {} : { [key]: value };
      };
      const timeoutSeconds = integerFlag(context.flags, 'timeout');
      // Left-out options take the protocol's defaults (ref, registry, timeout), applied by the daemon.
      const params: RequestParams<typeof DeployStart> = {
        folder: path.resolve(context.positionals[0] ?? '.'),
        project: requiredFlag(context, 'project'),
        repository: requiredFlag(context, 'repo'),
        ...optional('ref', 'ref'),
        bindings: parseBindings(context),
        ...optional('repoUrl', 'repo-url'),
        ...optional('gitToken', 'git-token'),
        ...optional('registry', 'registry'),
        ...optional('registryToken', 'registry-token'),
        ...optional('registryUser', 'registry-user'),
        ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
        ...healthPathsParam(context),
        ...(context.flags['no-rollback'] === true ? { noRollback: true } : {}),
        ...(context.flags.yes === true ? { confirmed: true } : {}),
      };
      return startRun(context, DeployStart, params, 'Deploy');
    },
  },
  {
    path: ['run', 'list'],
    usage: 'zavhoz run list [--project P] [--limit N] [--json]',
    summary: 'List deploy runs, newest first; runs that wait for approval (apr_ ids) come first.',
    examples: ['zavhoz run list --project shop --limit 10'],
    options: {
      project: { ...projectOption, description: "Only this project's runs." },
      limit: { type: 'string', value: 'N', description: 'Show at most N runs.' },
    },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const limit = integerFlag(context.flags, 'limit');
      // Without --limit, the newest page (the schema's default size); with it, pages until that many runs.
      const pages = limit === undefined ? firstPage(context, RunsList, project === undefined ? {} : { project }, (page) => page.runs) : listPages(context, RunsList, project === undefined ? {} : { project }, (page) => page.runs, limit);
      await printPages(context, pages, { empty: NO_RUNS, lines: (runs) => formatRuns(runs) });
    },
  },
  {
    path: ['run', 'show'],
    usage: 'zavhoz run show ID [--open] [--json]',
    summary: 'Show one run: status, steps, target and env plan (names and handles); an apr_ id shows the request or the run it became.',
    examples: ['zavhoz run show run_ab12cd34', 'zavhoz run show apr_7f3k9x2mab', 'zavhoz run show run_ab12cd34 --open'],
    positionals: [1, 1],
    options: { open: openOption },
    async run(context) {
      const run = await withClient(context, (client) => client.request(RunsGet, { id: context.positionals[0] ?? '' }));
      context.print(run, () => formatRun(run));
      await openRun(context, run.id);
    },
  },
  {
    path: ['run', 'log'],
    usage: 'zavhoz run log ID [--follow]',
    summary: "Print a run's log (redacted); --follow keeps printing until the run ends.",
    examples: ['zavhoz run log run_ab12cd34 --follow'],
    positionals: [1, 1],
    options: { follow: { type: 'boolean', description: 'Keep printing new lines until the run ends; exit with its result.' } },
    async run(context) {
      const id = context.positionals[0] ?? '';
      const follow = context.flags.follow === true;
      return withClient(context, async (client) => {
        const printed: string[] = [];
        const print = (line: string): void => {
          if (context.json) printed.push(line);
          else process.stdout.write(`${line}\n`);
        };
        const final = await printLog(client, id, follow, print);
        if (context.json) context.print({ lines: printed }, () => '');
        return follow ? runExitCode(final) : 0;
      });
    },
  },
  {
    path: ['run', 'cancel'],
    usage: 'zavhoz run cancel ID [--json]',
    summary: 'Cancel a queued or running deploy (its Ansible process group is killed).',
    examples: ['zavhoz run cancel run_ab12cd34'],
    positionals: [1, 1],
    async run(context) {
      const run = await withClient(context, (client) => client.request(RunsCancel, { id: context.positionals[0] ?? '' }));
      context.print(run, () => `${run.id} ${run.status}`);
    },
  },
];
