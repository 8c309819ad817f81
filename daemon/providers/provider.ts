/** A server as a provider's list shows it. */
export interface ProviderServerSummary {
  /** The provider's id, as text. */
  readonly id: string;
  readonly name: string;
  readonly domain: string;
  readonly ip: string;
  readonly status: string;
  readonly productName: string;
}

/** A server with the details its list entry lacks. */
export interface ProviderServerDetail extends ProviderServerSummary {
  readonly ramMb: number | null;
  readonly diskMb: number | null;
  readonly cpuCores: number | null;
  readonly os: string | null;
}

/** Lets a long provider call stop early (daemon shutdown, a cancelled request). */
export interface ProviderCallOptions {
  readonly signal?: AbortSignal | undefined;
  /** Who asked, for the vault's audit log and the provider request's headers. */
  readonly client: string;
  readonly requestId: string;
}

/** An authenticated conversation with a provider: credentials are borrowed once for the whole of it. */
export interface ProviderSession {
  /** Every server of the account, in one list. */
  listServers(): Promise<ProviderServerSummary[]>;
  /** One server's details. */
  getServer(id: string): Promise<ProviderServerDetail>;
}

/**
 * A VPS provider the inventory syncs with. Implementations throw ZavhozError: ProviderError, RateLimited or
 * AuthenticationFailed with a message saying what to do.
 */
export interface Provider {
  /** Short stable name stored on each server row, e.g. `time4vps`. */
  readonly name: string;
  /**
   * Runs `work` with a session whose credentials come from the vault for the duration of the call only (one loan
   * per sync, not one per HTTP request).
   */
  withSession<T>(options: ProviderCallOptions, work: (session: ProviderSession) => Promise<T>): Promise<T>;
}
