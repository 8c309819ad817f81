import type { Router } from '../server/router.js';
import type { Services } from '../services.js';
import { registerSettingsHandlers } from './settings.js';

/** Registers the handlers of every capability. Lifecycle handlers are registered by the daemon itself. */
export function registerHandlers(router: Router, services: Services): void {
  registerSettingsHandlers(router, services);
}
