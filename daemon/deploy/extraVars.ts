import type { SecretUse } from '../vault/api.js';
import { environmentValues, formatDotenv, withValues } from './envValues.js';
import type { PassSpec } from './passSpec.js';
import type { DeploySecrets, DeployTarget, ProxySwitch, SecretVersionRef } from './ports.js';
import { RUN_FILES, type RunFolder } from './runFolder.js';
import type { RunRecord } from './runStore.js';

/** What the playbook's variables are made from. */
export interface ExtraVarsInput {
  readonly run: RunRecord;
  /** The server and how to reach it. */
  readonly target: DeployTarget;
  /** What this pass deploys: ref, plan (every generated secret's handle filled in), versions, ports, pins. */
  readonly spec: PassSpec;
  readonly use: SecretUse;
  /** Modules with a domain behind the server's proxy: they switch over with no downtime. */
  readonly proxySwitch?: ProxySwitch | undefined;
}

/** The health path of a module when none was given. */
export const DEFAULT_HEALTH_PATH = '/';

/**
 * Writes the playbook's variables (the .env content, git and registry tokens included) to the run's 0600
 * extra-vars file; values exist only inside the vault's loans while it is written. The .env gets exactly the secret
 * versions of the spec. Returns the handles delivered.
 */
export async function writeExtraVars(folder: RunFolder, secrets: DeploySecrets, input: ExtraVarsInput): Promise<string[]> {
  const { run, target, spec } = input;
  const tokens = [spec.options.gitToken, spec.options.registryToken].filter((handle): handle is string => !!handle);
  await withVersions(secrets, spec.versions, input.use, (versioned) =>
    withValues(secrets, tokens, input.use, (tokenValues) => {
      const environment = environmentValues(
        spec.plan,
        { project: run.project, repository: run.repository, port: spec.port, modulePorts: spec.modulePorts, services: spec.services },
        versioned,
        Object.keys(spec.modulePorts),
      );
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      const extraVars: Record<string, unknown> = {
        project: run.project,
        repo_url: spec.options.repoUrl,
        git_ref: spec.ref,
        app_port: spec.port,
        // Every module's port is published, so an active UFW opens each one, not only the main module's.
        firewall_ports: [...new Set([spec.port, ...Object.values(spec.modulePorts)])].sort((a, b) => a - b),
        health_checks: Object.entries(spec.modulePorts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([module, port]) => ({
            module,
            url: `http://${host}:${port}${spec.healthPaths[module] ?? DEFAULT_HEALTH_PATH}`,
            strict: spec.healthPaths[module] !== undefined,
          })),
        env_file_content: formatDotenv(environment),
        registry: spec.options.registry,
        registry_user: spec.options.registryUser,
      };
      const switched = (input.proxySwitch?.modules ?? []).filter((entry) => spec.modulePorts[entry.module] !== undefined);
      if (input.proxySwitch && switched.length > 0) {
        extraVars.proxy_switch = {
          https_port: input.proxySwitch.httpsPort,
          fail_seconds: input.proxySwitch.failSeconds,
          dial_host: host,
          publish_host: host,
          modules: switched.map((entry) => ({
            module: entry.module,
            port: spec.modulePorts[entry.module],
            slot_port: entry.slotPort,
            domain: entry.domain,
            path: spec.healthPaths[entry.module] ?? DEFAULT_HEALTH_PATH,
            strict: spec.healthPaths[entry.module] !== undefined,
          })),
        };
      }
      // Closed only once the new release passed its health checks (the playbook's order), never by a rollback pass.
      if (spec.retired && spec.retired.length > 0) extraVars.firewall_close_ports = spec.retired.map((module) => module.port);
      if (spec.pins.length > 0) {
        extraVars.image_pins = Object.fromEntries(spec.pins.map((pin) => [pin.service, { image: pin.digest }]));
        extraVars.pull_services = spec.pins.filter((pin) => pin.digest.includes('@')).map((pin) => pin.service);
      }
      const gitToken = spec.options.gitToken ? tokenValues.get(spec.options.gitToken) : undefined;
      const registryToken = spec.options.registryToken ? tokenValues.get(spec.options.registryToken) : undefined;
      if (gitToken !== undefined) extraVars.git_token = gitToken;
      if (registryToken !== undefined) extraVars.registry_token = registryToken;
      folder.writePrivate(RUN_FILES.extraVars, JSON.stringify(extraVars));
    }),
  );
  return [...spec.versions.map((ref) => ref.handle), ...tokens];
}

/** Lends the values of several secret versions at once (handle → that version's value), like `withValues`. */
async function withVersions<T>(
  secrets: DeploySecrets,
  refs: readonly SecretVersionRef[],
  use: SecretUse,
  work: (values: ReadonlyMap<string, string>) => Promise<T> | T,
): Promise<T> {
  const values = new Map<string, string>();
  const step = async (index: number): Promise<T> => {
    const ref = refs[index];
    if (ref === undefined) return work(values);
    return secrets.withVersion(ref, use, async (value) => {
      values.set(ref.handle, value);
      try {
        return await step(index + 1);
      } finally {
        values.delete(ref.handle);
      }
    });
  };
  return step(0);
}
