import { SettingsGet, SettingsSet } from '../protocol/settings.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `settings/get` and `settings/set`. */
export function registerSettingsHandlers(router: Router, services: Services): void {
  router.handle(SettingsGet, () => services.settings.all());
  router.handle(SettingsSet, (params, context) => {
    const settings = services.settings.change(params.key, params.value, { dropGhosts: params.dropGhosts });
    context.log.info('setting changed', { key: params.key });
    return settings;
  });
}
