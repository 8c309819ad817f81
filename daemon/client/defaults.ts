/**
 * What a client passes to `DaemonClient.connect` besides its name: the user's data folder and this build's version.
 * Offered here so that code outside the daemon (the extension) reaches it through daemon/client/ only.
 */
export { resolveDataFolder } from '../core/paths.js';
export { ZAVHOZ_VERSION } from '../core/version.js';
