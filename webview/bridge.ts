import type { EventMessage, FromWebview, InitMessage, RequestTable, ToWebview } from './messages.js';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** A request the extension refused: its message is for the person, `field` the form field it is about. */
export class RequestFailed extends Error {
  constructor(
    message: string,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

/**
 * The webview side of the typed message channel: request/reply with ids, the ready handshake, pushed events,
 * and saved state that only ever holds what the caller passes (never a secret value).
 */
export class Bridge<Init, Requests extends RequestTable> {
  private readonly api = acquireVsCodeApi();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(handlers: { readonly onInit: (state: Init) => void; readonly onEvent?: (event: string, data: unknown) => void }) {
    window.addEventListener('message', (event: MessageEvent<unknown>) => {
      const data = event.data as Partial<ToWebview> | undefined;
      if (!data || typeof data !== 'object') return;
      if (data.type === 'reply' && typeof data.id === 'number') {
        const waiter = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (data.error !== undefined) waiter?.reject(new RequestFailed(data.error, data.errorField));
        else waiter?.resolve(data.result);
      } else if (data.type === 'init') {
        handlers.onInit((data as InitMessage<Init>).state);
      } else if (data.type === 'event') {
        const message = data as EventMessage;
        handlers.onEvent?.(message.event, message.data);
      }
    });
  }

  /** Tells the extension the page is ready for its initial state. */
  ready(): void {
    this.api.postMessage({ type: 'ready' });
  }

  /** Sends a request and waits for its reply. */
  request<M extends keyof Requests & string>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']> {
    const id = this.nextId++;
    this.api.postMessage({ type: 'request', id, method, params });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Saves non-secret panel state so a reload can restore it. */
  saveState(state: object): void {
    this.api.setState(state);
  }

  /** The state saved before a reload. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape of the state it saved itself
  restoreState<T>(): T | undefined {
    return this.api.getState() as T | undefined;
  }
}
