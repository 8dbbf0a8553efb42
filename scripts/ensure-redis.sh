#!/usr/bin/env bash
# The tests run a real redis-server. Install it from Debian packages when it
# is missing, so that `make test` works on a fresh machine.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing and this machine has no apt-get: install redis-server (7.x) and re-run" >&2
  exit 1
fi
echo "installing redis-server from Debian packages"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq redis-server >/dev/null
