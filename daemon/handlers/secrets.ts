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
  router.handle(SecretsList, (params) => ({ secrets: vault.list(params) }));
  router.handle(SecretsGet, (params) => vault.get(params.handle));
  router.handle(SecretsReveal, (params, context) => vault.reveal(params.handle, callerOf(context)));
  router.handle(SecretsRotate, (params, context) => vault.rotate(params, callerOf(context)));
  router.handle(SecretsDelete, (params, context) => vault.remove(params.handle, callerOf(context)));
  router.handle(SecretsImport, (params, context) => vault.importDotenv(params, callerOf(context)));
  router.handle(AuditList, (params) => ({ entries: services.audit.list(params) }));
}
