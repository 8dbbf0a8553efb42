#!/usr/bin/env bash
# apt-install.sh PACKAGE…: install Debian packages (as root, or with sudo),
# quietly. The ensure-*.sh scripts call it for a tool that is missing.
set -euo pipefail
if ! command -v apt-get >/dev/null 2>&1; then
  echo "this machine has no apt-get: install $* by hand" >&2
  exit 1
fi
echo "installing $* from Debian packages"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "$@" >/dev/null
