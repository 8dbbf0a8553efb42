#!/usr/bin/env bash
# The packaging test checks deploy/systemd/kappa.service with
# systemd-analyze. Install it from Debian packages when it is missing, so
# that `make test` checks the unit on a fresh machine too; where it cannot
# be installed the test skips and says why.
set -euo pipefail
command -v systemd-analyze >/dev/null 2>&1 && exit 0
"$(dirname "$0")/apt-install.sh" systemd || echo "systemd-analyze is missing: the systemd unit test will skip" >&2
