import { NotifyAdd, NotifyList, NotifyRemove, NotifyTest } from '../protocol/notify.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `notify/*`: endpoints of outbound notifications, and their test message. */
export function registerNotifyHandlers(router: Router, services: Services): void {
  router.handle(NotifyAdd, (params, context) => services.notify.add(params, { client: context.client.name, requestId: context.requestId }));
  router.handle(NotifyList, async () => ({ endpoints: await services.notify.list() }));
  router.handle(NotifyTest, (params, context) => services.notify.test(params.id, { client: context.client.name, requestId: context.requestId }));
  router.handle(NotifyRemove, (params, context) => services.notify.remove(params.id, { client: context.client.name, requestId: context.requestId }));
}
