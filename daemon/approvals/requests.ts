import type { DeployRequest } from '../deploy/deployRequest.js';
import type { GatedRequest } from './service.js';

/** A deploy as the gate sees it: what it deploys and the handles it names. */
export function deployGate(request: DeployRequest): GatedRequest {
  const handles = [...Object.values(request.bindings), request.gitToken, request.registryToken].filter((handle): handle is string => typeof handle === 'string');
  return {
    kind: 'deploy',
    project: request.project,
    params: { ...request },
    summary: `deploy ${request.repository}@${request.ref} from ${request.folder}`,
    handles: [...new Set(handles)].sort(),
  };
}

/** A rollback as the gate sees it. */
export function rollbackGate(request: { project: string; to?: string | undefined }): GatedRequest {
  return { kind: 'rollback', project: request.project, params: { ...request }, summary: `roll back to ${request.to ?? 'the release before the current one'}`, handles: [] };
}

/** An undeploy as the gate sees it. */
export function undeployGate(request: { project: string; keepData: boolean }): GatedRequest {
  return { kind: 'undeploy', project: request.project, params: { project: request.project, keepData: request.keepData }, summary: `undeploy${request.keepData ? ', keeping its data' : ', removing its data'}`, handles: [] };
}
