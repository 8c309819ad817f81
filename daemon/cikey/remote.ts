import crypto from 'node:crypto';

/**
 * What a CI deploy key may do on the server, and the scripts that set it up. Every value reaches a script as a
 * positional argument (`sh -c SCRIPT zavhoz ARG…`), never spliced into its text.
 *
 * The deploy user of a project logs in only with its key, whose `authorized_keys` line is
 * `restrict,command="/usr/local/lib/zavhoz/ci-deploy PROJECT"`: no pty, no port, agent or X11 forwarding, and
 * whatever command the client asks for, sshd runs the helper with the project fixed in the line. The helper accepts
 * only the request `deploy` and then runs itself as root through one sudoers rule that allows exactly
 * `ci-deploy PROJECT --root` for that user (root is needed to read the project's 0600 `.env` and to reach the
 * container engine). The user is in no group that grants anything (not `docker`: that would be root-equivalent
 * the day the user got a shell), its home and `authorized_keys` belong to root, and it has no password (`*`).
 */

/** Where the helper lives on the server (root-owned, 0755). */
export const CI_DEPLOY_HELPER = '/usr/local/lib/zavhoz/ci-deploy';
/**
 * Per project, the environment the helper's compose runs with (`PROJECT.env`): what Zavhoz's own session had when
 * it installed the key (DOCKER_HOST, DOCKER_CONFIG), so CI reaches the same engine and registry login as a deploy.
 */
export const CI_DEPLOY_ENVIRONMENTS = '/etc/zavhoz/ci-deploy';

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs `script` with `args` as $1…, whatever the login shell is; `sudo` prefixes `sudo -n`. */
export function remoteCommand(script: string, args: readonly string[], sudo = false): string {
  return [...(sudo ? ['sudo', '-n'] : []), 'sh', '-c', script, 'zavhoz', ...args].map(shellQuote).join(' ');
}

/**
 * The project's deploy user: `zd-` + the project name made a valid Linux user name (lower case, at most 20
 * characters) + 6 hex of its hash, so two projects never share one and the name stays within 32 characters.
 */
export function deployUserOf(project: string): string {
  const readable = project.toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 20);
  const hash = crypto.createHash('sha256').update(project).digest('hex').slice(0, 6);
  return `zd-${readable}-${hash}`;
}

/** Who Zavhoz is on the server: `root`, `sudo` (passwordless sudo works), or `none`. */
export const PRIVILEGE_SCRIPT = `
if [ "$(id -u)" = 0 ]; then echo root; exit 0; fi
if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo sudo; exit 0; fi
echo none
`;

/** How long a CI redeploy waits for a deploy of the same project that holds the project's server lock. */
export const CI_DEPLOY_LOCK_WAIT_SECONDS = 900;

/** The helper the forced command runs (installed from stdin by {@link INSTALL_SCRIPT}). */
export const CI_DEPLOY_HELPER_SCRIPT = `#!/bin/sh
# Zavhoz CI deploy: the one thing a project's CI key can do. sshd runs it as the project's deploy user, with the
# project fixed in authorized_keys (command="${CI_DEPLOY_HELPER} PROJECT"); it accepts the request "deploy" only,
# then runs itself as root through the user's single sudoers rule to pull and restart the project's containers.
set -eu
project=\${1:-}
case "$project" in ''|.*|*/*|*' '*) echo "ci-deploy: no valid project given" >&2; exit 2 ;; esac
if [ "\${2:-}" != "--root" ]; then
  request=\${SSH_ORIGINAL_COMMAND:-}
  if [ "$request" != "deploy" ]; then
    echo "Refused: this key can only redeploy $project (ssh ... deploy); it runs no shell and no other command." >&2
    exit 1
  fi
  exec sudo -n ${CI_DEPLOY_HELPER} "$project" --root
fi
if [ "$(id -u)" != 0 ]; then echo "ci-deploy: --root is for sudo only" >&2; exit 2; fi
if [ -f "${CI_DEPLOY_ENVIRONMENTS}/$project.env" ]; then set -a; . "${CI_DEPLOY_ENVIRONMENTS}/$project.env"; set +a; fi
dir=/opt/services/$project
if [ ! -d "$dir" ]; then echo "ci-deploy: $project is not deployed on this server ($dir is missing); deploy it with Zavhoz first." >&2; exit 1; fi
cd "$dir"
# The project's server lock, which a Zavhoz deploy's compose steps take too: the two never run compose for the
# project at the same time. compose inherits it, so a redeploy whose connection dropped keeps it until it ends.
lock=$dir/.zavhoz.lock
[ -e "$lock" ] || : >> "$lock"
exec 9<"$lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
  echo "ci-deploy: waiting for another deploy of $project on this server (from Zavhoz or CI) to finish..." >&2
  started=$(date +%s)
  if ! flock -w ${CI_DEPLOY_LOCK_WAIT_SECONDS} 9; then
    echo "ci-deploy: a deploy of $project has held its server lock ($lock) for more than ${CI_DEPLOY_LOCK_WAIT_SECONDS} s; try again once it has finished." >&2
    exit 1
  fi
  echo "ci-deploy: waited $(( $(date +%s) - started )) s for the other deploy of $project" >&2
fi
set -- -p "$project"
if [ -f .env ]; then set -- "$@" --env-file .env; fi
if [ -f infra/compose.base.yml ]; then
  set -- "$@" -f infra/compose.base.yml
  if [ -f infra/compose.prod.yml ]; then set -- "$@" -f infra/compose.prod.yml; fi
fi
if docker compose version >/dev/null 2>&1; then
  docker compose "$@" pull && exec docker compose "$@" up -d --remove-orphans
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose "$@" pull && exec docker-compose "$@" up -d --remove-orphans
fi
echo "ci-deploy: neither docker compose nor docker-compose is installed" >&2
exit 1
`;

/**
 * Installs (or re-installs) a project's deploy user: $1 project, $2 user, $3… the public key lines to allow (all of
 * them, and only them: a rotation passes the old and the new one, then the new one alone). The helper comes on
 * stdin. Idempotent; prints `nosudo` (and changes nothing) when sudo is missing, else `installed`.
 */
export const INSTALL_SCRIPT = `
set -eu
project=$1; user=$2; shift 2
PATH=$PATH:/usr/sbin:/sbin
if ! command -v sudo >/dev/null 2>&1 || [ ! -d /etc/sudoers.d ]; then cat >/dev/null; echo nosudo; exit 0; fi
umask 022
mkdir -p /usr/local/lib/zavhoz ${CI_DEPLOY_ENVIRONMENTS}
environment="${CI_DEPLOY_ENVIRONMENTS}/$project.env"
cat > ${CI_DEPLOY_HELPER}.new
chown root:root ${CI_DEPLOY_HELPER}.new; chmod 0755 ${CI_DEPLOY_HELPER}.new; mv -f ${CI_DEPLOY_HELPER}.new ${CI_DEPLOY_HELPER}
: > "$environment.new"
for name in DOCKER_HOST DOCKER_CONFIG; do
  eval "value=\\\${$name:-}"
  case "$value" in ''|*[!A-Za-z0-9_./:@-]*) ;; *) echo "$name=$value" >> "$environment.new" ;; esac
done
chmod 0644 "$environment.new"; mv -f "$environment.new" "$environment"
home=/var/lib/zavhoz-ci/$user
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --home-dir "$home" --no-create-home --shell /bin/sh --comment "Zavhoz CI deploy of $project" "$user"
fi
usermod -p '*' "$user"
mkdir -p "$home/.ssh"
chown root:root /var/lib/zavhoz-ci "$home" "$home/.ssh"; chmod 0755 /var/lib/zavhoz-ci "$home" "$home/.ssh"
: > "$home/.ssh/authorized_keys.new"
for key in "$@"; do
  printf 'restrict,command="${CI_DEPLOY_HELPER} %s" %s zavhoz-ci %s\\n' "$project" "$key" "$project" >> "$home/.ssh/authorized_keys.new"
done
chmod 0644 "$home/.ssh/authorized_keys.new"; mv -f "$home/.ssh/authorized_keys.new" "$home/.ssh/authorized_keys"
rule=/etc/sudoers.d/zavhoz-ci-$user
printf '%s ALL=(root) NOPASSWD: ${CI_DEPLOY_HELPER} %s --root\\n' "$user" "$project" > "$rule.new"
chmod 0440 "$rule.new"
if command -v visudo >/dev/null 2>&1 && ! visudo -cq -f "$rule.new" >/dev/null 2>&1; then rm -f "$rule.new"; echo "the sudoers rule for $user did not pass visudo" >&2; exit 1; fi
mv -f "$rule.new" "$rule"
echo installed
`;

/** Removes a project's deploy user, its home, sudoers rule and environment: $1 project, $2 user. Prints `removed` or `absent`. */
export const REMOVE_SCRIPT = `
set -eu
project=$1; user=$2
PATH=$PATH:/usr/sbin:/sbin
rm -f "/etc/sudoers.d/zavhoz-ci-$user" "${CI_DEPLOY_ENVIRONMENTS}/$project.env"
rm -rf "/var/lib/zavhoz-ci/$user"
if id -u "$user" >/dev/null 2>&1; then
  pkill -KILL -u "$user" >/dev/null 2>&1 || true
  userdel "$user"
  echo removed
else
  echo absent
fi
`;
