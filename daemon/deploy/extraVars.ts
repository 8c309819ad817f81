import type { EnvPlan } from '../protocol/env.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { ProjectTemplate } from './envTemplate.js';
import { environmentValues, formatDotenv, planHandles, withValues } from './envValues.js';
import type { DeployTarget } from './ports.js';
import { RUN_FILES, type RunFolder } from './runFolder.js';
import type { RunRecord } from './runStore.js';

/** What the playbook's variables are made from. */
export interface ExtraVarsInput {
  readonly run: RunRecord;
  readonly target: DeployTarget;
  /** The plan with every generated secret's handle filled in. */
  readonly plan: EnvPlan;
  readonly template: ProjectTemplate;
  readonly use: SecretUse;
}

/**
 * Writes the playbook's variables (the .env content, git and registry tokens included) to the run's 0600
 * extra-vars file; values exist only inside the vault's loans while it is written. Returns the handles delivered.
 */
export async function writeExtraVars(folder: RunFolder, secrets: SecretReader, input: ExtraVarsInput): Promise<string[]> {
  const { run, target, plan, template } = input;
  const tokens = [run.options.gitToken, run.options.registryToken].filter((handle): handle is string => !!handle);
  const handles = [...planHandles(plan), ...tokens];
  await withValues(secrets, handles, input.use, (values) => {
    const environment = environmentValues(
      plan,
      { project: run.project, repository: run.repository, port: target.port, modulePorts: target.modulePorts, services: template.services },
      values,
      Object.keys(target.modulePorts),
    );
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    const extraVars: Record<string, string | number> = {
      project: run.project,
      repo_url: run.options.repoUrl,
      git_ref: run.ref,
      app_port: target.port,
      health_url: `http://${host}:${target.port}`,
      env_file_content: formatDotenv(environment),
      registry: run.options.registry,
      registry_user: run.options.registryUser,
    };
    const gitToken = run.options.gitToken ? values.get(run.options.gitToken) : undefined;
    const registryToken = run.options.registryToken ? values.get(run.options.registryToken) : undefined;
    if (gitToken !== undefined) extraVars.git_token = gitToken;
    if (registryToken !== undefined) extraVars.registry_token = registryToken;
    folder.writePrivate(RUN_FILES.extraVars, JSON.stringify(extraVars));
  });
  return handles;
}
