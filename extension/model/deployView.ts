import type { DeployPlan } from '../../daemon/protocol/deploy.js';
import type { EnvPlan } from '../../daemon/protocol/env.js';
import type { ReleaseSummary } from '../../daemon/protocol/releases.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import type { ModulesView, PlanView, RunView } from '../../webview/messages.js';
import { releaseName, shortCommit } from './releases.js';
import { isActive, STEP_TITLES, runUrls } from './runs.js';

/** The env plan as the deploy panel's table shows it: names, kinds, handles and rules — never a value. */
export function planView(plan: EnvPlan): PlanView {
  const suggested = new Map(plan.missing.map((missing) => [missing.name, missing.type]));
  return {
    ready: plan.ready,
    files: plan.files,
    rows: plan.variables.map((variable) => ({
      name: variable.name,
      kind: variable.kind,
      status: variable.status,
      sources: variable.sources,
      ...(variable.handle ? { handle: variable.handle } : {}),
      ...(variable.rule ? { rule: variable.rule } : {}),
      ...(suggested.has(variable.name) ? { suggestedType: suggested.get(variable.name) } : {}),
    })),
  };
}

/**
 * The deploy's modules as the panel's table shows them: each compose service publishing a port with where it is
 * written and its allocation (or that the deploy allocates it), the modules a successful deploy releases, and what to
 * add when there is no compose file or no published port. Names, ports and server handles only.
 */
export function modulesView(plan: DeployPlan): ModulesView {
  return {
    rows: plan.modules.map((module) => ({
      name: module.name,
      service: module.service,
      portVariable: module.portVariable,
      published: module.service === '' ? 'published by no service' : `\${${module.portVariable}}:${module.containerPort}`,
      where: module.file === '' ? '' : `${module.file}:${module.line}`,
      allocation: module.allocation ? `${module.allocation.server} port ${module.allocation.port}` : 'allocated by the deploy',
      allocated: module.allocation !== undefined,
    })),
    retired: plan.retired,
    ...(plan.notice ? { notice: plan.notice } : {}),
  };
}

/** A run as the deploy panel shows it: status, steps, error, where the project answers and the release it made. */
export function runView(run: RunDetail | RunSummary, release?: Pick<ReleaseSummary, 'project' | 'number' | 'commit'>): RunView {
  const steps = 'steps' in run ? run.steps : [];
  return {
    id: run.id,
    status: run.status,
    active: isActive(run.status),
    steps: steps.map((step) => ({ name: step.name, title: STEP_TITLES[step.name], status: step.status, ...(step.detail ? { detail: step.detail } : {}) })),
    ...(run.error ? { error: run.error } : {}),
    urls: run.status === 'succeeded' ? runUrls(run) : [],
    ...(run.allocation ? { target: `${run.allocation.server} (${run.allocation.host})` } : {}),
    ...(release ? { release: { project: release.project, name: `${releaseName(release)} (${shortCommit(release.commit)})` } } : {}),
  };
}
