import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type * as z from 'zod';

/** Phantom marker carrying a result type; the daemon is trusted, so results are not validated at runtime. */
export interface ResultOf<R> {
  readonly __result?: R;
}

/** Declares the result type of a request: `defineRequest('x/y', schema, result<Y>())`. */
export function result<R>(): ResultOf<R> {
  return {};
}

/**
 * A request declared once and imported by the daemon, the CLI and the extension. `P` is what a client sends: the
 * schema's input, so a field the schema defaults may be left out. The daemon validates with `params` and its
 * handler gets the schema's output ({@link ValidatedParams}), with every default applied. `S` keeps the schema's
 * own type, so a client can build its argument checks from it (`.pick()`, `.shape`) instead of restating them.
 */
export interface RequestDefinition<P, R, S extends z.ZodType = z.ZodType<unknown, P>> {
  readonly method: string;
  readonly type: RequestType<P, R, void>;
  readonly params: S;
}

/** What a client sends for a request: the params schema's input type. */
export type RequestParams<D> = D extends { readonly type: RequestType<infer P, unknown, void> } ? P : never;

/** What a handler gets for a request: the params schema's output type, defaults applied. */
export type ValidatedParams<D> = D extends { readonly params: infer S extends z.ZodType } ? z.output<S> : never;

/** A notification declared once and imported by every side. */
export interface NotificationDefinition<P> {
  readonly method: string;
  readonly type: NotificationType<P>;
  readonly params: z.ZodType<P>;
}

const methodPattern = /^(\$\/)?[a-z]+(\/[a-zA-Z]+)*$/;

function checkMethod(method: string): void {
  if (!methodPattern.test(method)) throw new Error(`protocol: bad method name ${method}`);
}

/**
 * Declares a request: its `area/verb` method name, its params schema and its result type. The product's requests give
 * the schema as a function, built the first time `params` is read: building all of them cost every daemon start
 * ~30 ms of CPU before its first answer, and a start serves only a few methods (`npm run bench -- startup`).
 */
export function defineRequest<S extends z.ZodType, R>(method: string, params: S | (() => S), _result: ResultOf<R>): RequestDefinition<z.input<S>, R, S> {
  checkMethod(method);
  return withLazyParams({ method, type: new RequestType<z.input<S>, R, void>(method) }, params);
}

/** Declares a notification: its `area/verb` method name and its params schema (built when first read, as above). */
export function defineNotification<S extends z.ZodType>(method: string, params: S | (() => S)): NotificationDefinition<z.infer<S>> {
  checkMethod(method);
  return withLazyParams({ method, type: new NotificationType<z.infer<S>>(method) }, params as z.ZodType<z.infer<S>> | (() => z.ZodType<z.infer<S>>));
}

/** Adds `params` to a definition: the schema itself, or a property that builds it once, on first read. */
function withLazyParams<D extends object, S extends z.ZodType>(definition: D, params: S | (() => S)): D & { readonly params: S } {
  if (typeof params !== 'function') return { ...definition, params };
  let schema: S | undefined;
  return Object.defineProperty(definition, 'params', { enumerable: true, get: () => (schema ??= params()) }) as D & { readonly params: S };
}
