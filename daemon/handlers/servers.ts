import type { CancellationToken } from 'vscode-jsonrpc';
import {
  type ServerInfo,
  ServersAcceptHostKey,
  ServersAdd,
  ServersCheck,
  ServersFetch,
  ServersGhost,
  ServersList,
  ServersManage,
  ServersReboot,
  ServersRemove,
  ServersShow,
  ServersSync,
  ServersUpdate,
  ServersUpload,
} from '../protocol/servers.js';
import { holdingAll } from '../inventory/reboot.js';
import type { Router } from '../server/router.js';
import { cutPage, decodeCursor } from './paging.js';
import type { Services } from '../wiring/services.js';

/** An AbortSignal that fires when the client cancels the request. */
export function signalOf(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

/** A server with its reverse proxy, as `servers/show` and `servers/check` answer. */
async function withProxy(services: Services, server: ServerInfo): Promise<ServerInfo> {
  return { ...server, proxy: (await services.domains.proxyView())(server.handle) };
}

/** Registers the `servers/*` requests: inventory, provider sync, health checks, host keys, file copies. */
export function registerServerHandlers(router: Router, services: Services): void {
  const { inventory } = services;
  router.handle(ServersList, async (params) => {
    const after = decodeCursor(params.cursor, ['string'])?.[0] as string | undefined;
    const proxyOf = await services.domains.proxyView();
    const rows = await inventory.inventory.listPage({ all: params.all, after, limit: params.limit + 1 });
    const { rows: servers, nextCursor } = await cutPage(rows, { limit: params.limit, toRow: (server) => ({ ...server, proxy: proxyOf(server.handle) }), keyOf: (server) => [server.handle] });
    return { servers, ...(nextCursor ? { nextCursor } : {}) };
  });
  router.handle(ServersShow, async (params) => withProxy(services, await inventory.inventory.show(params.handle)));
  router.handle(ServersAdd, async (params, context) => {
    const server = await inventory.inventory.add(params);
    context.log.info('server added', { server: params.handle });
    return server;
  });
  router.handle(ServersUpdate, async (params, context) => {
    const { handle, ...changes } = params;
    const server = await inventory.inventory.update(handle, changes);
    context.log.info('server updated', { server: handle, fields: Object.keys(changes) });
    return server;
  });
  router.handle(ServersRemove, async (params, context) => {
    const removed = await inventory.remove(params.handle, params.force, { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) });
    context.log.info('server removed', { server: params.handle, releasedAllocations: removed.releasedAllocations });
    return removed;
  });
  router.handle(ServersManage, (params) => inventory.inventory.manage(params.handle));
  router.handle(ServersGhost, (params) => inventory.inventory.ghost(params.handle, params.force));
  router.handle(ServersSync, (_params, context) =>
    inventory.sync({ client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) }),
  );
  router.handle(ServersCheck, async (params, context) =>
    withProxy(services, await inventory.check(params.handle, { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) })),
  );
  router.handle(ServersAcceptHostKey, async (params, context) => {
    const accepted = await inventory.health.acceptHostKey(params.handle, { client: context.client.name, requestId: context.requestId });
    context.log.info('host key accepted', { server: params.handle, fingerprint: accepted.accepted });
    return accepted;
  });
  router.handle(ServersReboot, async (params, context) => {
    const signal = signalOf(context.cancellation);
    const call = { client: context.client.name, requestId: context.requestId, signal };
    // A reboot stops every container on the server: it waits for, and then holds off, work on each project there.
    const projects = (await services.allocator.list()).filter((allocation) => allocation.server === params.handle).map((allocation) => allocation.project);
    const hold = holdingAll(services.locks, projects, `reboot of ${params.handle}`, {
      signal,
      waiting: (project, holder) => inventory.reboots.progress(params.handle, 'waiting', `waiting for ${holder} (project ${project})`),
    });
    await inventory.inventory.show(params.handle);
    context.log.info('server reboot requested', { server: params.handle, projects: projects.length });
    const result = await inventory.reboots.reboot(params.handle, params.timeoutSeconds, call, hold);
    context.log.info('server rebooted', { server: params.handle, upAfterSeconds: result.upAfterSeconds });
    return result;
  });
  router.handle(ServersUpload, async (params, context) => {
    const mode = params.mode === undefined ? undefined : Number.parseInt(params.mode, 8);
    const call = { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) };
    const copied = await inventory.files.upload(params.handle, params.local, params.remote, mode, call);
    context.log.info('file uploaded', { server: params.handle, remote: copied.remote, bytes: copied.bytes, mode: copied.mode });
    return copied;
  });
  router.handle(ServersFetch, async (params, context) => {
    const call = { client: context.client.name, requestId: context.requestId, signal: signalOf(context.cancellation) };
    const copied = await inventory.files.fetch(params.handle, params.remote, params.local, call);
    context.log.info('file fetched', { server: params.handle, remote: copied.remote, bytes: copied.bytes });
    return copied;
  });
}
