/**
 * Every error code that crosses the wire, in one place. JSON-RPC reserves -32768..-32000; Zavhoz's own
 * codes live in 1000..1999 so a client can switch on them without parsing messages.
 */
export const ErrorCodes = {
  // JSON-RPC standard codes, repeated here so no other file spells a number.
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,

  // Connection and session.
  Unauthorized: 1001,
  NotInitialized: 1002,
  ProtocolMismatch: 1003,
  MessageTooLarge: 1004,
  ShuttingDown: 1005,

  // Domain.
  NotFound: 1100,
  AlreadyExists: 1101,
  Conflict: 1102,
  InvalidInput: 1103,
  PreconditionFailed: 1104,
  Timeout: 1105,

  // Store.
  StoreUnavailable: 1200,

  // Vault and keychain.
  KeychainUnavailable: 1300,
  KeychainLocked: 1301,
  VaultKeyInvalid: 1302,
  VaultTampered: 1303,

  // Remote systems.
  Unreachable: 1400,
  HostKeyMismatch: 1401,
  ProviderError: 1402,
  RateLimited: 1403,
  AuthenticationFailed: 1404,
  DeployFailed: 1405,
} as const;

/** A numeric error code from {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Maps a numeric code back to its name, for CLI output and logs. */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCodes)) {
    if (value === code) return name;
  }
  return `Error${code}`;
}
