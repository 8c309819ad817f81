import type { SecretLocationName } from '../../daemon/protocol/secretFields.js';
import type { TeamVaultStatus } from '../../daemon/protocol/vault.js';
import type { SecretStorageChoice } from '../../webview/messages.js';

/** The storage options of the secret form, by the names a person reads. */
export const LOCATION_TITLES: Readonly<Record<SecretLocationName, string>> = {
  personal: 'Personal (your OS keychain)',
  team: 'Team (HashiCorp Vault)',
};

/** What the person is told when the team's Vault is connected but does not take values now. */
const STATE_NOTES: Readonly<Record<TeamVaultStatus['state'], string>> = {
  ok: '',
  sealed: ' It is sealed now: saving a team secret fails until it is unsealed.',
  unreachable: ' It does not answer now: saving a team secret fails until it is back.',
  refused: ' It refuses this member’s credentials: reconnect with zavhoz vault connect.',
  'not-connected': '',
};

/**
 * The secret form's storage choice: offered only when this member connected a team Vault (`vault/status` says
 * `connected`); undefined otherwise, and the form shows no choice (every value goes to the personal keychain).
 */
export function secretStorageChoice(status: TeamVaultStatus | undefined): SecretStorageChoice | undefined {
  if (!status?.connected) return undefined;
  const where = [status.address ?? 'the team’s Vault', status.mount ? `mount ${status.mount}${status.prefix ? `/${status.prefix}` : ''}` : ''].filter((part) => part).join(', ');
  return {
    choices: (['personal', 'team'] as const).map((value) => ({ value, label: LOCATION_TITLES[value] })),
    note: `Team secrets keep their value in ${where}; every member connected to it can deploy with them.${STATE_NOTES[status.state]}`,
  };
}

/** Where a new secret goes when the person has not chosen: the team's Vault when the daemon makes it the default. */
export function defaultLocation(status: TeamVaultStatus | undefined): SecretLocationName {
  return status?.connected === true && status.teamByDefault ? 'team' : 'personal';
}
