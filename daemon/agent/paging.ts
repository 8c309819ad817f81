import type { PagedDefinition } from '../client/client.js';
import type { ToolCall } from './tool.js';

/** Every row of a list request, page by page, as part of one tool call (same request id, same cancellation). */
export async function listAll<P, R, T>(call: ToolCall, definition: PagedDefinition<P, R>, params: P, rows: (page: R) => readonly T[]): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const page: R & { readonly nextCursor?: string | undefined } = await call.request(definition, { ...params, ...(cursor === undefined ? {} : { cursor }) });
    all.push(...rows(page));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}
