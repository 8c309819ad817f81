import * as vscode from 'vscode';
import type { ProjectStatus } from '../../daemon/protocol/services.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import { ServiceNode, ServiceProjectNode } from '../views/servicesView.js';

/** What a service command acts on: a project, or one of its services (a module or compose service name). */
export interface ServiceTarget {
  readonly project: string;
  readonly server: string;
  readonly module?: string;
  readonly url?: string | null;
}

/**
 * The project (or service) a command was invoked on from the Services view, or one the user picks from the last
 * status read (the palette). With `servicesToo`, the pick lists each container below its project.
 */
export async function serviceTarget(
  argument: unknown,
  tracker: ServiceStatusTracker,
  options: { readonly placeHolder: string; readonly servicesToo: boolean; readonly deployedOnly: boolean },
): Promise<ServiceTarget | undefined> {
  if (argument instanceof ServiceProjectNode) return { project: argument.status.project, server: argument.status.server };
  if (argument instanceof ServiceNode) {
    return { project: argument.project.project, server: argument.project.server, module: argument.service.service, url: argument.service.url };
  }
  const snapshot = await tracker.latest();
  const projects: readonly ProjectStatus[] = snapshot.kind === 'loaded' ? snapshot.projects : [];
  const eligible = options.deployedOnly ? projects.filter((project) => project.state === 'deployed') : projects;
  if (eligible.length === 0) {
    void vscode.window.showInformationMessage(
      snapshot.kind === 'failed' ? `Zavhoz: could not read the services: ${snapshot.error}` : 'Zavhoz: no project is deployed.',
    );
    return undefined;
  }
  const items = eligible.flatMap((project) => [
    { label: project.project, description: `${project.server} · all services`, target: { project: project.project, server: project.server } },
    ...(options.servicesToo
      ? project.services.map((service) => ({
          label: `$(symbol-module) ${project.project}/${service.service}`,
          description: service.state,
          target: { project: project.project, server: project.server, module: service.service, url: service.url },
        }))
      : []),
  ]);
  return (await vscode.window.showQuickPick(items, { placeHolder: options.placeHolder }))?.target;
}

/** `shop` or `shop/backend`. */
export function targetName(target: ServiceTarget): string {
  return target.module ? `${target.project}/${target.module}` : target.project;
}
