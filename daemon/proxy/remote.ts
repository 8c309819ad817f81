/**
 * The shell script that puts a proxy config on a server and makes the proxy run it, in one SSH exec. The config
 * arrives on stdin (never the command line); values reach the script as positional arguments.
 */
import { remoteCommand } from '../core/shell.js';
import { CONFIG_FILE } from './config.js';

/** The folder a server's proxy keeps its config (with the admin socket) and its data (certificates, CA) in. */
export function proxyFolder(name: string): string {
  return `/opt/zavhoz/proxy/${name}`;
}

/** What the script printed last: what it did to the container. */
export type ProxyAction = 'reloaded' | 'started' | 'replaced' | 'restarted';

/** Markers the script prints, which the daemon turns into clear errors or reports. */
export const PROXY_MARK = {
  noDocker: 'ZAVHOZ_NO_DOCKER',
  /** The proxy's folder under /opt/zavhoz could not be made or written (the SSH user is not root). */
  noFolder: 'ZAVHOZ_PROXY_NO_FOLDER',
  action: 'ZAVHOZ_PROXY ',
  /** The proxy's `caddy version`, printed once it runs. */
  version: 'ZAVHOZ_PROXY_VERSION ',
  failed: 'ZAVHOZ_PROXY_FAILED ',
} as const;

// $1 folder, $2 container name, $3 image, $4 "check" (only bring a stopped proxy back) or "apply" (new config on stdin).
// A proxy that runs the configured image is reloaded gracefully (`caddy reload` through the admin socket: open
// connections finish on the old config); one that is stopped is started again; one on another image is replaced.
// Host networking: the proxy reaches every module's published port, and listens on the server's own ports.
const SCRIPT = [
  `command -v docker >/dev/null 2>&1 || { echo ${PROXY_MARK.noDocker}; exit 3; }`,
  'dir=$1; name=$2; image=$3; mode=$4',
  'umask 077',
  `mkdir -p "$dir/config" "$dir/data" 2>/dev/null && chmod 700 "$dir" || { echo ${PROXY_MARK.noFolder}; exit 1; }`,
  `if [ "$mode" = apply ]; then { cat > "$dir/config/caddy.json.new" && mv -f "$dir/config/caddy.json.new" "$dir/config/caddy.json"; } 2>/dev/null || { echo ${PROXY_MARK.noFolder}; exit 1; }; fi`,
  `[ -f "$dir/config/caddy.json" ] || { echo "${PROXY_MARK.failed}no config yet"; exit 4; }`,
  `report_version() { echo "${PROXY_MARK.version}$(docker exec "$name" caddy version 2>/dev/null | head -n 1)"; }`,
  'state=$(docker inspect --format "{{.State.Running}} {{.Config.Image}}" "$name" 2>/dev/null)',
  'start() {',
  '  docker run -d --name "$name" --restart unless-stopped --network host --label zavhoz.proxy=1' +
    ' -e XDG_DATA_HOME=/data -e XDG_CONFIG_HOME=/config' +
    ` -v "$dir/config:/etc/zavhoz-caddy" -v "$dir/data:/data" "$image" caddy run --config ${CONFIG_FILE} >/dev/null || exit 5`,
  '}',
  'if [ "$state" = "true $image" ]; then',
  '  if [ "$mode" = apply ]; then',
  `    out=$(docker exec "$name" caddy reload --config ${CONFIG_FILE} 2>&1) || { echo "${PROXY_MARK.failed}$(printf "%s" "$out" | tail -n 3)"; exit 6; }`,
  `    echo "${PROXY_MARK.action}reloaded"`,
  '    report_version',
  '  else',
  `    echo "${PROXY_MARK.action}running"`,
  '    report_version',
  '  fi',
  '  exit 0',
  'fi',
  'if [ -n "$state" ] && [ "${state#* }" = "$image" ]; then',
  // Stopped or killed: start the same container again; it reads the config file as it is now.
  '  docker start "$name" >/dev/null || exit 5; action=restarted',
  'elif [ -n "$state" ]; then',
  '  docker rm -f "$name" >/dev/null || exit 5; start; action=replaced',
  'else',
  '  start; action=started',
  'fi',
  // Ready once the admin socket answers: the config is loaded and the listeners are open.
  'waited=0',
  `until docker exec "$name" caddy version >/dev/null 2>&1 && [ -S "$dir/config/admin.sock" ]; do`,
  `  waited=$((waited + 1)); if [ "$waited" -ge 100 ]; then echo "${PROXY_MARK.failed}not ready within 20 s: $(docker logs --tail 3 "$name" 2>&1 | tr '\\n' ' ')"; exit 7; fi`,
  '  sleep 0.2',
  'done',
  `echo "${PROXY_MARK.action}$action"`,
  'report_version',
].join('\n');

/** The command line that writes the config from stdin and (re)starts or reloads the proxy. */
export function applyCommand(name: string, image: string): string {
  return remoteCommand(SCRIPT, [proxyFolder(name), name, image, 'apply']);
}

/** The command line that only brings a stopped or missing proxy back, with the config it has. */
export function checkCommand(name: string, image: string): string {
  return remoteCommand(SCRIPT, [proxyFolder(name), name, image, 'check']);
}

/** The command line that removes the proxy container (its folder is kept: certificates outlive it). */
export function removeCommand(name: string): string {
  return remoteCommand('docker rm -f "$1" >/dev/null 2>&1; exit 0', [name]);
}

/**
 * The name of the container a deploy starts beside a module's own during its switchover (proxy_switch_start.yml names
 * it so, with the label `zavhoz.slot=1`).
 */
export function slotContainer(project: string, module: string): string {
  return `${project}-zavhoz-slot-${module}`;
}

/**
 * The command line that removes switchover containers a deploy left behind (one that stopped between starting the
 * slot and stopping it): only containers of these names that carry the slot label. Prints `removed NAME` for each.
 */
export function removeSlotsCommand(names: readonly string[]): string {
  return remoteCommand(
    'for name in "$@"; do id=$(docker ps -aq --filter "name=^/$name\\$" --filter label=zavhoz.slot=1) || exit 1; [ -z "$id" ] && continue; docker rm -f $id >/dev/null || exit 1; echo "removed $name"; done; exit 0',
    names,
  );
}

/** What the script reported: the action, or why it failed. */
export function parseOutcome(stdout: string): { action?: ProxyAction | 'running'; version?: string; failure?: string; noDocker: boolean; noFolder: boolean } {
  const lines = stdout.split('\n');
  const action = lines.find((line) => line.startsWith(PROXY_MARK.action))?.slice(PROXY_MARK.action.length).trim();
  // `caddy version` prints `v2.6.2 h1:…`: the first word is the version; anything odd is not shown.
  const version = /^v?\d+\.\d+[\w.+-]{0,40}$/.exec(lines.find((line) => line.startsWith(PROXY_MARK.version))?.slice(PROXY_MARK.version.length).trim().split(/\s+/)[0] ?? '')?.[0];
  const failure = lines.find((line) => line.startsWith(PROXY_MARK.failed));
  return {
    ...(action ? { action: action as ProxyAction | 'running' } : {}),
    ...(version ? { version } : {}),
    ...(failure ? { failure: [failure.slice(PROXY_MARK.failed.length), ...lines.slice(lines.indexOf(failure) + 1)].join(' ').trim() } : {}),
    noDocker: lines.includes(PROXY_MARK.noDocker),
    noFolder: lines.includes(PROXY_MARK.noFolder),
  };
}
