/**
 * The naming conventions that decide what kind of value a variable gets: secrets the daemon generates (infra),
 * values built from them, and values it computes from the project and its allocation.
 */

/** Infra secrets: generated once per project and kept in the vault. */
export const INFRA_SECRETS: readonly string[] = ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'APP_SECRET_KEY', 'SECRET_KEY', 'JWT_SECRET'];

/** Values built from infra secrets and computed values, e.g. a database URL holding the generated password. */
export const COMPOSED: Readonly<Record<string, { readonly parts: readonly string[]; readonly template: string }>> = {
  DATABASE_URL: {
    parts: ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_HOST', 'POSTGRES_PORT', 'POSTGRES_DB'],
    template: 'postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}',
  },
  REDIS_URL: {
    parts: ['REDIS_PASSWORD', 'REDIS_HOST', 'REDIS_PORT'],
    template: 'redis://:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_PORT}/0',
  },
};

/** What a computed value depends on: the deploy's project, allocation and repository. */
export interface ComputeContext {
  readonly project: string;
  /** `OWNER/NAME` of the GitHub repository (image names follow it). */
  readonly repository: string;
  /** Port of the project's main module. */
  readonly port: number;
  /** Every allocated module's port. */
  readonly modulePorts: Readonly<Record<string, number>>;
  /** Compose service name → image, to find the database and cache services. */
  readonly services: ReadonlyMap<string, string>;
}

/** A computed variable: how its value is made, in words and as a function. */
export interface ComputedRule {
  readonly describe: string;
  readonly value: (context: ComputeContext) => string;
}

/** Finds the compose service running an image (`postgres:16` → `db`), else a conventional name. */
function serviceFor(services: ReadonlyMap<string, string>, image: string, fallback: string): string {
  for (const [name, ref] of services) {
    const repository = ref.split(':')[0] ?? '';
    if (repository === image || repository.endsWith(`/${image}`)) return name;
  }
  return fallback;
}

/** A name for database users and databases: the project name with `-` turned into `_`. */
function databaseName(project: string): string {
  return project.replace(/-/g, '_');
}

const FIXED_RULES: Readonly<Record<string, ComputedRule>> = {
  APP_NAME: { describe: 'the project name', value: (context) => context.project },
  COMPOSE_PROJECT_NAME: { describe: 'the project name', value: (context) => context.project },
  PORT: { describe: 'the allocated port', value: (context) => String(context.port) },
  ENVIRONMENT: { describe: 'production', value: () => 'production' },
  APP_ENV: { describe: 'production', value: () => 'production' },
  NODE_ENV: { describe: 'production', value: () => 'production' },
  POSTGRES_USER: { describe: 'the project name (database user)', value: (context) => databaseName(context.project) },
  POSTGRES_DB: { describe: 'the project name (database)', value: (context) => databaseName(context.project) },
  POSTGRES_HOST: { describe: 'the compose service running postgres', value: (context) => serviceFor(context.services, 'postgres', 'db') },
  POSTGRES_PORT: { describe: '5432', value: () => '5432' },
  REDIS_HOST: { describe: 'the compose service running redis', value: (context) => serviceFor(context.services, 'redis', 'redis') },
  REDIS_PORT: { describe: '6379', value: () => '6379' },
};

/** True for a variable whose value is fixed by name (`PORT`, `POSTGRES_PORT` → 5432, …), not by the project's modules. */
export function hasFixedValue(name: string): boolean {
  return Object.hasOwn(FIXED_RULES, name);
}

/**
 * The computed rule for a variable, if it has one: the fixed names above, `<MODULE>_PORT` for the project's
 * allocated modules, and `<NAME>_IMAGE` → `ghcr.io/owner/repo-<name>:latest` (`TG_BOT_IMAGE` → `…-tg-bot:latest`).
 */
export function computedRule(name: string, modules: readonly string[] = []): ComputedRule | undefined {
  const fixed = FIXED_RULES[name];
  if (fixed) return fixed;
  const image = /^([A-Z0-9_]+)_IMAGE$/.exec(name);
  if (image?.[1]) {
    const suffix = image[1].toLowerCase().replace(/_/g, '-');
    return {
      describe: `ghcr.io/OWNER/REPO-${suffix}:latest`,
      value: (context) => `ghcr.io/${context.repository.toLowerCase()}-${suffix}:latest`,
    };
  }
  const modulePort = /^([A-Z0-9_]+)_PORT$/.exec(name);
  const module = modulePort?.[1]?.toLowerCase().replace(/_/g, '-');
  if (module !== undefined && modules.includes(module)) {
    return {
      describe: `the port allocated to module ${module}`,
      value: (context) => String(context.modulePorts[module] ?? context.port),
    };
  }
  return undefined;
}

/** Replaces `${NAME}` in a composed template; each part's value is URL-encoded (passwords may hold `@` or `/`). */
export function compose(template: string, values: ReadonlyMap<string, string>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_match, name: string) => encodeURIComponent(values.get(name) ?? ''));
}

/** The vault type to suggest for a user variable, from its name (`…_TOKEN` → token); one of the vault's types. */
export function suggestedSecretType(name: string): 'password' | 'token' | 'text' | 'private_key' {
  if (/(^|_)(TOKEN|PAT)$/.test(name)) return 'token';
  if (/(PASSWORD|PASSWD|_PASS)$/.test(name)) return 'password';
  if (/(PRIVATE_KEY|SSH_KEY)$/.test(name)) return 'private_key';
  if (/(API_KEY|_SECRET|SECRET_KEY)$/.test(name)) return 'token';
  return 'text';
}
