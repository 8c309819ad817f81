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
  /** A check's request through the proxy got an HTTP answer (its status follows). */
  serves: 'ZAVHOZ_PROXY_SERVES ',
  /** A check's request through the proxy got no HTTP answer (curl's or python3's error and exit code follow). */
  notServing: 'ZAVHOZ_PROXY_NOT_SERVING ',
  /** A check could not send the request (neither curl nor python3 on the server). */
  unprobed: 'ZAVHOZ_PROXY_UNPROBED ',
} as const;

/**
 * The Python half of `https_status` (below), for servers without curl: Ansible needs python3 on every server it
 * manages, curl is only common. The same request as curl's: TLS to 127.0.0.1 with the host as SNI and in `Host`, no
 * certificate verification; on failure it says why and exits with the code curl gives that failure (7 refused, 28
 * timed out, 35 TLS handshake), so one reading of the codes serves both.
 */
const HTTPS_STATUS_PYTHON = [
  'import http.client, socket, ssl, sys',
  'host, port, path, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])',
  'context = ssl.create_default_context()',
  'context.check_hostname = False',
  'context.verify_mode = ssl.CERT_NONE',
  'class Loopback(http.client.HTTPSConnection):',
  '    def connect(self):',
  '        self.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout), server_hostname=host)',
  'def fail(code, error):',
  '    sys.stderr.write("python3: %s: %s" % (type(error).__name__, error))',
  '    sys.exit(code)',
  'try:',
  '    connection = Loopback(host, port, timeout=timeout, context=context)',
  '    connection.request("GET", path)',
  '    sys.stdout.write(str(connection.getresponse().status))',
  'except ssl.SSLError as error:',
  '    fail(35, error)',
  'except socket.timeout as error:',
  '    fail(28, error)',
  'except ConnectionRefusedError as error:',
  '    fail(7, error)',
  'except Exception as error:',
  '    fail(1, error)',
];

/**
 * `https_status HOST PORT PATH SECONDS`: one HTTPS request to this server itself for HOST (SNI and Host; any
 * certificate), printing the status it got; curl where the server has it, else python3. The playbook's proxy health
 * check (playbooks/proxy_switch_finish.yml) makes the same request the same two ways.
 */
export const HTTPS_STATUS = [
  'https_status() {',
  '  if command -v curl >/dev/null 2>&1; then',
  `    curl -ksS -o /dev/null -w '%{http_code}' --max-time "$4" --resolve "$1:$2:127.0.0.1" "https://$1:$2$3"`,
  '  else',
  `    python3 - "$@" <<'ZAVHOZ_PY'`,
  ...HTTPS_STATUS_PYTHON,
  'ZAVHOZ_PY',
  '  fi',
  '}',
];

// $1 folder, $2 container name, $3 image, $4 "check" (only bring a stopped proxy back) or "apply" (new config on stdin);
// a check also gets $5 the proxy's HTTPS port and $6 a host it routes, and sends one request through the proxy there.
// A proxy that runs the configured image is reloaded gracefully (`caddy reload` through the admin socket: open
// connections finish on the old config); one that is stopped is started again; one on another image is replaced.
// Host networking: the proxy reaches every module's published port, and listens on the server's own ports.
const SCRIPT = [
  `command -v docker >/dev/null 2>&1 || { echo ${PROXY_MARK.noDocker}; exit 3; }`,
  'dir=$1; name=$2; image=$3; mode=$4; port=${5:-}; host=${6:-}',
  'umask 077',
  `mkdir -p "$dir/config" "$dir/data" 2>/dev/null && chmod 700 "$dir" || { echo ${PROXY_MARK.noFolder}; exit 1; }`,
  `if [ "$mode" = apply ]; then { cat > "$dir/config/caddy.json.new" && mv -f "$dir/config/caddy.json.new" "$dir/config/caddy.json"; } 2>/dev/null || { echo ${PROXY_MARK.noFolder}; exit 1; }; fi`,
  `[ -f "$dir/config/caddy.json" ] || { echo "${PROXY_MARK.failed}no config yet"; exit 4; }`,
  `report_version() { echo "${PROXY_MARK.version}$(docker exec "$name" caddy version 2>/dev/null | head -n 1)"; }`,
  ...HTTPS_STATUS,
  // A running container with its admin socket is not yet a proxy that serves: a request on its HTTPS port for a host
  // it routes (on the server itself, so the name need not resolve; any certificate, any status) says whether it does.
  // Retried for a few seconds: a proxy just started may still be making its certificates.
  'probe() {',
  '  [ "$mode" = check ] && [ -n "$host" ] || return 0',
  `  command -v curl >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || { echo "${PROXY_MARK.unprobed}neither curl nor python3 on the server"; return 0; }`,
  '  tries=0',
  '  while :; do',
  `    out=$(https_status "$host" "$port" / 3 2>&1) && { echo "${PROXY_MARK.serves}$out"; return 0; }`,
  '    code=$?; tries=$((tries + 1)); [ "$tries" -ge 8 ] && break; sleep 0.5',
  '  done',
  `  echo "${PROXY_MARK.notServing}$code $(printf "%s" "\${out%000}" | tr '\\n' ' ' | cut -c1-300)"`,
  '}',
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
  '    probe',
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
  'probe',
].join('\n');

/** The command line that writes the config from stdin and (re)starts or reloads the proxy. */
export function applyCommand(name: string, image: string): string {
  return remoteCommand(SCRIPT, [proxyFolder(name), name, image, 'apply']);
}

/**
 * The command line that only brings a stopped or missing proxy back, with the config it has, and then sends a request
 * through it for `probe.host` on `probe.port` (no request without a probe: nothing routes through it).
 */
export function checkCommand(name: string, image: string, probe?: { readonly host: string; readonly port: number }): string {
  return remoteCommand(SCRIPT, [proxyFolder(name), name, image, 'check', ...(probe ? [String(probe.port), probe.host] : [])]);
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

/** What a check's request through the proxy found. */
export type ProxyProbe = { readonly serves: true; readonly status: number } | { readonly serves: false; readonly why: string } | { readonly serves: null; readonly why: string };

/** What the script reported: the action, or why it failed. */
export function parseOutcome(stdout: string): {
  action?: ProxyAction | 'running';
  version?: string;
  failure?: string;
  probe?: ProxyProbe;
  noDocker: boolean;
  noFolder: boolean;
} {
  const lines = stdout.split('\n');
  const action = lines.find((line) => line.startsWith(PROXY_MARK.action))?.slice(PROXY_MARK.action.length).trim();
  // `caddy version` prints `v2.6.2 h1:…`: the first word is the version; anything odd is not shown.
  const version = /^v?\d+\.\d+[\w.+-]{0,40}$/.exec(lines.find((line) => line.startsWith(PROXY_MARK.version))?.slice(PROXY_MARK.version.length).trim().split(/\s+/)[0] ?? '')?.[0];
  const failure = lines.find((line) => line.startsWith(PROXY_MARK.failed));
  const probe = probeOf(lines);
  return {
    ...(action ? { action: action as ProxyAction | 'running' } : {}),
    ...(version ? { version } : {}),
    ...(failure ? { failure: [failure.slice(PROXY_MARK.failed.length), ...lines.slice(lines.indexOf(failure) + 1)].join(' ').trim() } : {}),
    ...(probe ? { probe } : {}),
    noDocker: lines.includes(PROXY_MARK.noDocker),
    noFolder: lines.includes(PROXY_MARK.noFolder),
  };
}

/** The probe's line: an HTTP status, or the exit code and message of curl (or python3), or why none was sent. */
function probeOf(lines: readonly string[]): ProxyProbe | undefined {
  const line = lines.find((entry) => entry.startsWith(PROXY_MARK.serves) || entry.startsWith(PROXY_MARK.notServing) || entry.startsWith(PROXY_MARK.unprobed));
  if (line === undefined) return undefined;
  if (line.startsWith(PROXY_MARK.serves)) {
    const status = Number(line.slice(PROXY_MARK.serves.length).trim());
    return Number.isInteger(status) && status >= 100 && status < 600 ? { serves: true, status } : { serves: false, why: `no HTTP status in its answer (${line.slice(PROXY_MARK.serves.length, PROXY_MARK.serves.length + 40)})` };
  }
  if (line.startsWith(PROXY_MARK.unprobed)) return { serves: null, why: line.slice(PROXY_MARK.unprobed.length).trim() };
  const [code = '', ...message] = line.slice(PROXY_MARK.notServing.length).trim().split(' ');
  const text = message.join(' ').trim();
  const tool = text.startsWith('python3:') ? 'python3' : 'curl';
  return { serves: false, why: `${text || 'no answer'} (${tool} exit ${code})` };
}
