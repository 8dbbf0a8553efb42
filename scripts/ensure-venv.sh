#!/usr/bin/env bash
# ensure-venv.sh DIR PYTHON: make DIR a virtual environment of PYTHON unless
# it already is a working one. Debian and Ubuntu mark their python3
# "externally managed" (pip refuses to install into it), so the project's
# packages live in a venv; the distribution's python3 lacks the venv
# machinery (ensurepip) until python3-venv is installed, which this script
# does from Debian packages when it can.
set -euo pipefail
dir=${1:?usage: ensure-venv.sh DIR PYTHON}
python=${2:-python3}

if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import pip' >/dev/null 2>&1; then
  exit 0
fi
if ! command -v "$python" >/dev/null 2>&1; then
  echo "$python is missing: install Python 3.11+ (Debian/Ubuntu: apt-get install python3 python3-venv), or pass PYTHON=/path/to/python3 to make" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$python cannot create virtual environments (no venv/ensurepip module) and this machine has no apt-get: install the venv module for it, or pass PYTHON=/path/to/python3 to make" >&2
    exit 1
  fi
  # python3-venv names the default python3's; python3.X-venv is the one
  # of this interpreter's version, whichever is the default.
  pkg=python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv
  echo "installing $pkg from Debian packages (for $python -m venv)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq "$pkg" >/dev/null
fi
echo "creating the virtual environment $dir with $("$python" --version 2>&1) ($(command -v "$python"))"
"$python" -m venv --clear "$dir"
