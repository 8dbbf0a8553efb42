#!/usr/bin/env bash
# The dashboard's test drives a real headless Chromium. Install Debian's
# chromium when it is missing, so that `make test` works on a fresh machine.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
"$(dirname "$0")/apt-install.sh" chromium || {
  echo "chromium is missing: install Debian's chromium package and re-run" >&2
  exit 1
}
