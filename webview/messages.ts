/**
 * Messages between a webview and the extension, typed on both sides. Every panel starts with `ready` from the
 * webview; the extension answers with the panel's initial (non-secret) state.
 */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** A request from the webview that expects a reply with the same `id`. */
export interface WebviewRequest<M extends string = string, P = unknown> {
  readonly type: 'request';
  readonly id: number;
  readonly method: M;
  readonly params: P;
}

/** The extension's reply to a {@link WebviewRequest}. */
export interface WebviewReply<R = unknown> {
  readonly type: 'reply';
  readonly id: number;
  readonly result?: R;
  readonly error?: string;
}

/** Anything a webview sends. */
export type FromWebview = ReadyMessage | WebviewRequest;
