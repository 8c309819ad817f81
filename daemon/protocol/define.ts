import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { z } from 'zod';

/** Phantom marker carrying a result type; the daemon is trusted, so results are not validated at runtime. */
export interface ResultOf<R> {
  readonly __result?: R;
}

/** Declares the result type of a request: `defineRequest('x/y', schema, result<Y>())`. */
export function result<R>(): ResultOf<R> {
  return {};
}

/** A request declared once and imported by the daemon, the CLI and the extension. */
export interface RequestDefinition<P, R> {
  readonly method: string;
  readonly type: RequestType<P, R, void>;
  readonly params: z.ZodType<P>;
}

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

/** Declares a request: its `area/verb` method name, its params schema and its result type. */
export function defineRequest<S extends z.ZodType, R>(
  method: string,
  params: S,
  _result: ResultOf<R>,
): RequestDefinition<z.infer<S>, R> {
  checkMethod(method);
  return { method, type: new RequestType<z.infer<S>, R, void>(method), params: params as z.ZodType<z.infer<S>> };
}

/** Declares a notification: its `area/verb` method name and its params schema. */
export function defineNotification<S extends z.ZodType>(method: string, params: S): NotificationDefinition<z.infer<S>> {
  checkMethod(method);
  return { method, type: new NotificationType<z.infer<S>>(method), params: params as z.ZodType<z.infer<S>> };
}
