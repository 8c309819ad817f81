/**
 * Which modules a deploy runs, and which allocated modules it leaves behind. A deploy runs the modules its compose
 * files publish (`composeModules.ts`), or the one default module `app` of a project that publishes no port; an
 * allocated module outside that set was taken out of the compose files, and a successful deploy releases it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODULE } from '../protocol/allocations.js';
import type { DeployPlan, PlannedModule, RetiredModule } from '../protocol/deploy.js';
import { type ComposeModule, readComposeModules } from './composeModules.js';
import { noComposeFile, TEMPLATE_FILES } from './envTemplate.js';
import type { DeployTarget, ModuleAllocation } from './ports.js';

/** The modules a deploy runs: those the compose files publish, or `app` alone when they publish none. */
export function deployModuleNames(modules: readonly Pick<ComposeModule, 'name'>[]): string[] {
  return modules.length > 0 ? modules.map((module) => module.name) : [DEFAULT_MODULE];
}

/**
 * The target narrowed to the modules a deploy runs (their ports, health checks and firewall rules), and the allocated
 * modules it leaves out: those the compose files no longer publish, released once the deploy succeeded.
 */
export function narrowTarget(target: DeployTarget, modules: readonly string[]): { target: DeployTarget; retired: RetiredModule[] } {
  const kept: Record<string, number> = {};
  const retired: RetiredModule[] = [];
  for (const [module, port] of Object.entries(target.modulePorts).sort(([left], [right]) => left.localeCompare(right))) {
    if (modules.includes(module)) kept[module] = port;
    else retired.push({ module, server: target.server, port });
  }
  const port = kept[DEFAULT_MODULE] ?? Object.values(kept)[0] ?? target.port;
  return { target: { ...target, port, modulePorts: kept }, retired };
}

/**
 * The modules to retire, without those a domain still routes to (`routed`: the proxy's modules with a domain), which
 * stay allocated: released, their port could go to another project, and the domain's requests with it.
 */
export function withoutRouted(
  unpublished: readonly RetiredModule[],
  routed: readonly { readonly module: string; readonly domain: string }[],
): { retired: RetiredModule[]; routedTo: { module: string; domain: string }[] } {
  const routedTo = routed.filter((entry) => unpublished.some((module) => module.module === entry.module)).map(({ module, domain }) => ({ module, domain }));
  return { retired: unpublished.filter((module) => !routedTo.some((entry) => entry.module === module.module)), routedTo };
}

/**
 * A release's module ports on its server now: a module released since (taken out of the compose files by a later
 * deploy) was allocated again by the rollback, maybe on another port. The main port follows its module.
 */
export function releasePorts(recorded: { readonly port: number; readonly modulePorts: Readonly<Record<string, number>> }, target: DeployTarget): { port: number; modulePorts: Record<string, number> } {
  const modulePorts: Record<string, number> = {};
  for (const [module, port] of Object.entries(recorded.modulePorts)) modulePorts[module] = target.modulePorts[module] ?? port;
  const main = Object.entries(recorded.modulePorts).find(([, port]) => port === recorded.port)?.[0];
  return { port: (main === undefined ? undefined : modulePorts[main]) ?? recorded.port, modulePorts };
}

/** What a deploy of `folder` would run and allocate, given the project's allocations now. Allocates nothing. */
export function planModules(folder: string, project: string, allocations: readonly ModuleAllocation[]): DeployPlan {
  const composeFiles = TEMPLATE_FILES.compose.filter((relative) => isFile(path.join(folder, relative)));
  const allocated = new Map(allocations.map((allocation) => [allocation.module, allocation]));
  const retiredOf = (names: readonly string[]): RetiredModule[] =>
    allocations.filter((allocation) => !names.includes(allocation.module)).map(({ module, server, port }) => ({ module, server, port }));
  if (composeFiles.length === 0) {
    return { project, composeFiles, modules: [], retired: [], notice: { kind: 'no-compose-file', message: noComposeFile(folder).message } };
  }
  const published = readComposeModules(folder);
  const withAllocation = (module: Omit<PlannedModule, 'allocation'>): PlannedModule => {
    const allocation = allocated.get(module.name);
    return allocation ? { ...module, allocation: { server: allocation.server, port: allocation.port } } : module;
  };
  if (published.length === 0) {
    return {
      project,
      composeFiles,
      modules: [withAllocation({ name: DEFAULT_MODULE, service: '', containerPort: 0, portVariable: 'PORT', file: '', line: 0 })],
      retired: retiredOf([DEFAULT_MODULE]),
      notice: { kind: 'no-published-port', message: noPublishedPort(composeFiles) },
    };
  }
  const modules = published.map(({ name, service, containerPort, portVariable, file, line }) => withAllocation({ name, service, containerPort, portVariable, file, line }));
  return { project, composeFiles, modules, retired: retiredOf(deployModuleNames(published)) };
}

function noPublishedPort(files: readonly string[]): string {
  return (
    `${files.join(' and ')} publish${files.length === 1 ? 'es' : ''} no port on a variable, so no service answers on a port Zavhoz allocates: ` +
    'a deploy would allocate one to the default module app, and its health check would find nothing there. ' +
    `Publish the port your web service listens on through \${PORT} (the main module, "app"), e.g. under that service in ${TEMPLATE_FILES.compose[1]}: ` +
    `ports: ["\${PORT}:8000"]. Each further service that should answer on a port of its own gets \${NAME_PORT} (module "name").`
  );
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
