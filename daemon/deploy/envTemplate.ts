import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { invalidInput } from '../core/errors.js';

/** Compose file names Zavhoz does not run, looked for only to say where the deploy's files must be. */
const OTHER_COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

/** Where a variable was found in the project. */
export type VariableSource = '.env.example' | 'infra/.env.example' | 'compose';

/** The env template files and compose files the plan reads, relative to the project folder. */
export const TEMPLATE_FILES = {
  root: '.env.example',
  infra: 'infra/.env.example',
  compose: ['infra/compose.base.yml', 'infra/compose.prod.yml'],
} as const;

/** One variable the project asks for, before it is classified. */
export interface TemplateVariable {
  readonly name: string;
  readonly sources: readonly VariableSource[];
  /** True when every compose reference gives a default (`${X:-d}`) and no env template lists it. */
  readonly optional: boolean;
}

/** What the project's templates and compose files ask for, plus the compose services seen (for host names). */
export interface ProjectTemplate {
  readonly variables: readonly TemplateVariable[];
  /** Compose service name → image, for services that name an image. */
  readonly services: ReadonlyMap<string, string>;
  /** The template files that exist, relative to the project folder. */
  readonly files: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Largest template or compose file read; a bigger one is refused rather than slurped. */
const MAX_FILE_BYTES = 1024 * 1024;

/** Names declared by a dotenv-style template (`NAME=…`, `export NAME=…`; comments and blank lines skipped). */
export function parseEnvTemplate(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const equals = body.indexOf('=');
    const name = (equals === -1 ? body : body.slice(0, equals)).trim();
    if (NAME.test(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

/** One `${VAR}` / `$VAR` reference in a compose file. */
export interface ComposeReference {
  readonly name: string;
  /** `${X:-d}` or `${X-d}`: compose has a fallback when the variable is unset. */
  readonly hasDefault: boolean;
}

/** What the plan reads from one compose file. */
export interface ComposeFile {
  /** The variable references of every value, in order, with `$$` escapes skipped. */
  readonly references: readonly ComposeReference[];
  /** Service name → image, for services that name one (directly, through a merge key or `extends`). */
  readonly services: ReadonlyMap<string, string>;
}

/** Most aliases a compose file may expand: a file with more is a YAML bomb, not a compose file. */
const MAX_ALIASES = 1000;

/**
 * Parses a compose file as YAML, the way compose does: flow style, anchors and aliases, `<<` merge keys, and
 * `extends` of a service in the same file (one in another file is not followed). `source` names the file in errors.
 */
export function parseComposeFile(text: string, source = 'the compose file'): ComposeFile {
  const document = parseDocument(text, { merge: true });
  const [error] = document.errors;
  if (error) {
    const where = (error.message.split('\n')[0] ?? error.code).replace(/:$/, '');
    throw invalidInput(`${source} is not valid YAML (${where}). Fix it; compose would refuse it too.`);
  }
  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (cause) {
    throw invalidInput(`${source} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return { references: referencesIn(root), services: servicesIn(root) };
}

/** The variable references of a compose file, in order, with `$$` escapes skipped. */
export function parseComposeReferences(text: string): ComposeReference[] {
  return [...parseComposeFile(text).references];
}

/** Compose services with an `image:`, also when it comes from a merge key or `extends`. */
export function parseComposeServices(text: string): Map<string, string> {
  return new Map(parseComposeFile(text).services);
}

const REFERENCE = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)((?::?[-?+])[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** References in every string value (compose interpolates values, not keys), depth first in document order. */
function referencesIn(value: unknown): ComposeReference[] {
  if (typeof value === 'string') {
    const references: ComposeReference[] = [];
    for (const match of value.matchAll(REFERENCE)) {
      if (match[1] === '$') continue;
      const name = match[2] ?? match[4];
      if (name === undefined) continue;
      const modifier = match[3] ?? '';
      references.push({ name, hasDefault: modifier.startsWith(':-') || modifier.startsWith('-') });
    }
    return references;
  }
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (isRecord(value)) return Object.values(value).flatMap(referencesIn);
  return [];
}

function servicesIn(root: unknown): Map<string, string> {
  const services = new Map<string, string>();
  const declared = isRecord(root) && isRecord(root.services) ? root.services : {};
  const imageOf = (name: string, seen: ReadonlySet<string>): string | undefined => {
    const service = declared[name];
    if (!isRecord(service)) return undefined;
    if (typeof service.image === 'string') return service.image;
    const base = typeof service.extends === 'string' ? service.extends : isRecord(service.extends) && service.extends.file === undefined ? service.extends.service : undefined;
    return typeof base === 'string' && !seen.has(base) ? imageOf(base, new Set([...seen, base])) : undefined;
  };
  for (const name of Object.keys(declared)) {
    const image = imageOf(name, new Set([name]));
    if (image !== undefined) services.set(name, image);
  }
  return services;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the project's env templates and compose files. Missing files are skipped; a project with none of them is
 * refused, because there would be nothing to deploy.
 */
export function readProjectTemplate(folder: string): ProjectTemplate {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch {
    throw invalidInput(`The project folder ${folder} does not exist. Pass the folder that holds .env.example and infra/.`);
  }
  if (!stat.isDirectory()) throw invalidInput(`${folder} is not a folder. Pass the project's root folder.`);

  const found = new Map<string, { sources: Set<VariableSource>; listed: boolean; allDefaulted: boolean }>();
  const note = (name: string, source: VariableSource, hasDefault: boolean): void => {
    const entry = found.get(name) ?? { sources: new Set<VariableSource>(), listed: false, allDefaulted: true };
    entry.sources.add(source);
    if (source === 'compose') entry.allDefaulted &&= hasDefault;
    else entry.listed = true;
    found.set(name, entry);
  };
  const files: string[] = [];
  const services = new Map<string, string>();

  for (const [relative, source] of [
    [TEMPLATE_FILES.root, '.env.example'],
    [TEMPLATE_FILES.infra, 'infra/.env.example'],
  ] as const) {
    const text = readProjectFile(folder, relative);
    if (text === undefined) continue;
    files.push(relative);
    for (const name of parseEnvTemplate(text)) note(name, source, false);
  }
  for (const relative of TEMPLATE_FILES.compose) {
    const text = readProjectFile(folder, relative);
    if (text === undefined) continue;
    files.push(relative);
    const compose = parseComposeFile(text, path.join(folder, relative));
    for (const reference of compose.references) note(reference.name, 'compose', reference.hasDefault);
    for (const [service, image] of compose.services) services.set(service, image);
  }
  if (!files.some((file) => TEMPLATE_FILES.compose.includes(file as (typeof TEMPLATE_FILES.compose)[number]))) throw noComposeFile(folder);
  const variables = [...found.entries()].map(([name, entry]) => ({
    name,
    sources: [...entry.sources],
    optional: !entry.listed && entry.allDefaulted,
  }));
  return { variables, services, files };
}

/**
 * A project file's text, or undefined when there is no such file. Files over 1 MiB are refused (named as `what`):
 * a deploy reads them into memory, and a template or compose file is never that large.
 */
export function readProjectFile(folder: string, relative: string, what = 'an env template or compose file'): string | undefined {
  const file = path.join(folder, relative);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  if (stat.size > MAX_FILE_BYTES) throw invalidInput(`${file} is larger than 1 MiB; that is not ${what}.`);
  return fs.readFileSync(file, 'utf8');
}

/** The error for a folder without the compose files a deploy runs, naming a compose file of another name it holds. */
export function noComposeFile(folder: string): Error {
  const elsewhere = ['', 'infra']
    .flatMap((sub) => OTHER_COMPOSE_NAMES.map((name) => path.join(sub, name)))
    .find((relative) => fs.existsSync(path.join(folder, relative)));
  const runs = TEMPLATE_FILES.compose.join(' and ');
  if (elsewhere !== undefined) {
    return invalidInput(
      `${path.join(folder, elsewhere)} is not a file a deploy runs: a deploy runs ${runs} (the second over the first, as an override). ` +
        `Move it to ${TEMPLATE_FILES.compose[0]}, with production-only settings in ${TEMPLATE_FILES.compose[1]}.`,
    );
  }
  return invalidInput(`No compose file in ${folder}: a deploy runs ${runs}. Add them, or pass the project's root folder.`);
}
