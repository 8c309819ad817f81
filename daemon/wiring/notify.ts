import type { AuditLog } from '../audit/auditLog.js';
import { NotifyStore } from '../notify/records.js';
import { NotifyService } from '../notify/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What notifications are built from, besides the foundation. */
export interface NotifyNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: Vault;
}

/**
 * Builds the notification service and starts its delivery loop (messages a crash left queued go out now); at
 * shutdown an attempt under way is aborted and its message stays queued for the next start.
 */
export function wireNotify(foundation: Foundation, needs: NotifyNeeds): NotifyService {
  const { store, redactor, logger, lifecycle } = foundation;
  const notify = new NotifyService({
    records: new NotifyStore(store),
    secrets: needs.vault,
    redactor,
    audit: needs.audit,
    log: logger.child({ component: 'notify' }),
    bases: () => ({ telegramApiBase: needs.settings.get('telegramApiBase'), slackWebhookBase: needs.settings.get('slackWebhookBase') }),
  });
  notify.start();
  lifecycle.onShutdown(() => notify.stop());
  return notify;
}
