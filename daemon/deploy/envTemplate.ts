import fs from 'node:fs';
import path from 'node:path';
import { invalidInput } from '../core/errors.js';

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

/** The variable references of a compose file, in order, with `$$` escapes skipped. */
export function parseComposeReferences(text: string): ComposeReference[] {
  const references: ComposeReference[] = [];
  const pattern = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)((?::?[-?+])[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  for (const line of text.split(/\r?\n/)) {
    // A YAML comment: `#` at the start or after whitespace (inside a value `a#b` is not a comment).
    const code = line.replace(/(^|\s)#.*$/, '');
    for (const match of code.matchAll(pattern)) {
      if (match[1] === '$') continue;
      const name = match[2] ?? match[4];
      if (name === undefined) continue;
      const modifier = match[3] ?? '';
      references.push({ name, hasDefault: modifier.startsWith(':-') || modifier.startsWith('-') });
    }
  }
  return references;
}

/**
 * Compose services with an `image:`, found by indentation (no YAML library: only the `services:` block's direct
 * children and their `image` keys matter here).
 */
export function parseComposeServices(text: string): Map<string, string> {
  const services = new Map<string, string>();
  let inServices = false;
  let serviceIndent = -1;
  let current: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (indent === 0) {
      inServices = line === 'services:';
      serviceIndent = -1;
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    if (serviceIndent === -1) serviceIndent = indent;
    const key = /^([A-Za-z0-9_.-]+):\s*(.*)$/.exec(line);
    if (indent === serviceIndent) {
      current = key?.[1];
    } else if (current !== undefined && key?.[1] === 'image' && key[2]) {
      services.set(current, key[2].replace(/^["']|["']$/g, ''));
    }
  }
  return services;
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
    const text = readOptional(folder, relative);
    if (text === undefined) continue;
    files.push(relative);
    for (const name of parseEnvTemplate(text)) note(name, source, false);
  }
  for (const relative of TEMPLATE_FILES.compose) {
    const text = readOptional(folder, relative);
    if (text === undefined) continue;
    files.push(relative);
    for (const reference of parseComposeReferences(text)) note(reference.name, 'compose', reference.hasDefault);
    for (const [service, image] of parseComposeServices(text)) services.set(service, image);
  }
  if (!files.some((file) => TEMPLATE_FILES.compose.includes(file as (typeof TEMPLATE_FILES.compose)[number]))) {
    throw invalidInput(
      `No compose file in ${folder}: a deploy runs ${TEMPLATE_FILES.compose.join(' and ')}. Add them, or pass the project's root folder.`,
    );
  }
  const variables = [...found.entries()].map(([name, entry]) => ({
    name,
    sources: [...entry.sources],
    optional: !entry.listed && entry.allDefaulted,
  }));
  return { variables, services, files };
}

function readOptional(folder: string, relative: string): string | undefined {
  const file = path.join(folder, relative);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  if (stat.size > MAX_FILE_BYTES) throw invalidInput(`${file} is larger than 1 MiB; that is not an env template or compose file.`);
  return fs.readFileSync(file, 'utf8');
}
