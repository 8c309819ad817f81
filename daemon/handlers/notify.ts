import { NotifyAdd, NotifyDidChange, NotifyList, NotifyRemove, NotifyTest } from '../protocol/notify.js';
import type { Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';

/** Registers `notify/*`: endpoints of outbound notifications, and their test message. */
export function registerNotifyHandlers(router: Router, services: Services): void {
  const changed = (id: string): void => services.notifier.notify(NotifyDidChange, { id });
  router.handle(NotifyAdd, async (params, context) => {
    const endpoint = await services.notify.add(params, { client: context.client.name, requestId: context.requestId });
    changed(endpoint.id);
    return endpoint;
  });
  router.handle(NotifyList, async () => ({ endpoints: await services.notify.list() }));
  router.handle(NotifyTest, async (params, context) => {
    const result = await services.notify.test(params.id, { client: context.client.name, requestId: context.requestId });
    changed(params.id);
    return result;
  });
  router.handle(NotifyRemove, async (params, context) => {
    const result = await services.notify.remove(params.id, { client: context.client.name, requestId: context.requestId });
    changed(params.id);
    return result;
  });
}
