/**
 * The shell scripts day-2 operations run on a server, one SSH exec each. Every name in them is quoted here; the
 * names are checked by the protocol too (project and module patterns), so quoting is a second line, not the only one.
 */
import { shellQuote } from '../core/shell.js';
import type { ServiceAction } from '../protocol/services.js';

/** Where a deploy puts a project on its server (playbooks/deploy_project.yml `project_dir`). */
export function projectFolder(project: string): string {
  return `/opt/services/${project}`;
}

/** Markers the scripts print for what the daemon turns into clear errors. */
export const MARK = { noDocker: 'ZAVHOZ_NO_DOCKER', noFolder: 'ZAVHOZ_NO_FOLDER', noCompose: 'ZAVHOZ_NO_COMPOSE' } as const;

/** Field separator of the status lines: a byte no label, name or time contains. */
export const FIELD = '\u001f';

// One line per container (docker's Go template). PortBindings, not NetworkSettings.Ports: a stopped container
// keeps its bindings, so its module (and URL) are still known. Optional keys are read with `index`: the client
// formats the engine's raw JSON, where `.State.Health` of a container without a health check is an error ("map has
// no entry"), which drops that container from the output; `index` gives "<no value>" instead.
const CONTAINER_TEMPLATE = [
  'C',
  '{{index .Config.Labels "com.docker.compose.project"}}',
  '{{index .Config.Labels "com.docker.compose.service"}}',
  '{{.Name}}',
  '{{.State.Status}}',
  '{{with index .State "Health"}}{{index . "Status"}}{{end}}',
  '{{.RestartCount}}',
  '{{.Config.Image}}',
  '{{.Image}}',
  '{{.State.StartedAt}}',
  '{{.State.FinishedAt}}',
  '{{.State.ExitCode}}',
  '{{range $port, $bindings := .HostConfig.PortBindings}}{{range $bindings}}{{.HostPort}} {{end}}{{end}}',
  '{{.Id}}',
].join(FIELD);

const IMAGE_TEMPLATE = ['I', '{{.Id}}', '{{range .RepoDigests}}{{.}} {{end}}'].join(FIELD);

/**
 * Reports, in one exec, which of `projects` have a folder on the server and every compose container there (any
 * project: one `docker ps` and one `docker inspect` serve all of them, the daemon keeps the ones it asked for), with
 * the registry digests of their images.
 */
export function statusScript(projects: readonly string[]): string {
  const folders = projects.map((project) => `[ -d ${shellQuote(projectFolder(project))} ] && echo ${shellQuote(`D${FIELD}${project}`)}`);
  return [
    `command -v docker >/dev/null 2>&1 || { echo ${MARK.noDocker}; exit 0; }`,
    ...folders,
    'ids=$(docker ps -aq --no-trunc --filter label=com.docker.compose.project) || exit 3',
    '[ -n "$ids" ] || exit 0',
    // A container removed between ps and inspect makes inspect fail for it alone: keep what the others printed.
    `out=$(docker inspect --format ${shellQuote(CONTAINER_TEMPLATE)} $ids 2>/dev/null)`,
    'printf "%s\\n" "$out"',
    `images=$(printf "%s\\n" "$out" | cut -d ${shellQuote(FIELD)} -f 9 | sort -u)`,
    `[ -z "$images" ] || docker image inspect --format ${shellQuote(IMAGE_TEMPLATE)} $images 2>/dev/null`,
    'exit 0',
  ].join('\n');
}

/** The lines that find compose (v2 plugin, else v1) in the project's folder, as the deploy playbook does. */
function composePrelude(project: string): string[] {
  return [
    `cd ${shellQuote(projectFolder(project))} 2>/dev/null || { echo ${MARK.noFolder}; exit 4; }`,
    `if docker compose version >/dev/null 2>&1; then compose="docker compose";`,
    `elif command -v docker-compose >/dev/null 2>&1; then compose="docker-compose";`,
    `else echo ${MARK.noCompose}; exit 5; fi`,
  ];
}

/** `compose restart|stop|start [services…]` of a deployed project, with the files and .env the deploy used. */
export function controlScript(project: string, action: ServiceAction, services: readonly string[]): string {
  const words = ['-p', project, '--env-file', '.env', '-f', 'infra/compose.base.yml', '-f', 'infra/compose.prod.yml', action, ...services];
  return [...composePrelude(project), `$compose ${words.map(shellQuote).join(' ')} 2>&1`].join('\n');
}

/**
 * A service name as both prefix forms print it alike (sed would read `\\`, `/` and `&`; the loop would not):
 * compose allows only letters, digits, `.`, `_` and `-` in service names, so this changes no real one.
 */
function plainName(service: string): string {
  return service.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `--since` as the engine takes it: a Go duration has no days, so `2d` becomes `48h`; times pass unchanged. */
export function engineSince(since: string): string {
  const days = /^(\d+)d$/.exec(since);
  return days ? `${Number(days[1]) * 24}h` : since;
}

/** What a logs script reads. */
export interface LogsScriptOptions {
  /** Container id → its compose service, in the order to read them. */
  readonly containers: readonly { readonly id: string; readonly service: string }[];
  readonly tail: number;
  readonly since?: string | undefined;
  readonly follow: boolean;
}

/**
 * `docker logs --timestamps` of each container, each line prefixed with its service and {@link FIELD}. Without
 * follow the containers are read one after the other (each one's lines stay in order); with follow they run side by
 * side, and a watcher on stdin kills the whole process group once the daemon closes the channel's input (a cancelled
 * follow, a lost connection), so no `docker logs --follow` outlives its reader.
 *
 * A followed container that stops (a restart, a redeploy that recreates it) ends its `docker logs`: the follow then
 * says so in the log, waits for the same compose slot (project, service, container number) to run again, and goes on
 * from the second it stopped, so a restart neither ends the follow nor loses the new container's first lines (a line
 * of that second may come twice).
 */
export function logsScript(options: LogsScriptOptions): string {
  const since = options.since === undefined ? [] : ['--since', engineSince(options.since)];
  const flags = ['--timestamps', '--tail', String(options.tail), ...since, ...(options.follow ? ['--follow'] : [])];
  // The prefix is added line by line as lines come: a pipe to the SSH channel is block-buffered, and a followed
  // line must not wait for 4 KiB more. GNU sed -u reads and writes unbuffered (mawk would hold its input back);
  // where sed has no -u (busybox), a shell loop does it, slower.
  const lines: string[] = [
    `if echo | sed -u 's/^//' >/dev/null 2>&1; then prefix() { sed -u "s/^/$1/"; }; else prefix() { while IFS= read -r line || [ -n "$line" ]; do printf '%s%s\\n' "$1" "$line"; done; }; fi`,
  ];
  if (options.follow) {
    // A background list's stdin is /dev/null in a non-interactive shell: the watcher reads the channel through fd 3.
    lines.push('exec 3<&0', '( cat <&3 >/dev/null 2>&1; kill 0 ) >/dev/null 2>&1 &', 'watcher=$!', 'pids=""');
    lines.push(...FOLLOW_FUNCTIONS);
  }
  for (const { id, service } of options.containers) {
    const prefix = shellQuote(plainName(service) + FIELD);
    if (options.follow) {
      lines.push(`follow ${shellQuote(id)} ${prefix} ${flags.map(shellQuote).join(' ')} &`, 'pids="$pids $!"');
    } else {
      lines.push(`docker logs ${flags.map(shellQuote).join(' ')} ${shellQuote(id)} 2>&1 | prefix ${prefix}`);
    }
  }
  if (options.follow) lines.push('wait $pids', 'kill $watcher 2>/dev/null', 'exit 0');
  return lines.join('\n');
}

/**
 * `follow ID PREFIX FLAG…`: follows container ID, and after it stops, the container that runs in its compose slot
 * next. `note` writes a line of Zavhoz's own in the log's format (engine time first) so the reader sees the gap.
 */
const FOLLOW_FUNCTIONS = [
  `note() { printf '%s [zavhoz] %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" | prefix "$1"; }`,
  'follow() {',
  '  id=$1; pre=$2; shift 2',
  `  slot=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}|{{index .Config.Labels "com.docker.compose.service"}}|{{index .Config.Labels "com.docker.compose.container-number"}}' "$id" 2>/dev/null)`,
  '  project=${slot%%|*}; rest=${slot#*|}; service=${rest%%|*}; number=${rest#*|}',
  '  while :; do',
  '    docker logs "$@" "$id" 2>&1 | prefix "$pre"',
  // Not a compose container (or gone before it was read): nothing names the one that would replace it.
  '    if [ -z "$project" ] || [ -z "$service" ] || [ -z "$number" ]; then return; fi',
  '    ended=$(date +%s)',
  '    note "$pre" "the container stopped; following the next one to run"',
  '    id=""',
  '    while [ -z "$id" ]; do',
  '      sleep 1',
  '      id=$(docker ps -q --no-trunc --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" --filter "label=com.docker.compose.container-number=$number" | head -n 1)',
  '    done',
  '    note "$pre" "following the container again"',
  '    set -- --timestamps --since "$ended" --follow',
  '  done',
  '}',
];
