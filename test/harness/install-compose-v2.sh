#!/usr/bin/env bash
# Installs the compose v2 plugin (`docker compose`) for the deploy tests, from Debian trixie's docker-compose
# package: Debian 12 ships only compose v1 (`docker-compose` 1.29), and real servers mostly have v2, so the deploy
# is tested with both. The package is fetched with apt from a private sources list and state folder, so the
# machine's own apt configuration and package database stay untouched; only the plugin binary is installed.
#
# Usage: test/harness/install-compose-v2.sh [PLUGIN_FOLDER]
#   PLUGIN_FOLDER defaults to .test-tools/cli-plugins of the repository, where the test harness finds it and gives
#   it only to the test hosts that ask for v2 (sshd.ts, `docker.composeV2`), so v1-only hosts stay possible.
#   /usr/local/lib/docker/cli-plugins installs it for every docker client of the machine instead.
#   Safe to re-run: does nothing when the plugin is there. Root is not needed for the default folder.
set -euo pipefail

target="${1:-$(cd "$(dirname "$0")/../.." && pwd)/.test-tools/cli-plugins}"
if [ -x "$target/docker-compose" ] && "$target/docker-compose" version >/dev/null 2>&1; then
  "$target/docker-compose" version
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/preferences.d"
cat > "$work/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
apt_options=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::Etc::PreferencesParts=$work/preferences.d"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Get::List-Cleanup=0"
  # The private folders belong to the caller; apt's download user could not write them.
  -o "APT::Sandbox::User=$(id -un)"
)
apt-get "${apt_options[@]}" update -qq
(cd "$work" && apt-get "${apt_options[@]}" download -qq docker-compose)
dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
plugin="$work/root/usr/libexec/docker/cli-plugins/docker-compose"
if [ ! -x "$plugin" ]; then
  echo "error: trixie's docker-compose package has no cli plugin at usr/libexec/docker/cli-plugins/docker-compose" >&2
  exit 1
fi
mkdir -p "$target"
install -m 0755 "$plugin" "$target/docker-compose"
"$target/docker-compose" version
