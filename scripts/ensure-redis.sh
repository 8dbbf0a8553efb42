#!/usr/bin/env bash
# The tests run a real redis-server. Install it from Debian packages when it
# is missing, so that `make test` works on a fresh machine.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
"$(dirname "$0")/apt-install.sh" redis-server || {
  echo "redis-server is missing: install redis-server (7.x) and re-run" >&2
  exit 1
}
