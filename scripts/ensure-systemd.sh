#!/usr/bin/env bash
# The packaging test checks deploy/systemd/kappa.service with
# systemd-analyze. Install it from Debian packages when it is missing, so
# that `make test` checks the unit on a fresh machine too (the test skips,
# saying why, where it cannot be installed).
set -euo pipefail
command -v systemd-analyze >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "systemd-analyze is missing and this machine has no apt-get: the systemd unit test will skip" >&2
  exit 0
fi
echo "installing systemd (for systemd-analyze) from Debian packages"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends systemd >/dev/null || echo "could not install systemd: the systemd unit test will skip" >&2
