/**
 * The shell scripts an undeploy runs on the server, one per step, and the reading of what they print. Every value
 * reaches a script as a positional argument (`sh -c SCRIPT zavhoz ARG…`), never spliced into its text. Each script
 * prints one `key value` line per thing it found or did; anything else goes to stderr.
 *
 * Compose is found as the deploy playbook finds it (the v2 plugin, else v1), and UFW and root as its `ufw_command`
 * does (root directly, else `sudo -n`: an error rather than a prompt; sbin added to the PATH).
 */

/** `key value` lines of a script's output, in order. */
export function parseLines(stdout: string): { key: string; value: string }[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const space = line.indexOf(' ');
      return space < 0 ? { key: line, value: '' } : { key: line.slice(0, space), value: line.slice(space + 1) };
    });
}

const PRELUDE = 'PATH="$PATH:/usr/sbin:/sbin"; project="$1"; label="label=com.docker.compose.project=$project"; dir="/opt/services/$project";';

/**
 * $1 project, $2 keep data (1/0). Reports the project's containers' images (`image NAME ID`), networks and volumes,
 * runs `compose down --remove-orphans` (with `-v` unless keeping data) in the project folder when its compose files
 * are there, then removes whatever of the project is left by its compose label: containers (with their anonymous
 * volumes), networks and, unless keeping data, named volumes. Prints `left N` with the containers still there.
 */
export const CONTAINERS_SCRIPT = `${PRELUDE}
keep="$2"
if ! command -v docker >/dev/null 2>&1; then echo "nodocker"; exit 0; fi
ids=$(docker ps -aq --filter "$label") || exit 1
for id in $ids; do
  docker inspect --format 'image {{.Config.Image}} {{.Image}}' "$id" || exit 1
  docker inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}mount {{.Name}}{{println}}{{end}}{{end}}' "$id" || exit 1
  echo "container $id"
done
for network in $(docker network ls -q --filter "$label"); do echo "network $network"; done
for volume in $(docker volume ls -q --filter "$label"); do echo "volume $volume"; done
if docker compose version >/dev/null 2>&1; then compose="docker compose";
elif command -v docker-compose >/dev/null 2>&1; then compose="docker-compose";
else compose=""; fi
if [ -n "$compose" ] && [ -f "$dir/infra/compose.base.yml" ]; then
  set -- -p "$project"
  if [ -f "$dir/.env" ]; then set -- "$@" --env-file .env; fi
  set -- "$@" -f infra/compose.base.yml
  if [ -f "$dir/infra/compose.prod.yml" ]; then set -- "$@" -f infra/compose.prod.yml; fi
  set -- "$@" down --remove-orphans -t 10
  if [ "$keep" != 1 ]; then set -- "$@" -v; fi
  if (cd "$dir" && $compose "$@") >&2; then echo "compose down"; else echo "compose failed"; fi
fi
left=$(docker ps -aq --filter "$label")
if [ -n "$left" ]; then docker rm -f -v $left >&2 || true; fi
for network in $(docker network ls -q --filter "$label"); do docker network rm "$network" >&2 || true; done
if [ "$keep" != 1 ]; then
  for volume in $(docker volume ls -q --filter "$label"); do docker volume rm -f "$volume" >&2 || true; done
fi
echo "left $(docker ps -aq --filter "$label" | wc -l)"
for volume in $(docker volume ls -q --filter "$label"); do echo "kept $volume"; done
`;

/**
 * $1 keep data (1/0), then a volume name per argument (the volumes the containers had mounted). With data kept, a
 * mounted volume that compose did not create as a named volume is anonymous and goes; without, every one still
 * there goes. Prints `removed NAME` / `kept NAME`.
 */
export const VOLUMES_SCRIPT = `keep="$1"; shift
for volume in "$@"; do
  docker volume inspect "$volume" >/dev/null 2>&1 || continue
  named=$(docker volume inspect --format '{{index .Labels "com.docker.compose.volume"}}' "$volume" 2>/dev/null)
  if [ "$keep" = 1 ] && [ -n "$named" ] && [ "$named" != "<no value>" ]; then echo "kept $volume"; continue; fi
  if docker volume rm "$volume" >&2; then echo "removed $volume"; else echo "kept $volume"; fi
done
`;

/**
 * Pairs of arguments: an image name a container of the project ran, and its id. An image no container (of any
 * project) uses any more is removed by that name; one still in use is kept. Prints `removed`/`kept`/`failed NAME`.
 */
export const IMAGES_SCRIPT = `while [ "$#" -ge 2 ]; do
  name="$1"; id="$2"; shift 2
  if [ -n "$(docker ps -aq --filter "ancestor=$id")" ]; then echo "kept $name"; continue; fi
  docker image inspect "$name" >/dev/null 2>&1 || continue
  if docker rmi "$name" >&2; then echo "removed $name"; else echo "failed $name"; fi
done
`;

/** $1 project. Removes /opt/services/<project> (through `sudo -n` if the user may not). Prints `absent` or `removed`. */
export const FOLDER_SCRIPT = `${PRELUDE}
if [ ! -e "$dir" ]; then echo "absent"; exit 0; fi
rm -rf "$dir" 2>/dev/null || { [ "$(id -u)" -ne 0 ] && sudo -n rm -rf "$dir"; }
if [ -e "$dir" ]; then echo "left $dir"; exit 1; fi
echo "removed"
`;

/**
 * Ports as arguments. Deletes each port's `allow PORT/tcp` UFW rule (root or `sudo -n`). No UFW: `notinstalled`.
 * Prints `deleted PORT`, `absent PORT` (there was no such rule) or `error TEXT` (UFW could not be used).
 */
export const FIREWALL_SCRIPT = `PATH="$PATH:/usr/sbin:/sbin"
if ! command -v ufw >/dev/null 2>&1; then echo "notinstalled"; exit 0; fi
run_ufw() { if [ "$(id -u)" -eq 0 ]; then ufw "$@"; else sudo -n ufw "$@"; fi; }
if ! status=$(run_ufw status 2>&1); then echo "error $(echo "$status" | head -n 1)"; exit 0; fi
for port in "$@"; do
  if out=$(run_ufw delete allow "$port/tcp" 2>&1); then
    case "$out" in *non-existent*) echo "absent $port";; *) echo "deleted $port";; esac
  else
    echo "error $(echo "$out" | head -n 1)"
  fi
done
`;
