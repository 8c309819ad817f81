/**
 * The modules of a project as its compose files declare them: every service that publishes a port on a host port
 * taken from a variable is a module, and that variable is how the port Zavhoz allocates reaches compose. `${PORT}` is
 * the main module's (named `app`, as a project had before modules came from compose), `${NAME_PORT}` module
 * `name` (the same rule the env plan computes those variables by). Host ports written as numbers, or left to the
 * engine, stay as compose has them and are no module: nothing could allocate them.
 */
import path from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { invalidInput } from '../core/errors.js';
import { DEFAULT_MODULE } from '../protocol/allocations.js';
import type { PlannedModule } from '../protocol/deploy.js';
import { PROJECT_NAME_PATTERN } from '../protocol/fields.js';
import { hasFixedValue } from './envRules.js';
import { noComposeFile, readProjectFile, TEMPLATE_FILES } from './envTemplate.js';

/**
 * One module a compose service publishes: what `deploy/plan` answers for it, before its allocation is known (the
 * fields are declared once, in the protocol).
 */
export type ComposeModule = Omit<PlannedModule, 'allocation'>;

/** Largest compose file read; a bigger one is refused rather than slurped. */
/** Most aliases a compose file may expand: a file with more is a YAML bomb, not a compose file. */
const MAX_ALIASES = 1000;
/** One whole variable reference: `${NAME}`, `${NAME:-8000}`, `${NAME-8000}`, `$NAME`. */
const WHOLE_REFERENCE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))$/;
const FIXED_PORT = /^\d+(?:-\d+)?$/;

/** A service as the files declare it, merged across them: its published ports with where each was written. */
interface ServicePorts {
  profiles: boolean;
  entries: { value: unknown; file: string; line: number }[];
}

/**
 * The modules the project's compose files (`infra/compose.base.yml`, then `infra/compose.prod.yml` over it, as a
 * deploy runs them) publish, sorted by name. Ports merge across the files as compose merges them (the override adds
 * to the base); `extends` of a service in the same file and `<<` merge keys are followed; a service with `profiles`
 * is left out, as `compose up` leaves it. Refused, with the file and line: a file that is not valid YAML, a port
 * entry compose would not read, a host port from a variable no module could own, two services on one variable.
 */
export function readComposeModules(folder: string): ComposeModule[] {
  const services = new Map<string, ServicePorts>();
  let found = 0;
  for (const relative of TEMPLATE_FILES.compose) {
    const text = readProjectFile(folder, relative, 'a compose file');
    if (text === undefined) continue;
    found += 1;
    for (const [name, declared] of servicesOf(text, relative, path.join(folder, relative))) {
      const merged = services.get(name) ?? { profiles: false, entries: [] };
      merged.profiles ||= declared.profiles;
      merged.entries.push(...declared.entries);
      services.set(name, merged);
    }
  }
  if (found === 0) throw noComposeFile(folder);
  const modules = new Map<string, ComposeModule>();
  for (const [service, declared] of services) {
    if (declared.profiles) continue;
    for (const entry of declared.entries) {
      const module = moduleOf(service, entry, path.join(folder, entry.file));
      if (module === undefined) continue;
      const known = modules.get(module.name);
      if (known === undefined) {
        modules.set(module.name, module);
      } else if (known.service !== service) {
        throw invalidInput(
          `${path.join(folder, entry.file)}:${entry.line}: services ${known.service} (\${${known.portVariable}}, ${known.file}:${known.line}) and ${service} (\${${module.portVariable}}) ` +
            `both publish module ${module.name}: one allocated port cannot serve two services. Give ${service} a variable of its own, e.g. "\${${variableFor(service)}}:${module.containerPort}".`,
        );
      }
    }
  }
  return [...modules.values()].sort((left, right) => left.name.localeCompare(right.name));
}

/** The module a published port makes, or undefined when its host port is fixed or left to the engine. */
function moduleOf(service: string, entry: { value: unknown; file: string; line: number }, file: string): ComposeModule | undefined {
  const where = `${file}:${entry.line}`;
  const port = publishedPort(entry.value, `${where}: a port of service ${service}`);
  if (port.published === undefined || FIXED_PORT.test(port.published)) return undefined;
  const reference = WHOLE_REFERENCE.exec(port.published);
  const variable = reference?.[1] ?? reference?.[2];
  const fix = `write "\${${variableFor(service)}}:${port.target}"`;
  if (variable === undefined) {
    throw invalidInput(`${where}: service ${service} publishes on host port "${port.published}", which Zavhoz cannot allocate. Use one variable for it: ${fix}.`);
  }
  const name = variable === 'PORT' ? DEFAULT_MODULE : /^([A-Z0-9_]+)_PORT$/.exec(variable)?.[1]?.toLowerCase().replace(/_/g, '-');
  if (name === undefined || !PROJECT_NAME_PATTERN.test(name)) {
    throw invalidInput(
      `${where}: service ${service} publishes on \${${variable}}; Zavhoz puts a module on the port it allocates through \${PORT} (the main module) or \${NAME_PORT} (module "name"). ${fix[0]?.toUpperCase()}${fix.slice(1)}.`,
    );
  }
  // POSTGRES_PORT and REDIS_PORT have values of their own (5432, 6379): such a port is published as it is.
  if (variable !== 'PORT' && hasFixedValue(variable)) return undefined;
  return { name, service, containerPort: port.target, portVariable: variable, file: entry.file, line: entry.line };
}

/** The variable a service would publish its port on: `PORT` for `app`, else `NAME_PORT`. */
function variableFor(service: string): string {
  return service === DEFAULT_MODULE ? 'PORT' : `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PORT`;
}

/** The host and container side of one `ports:` entry, short syntax (`[IP:][HOST:]CONTAINER[/PROTO]`) or long. */
function publishedPort(value: unknown, what: string): { published: string | undefined; target: number } {
  if (typeof value === 'number') return { published: undefined, target: targetPort(String(value), what) };
  if (typeof value === 'string') {
    const parts = splitOutsideBraces(value.trim());
    const last = parts[parts.length - 1] ?? '';
    const target = targetPort(last.replace(/\/(tcp|udp|sctp)$/i, ''), what);
    return { published: parts.length >= 2 ? parts[parts.length - 2] : undefined, target };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const long = value as Record<string, unknown>;
    const target = typeof long.target === 'number' || typeof long.target === 'string' ? targetPort(String(long.target), what) : undefined;
    if (target === undefined) throw invalidInput(`${what} has no "target" (the port in the container); compose needs one.`);
    const published = long.published;
    if (published === undefined || published === null || published === '') return { published: undefined, target };
    if (typeof published !== 'number' && typeof published !== 'string') throw invalidInput(`${what} has a "published" that is not a port or a variable.`);
    return { published: String(published), target };
  }
  throw invalidInput(`${what} is neither "HOST:CONTAINER" nor a mapping with target and published; compose would refuse it.`);
}

/** The container port of an entry (the first of a range). */
function targetPort(text: string, what: string): number {
  const port = FIXED_PORT.test(text) ? Number.parseInt(text, 10) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) {
    throw invalidInput(`${what} names container port "${text}", which is not a port number; compose would refuse it.`);
  }
  return port;
}

/** Splits `a:${B:-1}:c` at the colons that are not inside `${…}`. */
function splitOutsideBraces(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] ?? '';
    if (character === '{' && text[index - 1] === '$') depth += 1;
    else if (character === '}' && depth > 0) depth -= 1;
    if (character === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current);
  // `::1:8000:80`: an IPv6 host address keeps its colons; only the last two parts are ports.
  return parts.length > 3 ? [parts.slice(0, -2).join(':'), ...parts.slice(-2)] : parts;
}

/** Each service of one compose file with its published ports, each with its line (a merged one: its service's). */
function servicesOf(text: string, relative: string, file: string): Map<string, ServicePorts> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { merge: true, lineCounter });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const [error] = document.errors;
  if (error) {
    const where = (error.message.split('\n')[0] ?? error.code).replace(/:$/, '').replace(/ at line \d+, column \d+$/, '');
    throw invalidInput(`${file}:${lineAt(error.pos[0])}: not valid YAML (${where}). Fix it; compose would refuse it too.`);
  }
  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (cause) {
    throw invalidInput(`${file} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  const result = new Map<string, ServicePorts>();
  if (root === null || root === undefined) return result;
  if (!isRecord(root)) throw invalidInput(`${file}:1: a compose file is a mapping with a "services" key; this one is not a mapping.`);
  const servicesNode = document.get('services', true);
  if (root.services === undefined || root.services === null) return result;
  if (!isRecord(root.services)) throw invalidInput(`${file}:${lineOfNode(servicesNode, lineAt) ?? 1}: "services" must be a mapping of service names.`);
  const declared = root.services;
  const serviceLine = (name: string): number => {
    if (!isMap(servicesNode)) return 1;
    const pair = servicesNode.items.find((item) => (item.key as { value?: unknown } | null)?.value === name);
    return lineOfNode(pair?.key, lineAt) ?? lineOfNode(servicesNode, lineAt) ?? 1;
  };
  const portsOf = (name: string, seen: ReadonlySet<string>): unknown[] => {
    const service = declared[name];
    if (!isRecord(service)) return [];
    const own = service.ports;
    if (own !== undefined && own !== null && !Array.isArray(own)) {
      throw invalidInput(`${file}:${serviceLine(name)}: "ports" of service ${name} must be a list; compose would refuse it.`);
    }
    const base = typeof service.extends === 'string' ? service.extends : isRecord(service.extends) && service.extends.file === undefined ? service.extends.service : undefined;
    const inherited = typeof base === 'string' && !seen.has(base) ? portsOf(base, new Set([...seen, base])) : [];
    return [...inherited, ...((own as unknown[] | undefined) ?? [])];
  };
  for (const name of Object.keys(declared)) {
    const service = declared[name];
    if (service !== null && service !== undefined && !isRecord(service)) {
      throw invalidInput(`${file}:${serviceLine(name)}: service ${name} must be a mapping; compose would refuse it.`);
    }
    const ports = portsOf(name, new Set([name]));
    const directNode = document.getIn(['services', name, 'ports'], true);
    const direct = isSeq(directNode) ? directNode.items : [];
    const offset = ports.length - direct.length;
    const entries = ports.map((value, index) => ({
      value,
      file: relative,
      line: (index >= offset ? lineOfNode(direct[index - offset] as Node | undefined, lineAt) : undefined) ?? serviceLine(name),
    }));
    const profiles = isRecord(service) && Array.isArray(service.profiles) && service.profiles.length > 0;
    result.set(name, { profiles, entries });
  }
  return result;
}

function lineOfNode(node: unknown, lineAt: (offset: number) => number): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? lineAt(range[0]) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

