import type { DaemonClient, PagedDefinition } from '../client/client.js';
import type { RequestDefinition } from '../protocol/define.js';
import { LIST_PAGE } from '../protocol/fields.js';
import { type Command, type CommandContext, call } from './command.js';

/** How a list prints for people: its empty message and each page's lines (`first` is true for the first page). */
export interface HumanList<T> {
  readonly empty: string;
  lines(rows: readonly T[], first: boolean): string;
}

/**
 * The rows of a list request, page by page, on a connection of its own that closes when the pages end. With
 * `total`, no more than that many rows are fetched (for "the newest N" lists); else every page is.
 */
export async function* listPages<P, R, T>(
  context: CommandContext,
  definition: PagedDefinition<P, R>,
  params: P,
  rows: (page: R) => readonly T[],
  total?: number,
): AsyncGenerator<readonly T[], void, undefined> {
  const client: DaemonClient = await context.connect();
  try {
    let remaining = total ?? Number.POSITIVE_INFINITY;
    let cursor: string | undefined;
    do {
      const ask = {
        ...params,
        ...(total === undefined ? {} : { limit: Math.min(remaining, LIST_PAGE.max) }),
        ...(cursor === undefined ? {} : { cursor }),
      } as P;
      const page: R & { readonly nextCursor?: string | undefined } = await client.request(definition, ask);
      const pageRows = rows(page).slice(0, remaining);
      remaining -= pageRows.length;
      yield pageRows;
      cursor = page.nextCursor;
    } while (cursor !== undefined && remaining > 0);
  } finally {
    client.close();
  }
}

/** Only the first page of a list request (its schema's default size), for "the newest ones" lists. */
export async function* firstPage<P, R, T>(
  context: CommandContext,
  definition: PagedDefinition<P, R>,
  params: P,
  rows: (page: R) => readonly T[],
): AsyncGenerator<readonly T[], void, undefined> {
  const client: DaemonClient = await context.connect();
  try {
    yield rows(await client.request(definition, params));
  } finally {
    client.close();
  }
}

/**
 * Prints a list as its pages arrive. With `--json` the output is still one JSON document: an array written
 * element by element, formatted as `JSON.stringify(rows, null, 2)` would be.
 */
export async function printPages<T>(context: CommandContext, pages: AsyncIterable<readonly T[]>, human: HumanList<T>): Promise<void> {
  let count = 0;
  for await (const rows of pages) {
    if (rows.length === 0) continue;
    if (context.json) {
      const items = rows.map((row) => `  ${JSON.stringify(row, null, 2).replace(/\n/g, '\n  ')}`).join(',\n');
      process.stdout.write(`${count === 0 ? '[\n' : ',\n'}${items}`);
    } else {
      process.stdout.write(`${human.lines(rows, count === 0)}\n`);
    }
    count += rows.length;
  }
  if (context.json) process.stdout.write(count === 0 ? '[]\n' : '\n]\n');
  else if (count === 0) process.stdout.write(`${human.empty}\n`);
}

/**
 * A text table printed a page at a time: the header goes with the first page, and a column is as wide as the
 * widest cell seen so far (pages rarely differ, and waiting for every page to align them would print nothing).
 */
export class PagedTable<T> {
  private readonly widths: number[];

  constructor(
    private readonly header: readonly string[],
    private readonly cells: (row: T) => readonly string[],
  ) {
    this.widths = header.map((title) => title.length);
  }

  /** The lines of one page. */
  lines(rows: readonly T[], first: boolean): string {
    const body = rows.map(this.cells);
    for (const row of body) row.forEach((cell, index) => (this.widths[index] = Math.max(this.widths[index] ?? 0, cell.length)));
    return (first ? [this.header, ...body] : body).map((row) => row.map((cell, index) => cell.padEnd(this.widths[index] ?? 0)).join('  ').trimEnd()).join('\n');
  }
}

/** A command that sends one request and prints its answer: its help, the request, and how the answer reads. */
export interface RequestCommandSpec<P, R> extends Omit<Command, 'run'> {
  readonly request: RequestDefinition<P, R>;
  /** The request's params, from the command line. */
  params(context: CommandContext): P;
  /** What `--json` prints (default: the whole answer), e.g. a list without its envelope. */
  shown?(answer: R): unknown;
  /** The answer in words, for people. */
  human(answer: R, context: CommandContext): string;
  /** The exit code the answer means (default 0). */
  exitCode?(answer: R): number | undefined;
}

/**
 * A `get`, `list`, `test` or `remove` command: one request on a connection of its own, its answer printed (JSON with
 * `--json`, else {@link RequestCommandSpec.human}).
 */
export function requestCommand<P, R>(spec: RequestCommandSpec<P, R>): Command {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- a spec's functions are called as plain functions: none uses `this`
  const { request, params, shown, human, exitCode, ...help } = spec;
  return {
    ...help,
    async run(context) {
      const answer = await call(context, request, params(context));
      context.print(shown ? shown(answer) : answer, () => human(answer, context));
      return exitCode?.(answer);
    },
  };
}

/** The one positional argument (an id or a handle) of a command that takes exactly one. */
export function theArgument(context: CommandContext): string {
  return context.positionals[0] ?? '';
}
