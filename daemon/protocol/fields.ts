import * as z from 'zod';
import { lazySchema } from './lazySchema.js';

/**
 * Field rules that requests of several areas share, declared once. This file imports zod only (no
 * vscode-jsonrpc), so domain modules and the webview's type-only imports may use it as well.
 */

/** A project name as the vault, the allocator and GitHub pushes use it. */
export const PROJECT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `OWNER/NAME` as GitHub allows them (owner up to 39 characters, name up to 100). */
export const REPOSITORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;

/** A project name in params. */
export const projectName = lazySchema(() => z.string().regex(PROJECT_NAME_PATTERN, 'a project name (letters, digits, . _ -)'));

/** A module of a project, e.g. `backend`. */
export const moduleName = lazySchema(() => z.string().regex(PROJECT_NAME_PATTERN, 'a module name (letters, digits, . _ -)'));

/** A GitHub repository in params. */
export const repository = lazySchema(() => z.string().regex(REPOSITORY_PATTERN, 'a GitHub repository like owner/name'));

/** Rows a list request answers per page when the client does not say, and the most it may ask for. */
export const LIST_PAGE = { default: 200, max: 1000 } as const;

/**
 * The paging fields of a list request. `cursor` is the opaque `nextCursor` of the previous page; pages follow a
 * stable order, so a row is never skipped or repeated across pages while rows are added. The daemon may answer
 * fewer than `limit` rows to keep a page under the message limit: only a missing `nextCursor` means the end.
 */
export const pageFields = {
  limit: lazySchema(() => z.number().int().min(1).max(LIST_PAGE.max).default(LIST_PAGE.default)),
  cursor: lazySchema(() => z.string().min(1).max(512).optional()),
};

/** What every list answer adds to its rows: where the next page starts, absent on the last page. */
export interface PageInfo {
  readonly nextCursor?: string;
}
