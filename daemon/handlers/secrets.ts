import { AuditList } from '../protocol/audit.js';
import {
  SecretsDelete,
  SecretsGenerate,
  SecretsGet,
  SecretsImport,
  SecretsList,
  SecretsReveal,
  SecretsRotate,
  SecretsSet,
} from '../protocol/secrets.js';
import type { RequestContext, Router } from '../server/router.js';
import type { Services } from '../wiring/services.js';
import { asStored, cutPage, decodeCursor, pageInMemory } from './paging.js';
import type { VaultCaller } from '../vault/vault.js';

function callerOf(context: RequestContext): VaultCaller {
  return { client: context.client.name, requestId: context.requestId };
}

/**
 * Registers `secrets/*` and `audit/list`. Values arrive in params (the router never logs params) and leave only in
 * the `secrets/reveal` result; nothing here logs or echoes them.
 */
export function registerSecretsHandlers(router: Router, services: Services): void {
  const { vault } = services;
  router.handle(SecretsSet, (params, context) => vault.set(params, callerOf(context)));
  router.handle(SecretsGenerate, (params, context) => vault.generate(params, callerOf(context)));
  router.handle(SecretsList, async (params) => {
    const { limit, cursor, ...filter } = params;
    const page = await pageInMemory(await vault.list(filter), { limit, cursor }, { toRow: asStored, keyOf: (secret) => [secret.name, secret.project ?? ''] }, ['string', 'string']);
    return { secrets: page.rows, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });
  router.handle(SecretsGet, (params) => vault.get(params.handle));
  router.handle(SecretsReveal, (params, context) => vault.reveal(params.handle, callerOf(context)));
  router.handle(SecretsRotate, (params, context) => vault.rotate(params, callerOf(context)));
  router.handle(SecretsDelete, async (params, context) => {
    // A team secret's values leave Vault after its metadata is gone: check Vault answers first, so none is stranded.
    if ((await services.teamVault.locationOf(params.handle)) === 'team') await services.teamVault.checkReachable();
    return vault.remove(params.handle, callerOf(context));
  });
  router.handle(SecretsImport, (params, context) => vault.importDotenv(params, callerOf(context)));
  router.handle(AuditList, async (params) => {
    const beforeId = decodeCursor(params.cursor, ['number'])?.[0] as number | undefined;
    const rows = await services.audit.list({ subject: params.subject, limit: params.limit + 1, beforeId });
    const { rows: entries, nextCursor } = await cutPage(rows, { limit: params.limit, toRow: asStored, keyOf: (entry) => [entry.id] });
    return { entries, ...(nextCursor ? { nextCursor } : {}) };
  });
}
