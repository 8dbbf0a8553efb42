#!/bin/sh
# The image's build steps. deploy/container/Containerfile runs them with
# ROOT=/; the packaging test runs them into a temporary ROOT laid out like
# the image, and runs a job from there.
#   build.sh go SRC ROOT       the kappa binary    → ROOT/usr/local/bin/kappa
#   build.sh python SRC ROOT   the worker runtime  → ROOT/opt/kappa/venv
set -eu
if [ $# -ne 3 ]; then
  echo "usage: build.sh go|python SRC ROOT" >&2
  exit 2
fi
step=$1 src=$2 root=$3
case $step in
go)
  mkdir -p "$root/usr/local/bin"
  cd "$src"
  go build -trimpath -ldflags "-X github.com/kappa-serverless/kappa/node.commit=${KAPPA_COMMIT:-unknown}" \
    -o "$root/usr/local/bin/kappa" ./cmd/kappa
  ;;
python)
  # pip builds in the source tree; build from a copy, so SRC stays clean.
  copy=$(mktemp -d)
  trap 'rm -rf "$copy"' EXIT
  cp -r "$src/python" "$copy/python"
  rm -rf "$copy/python/build" "$copy"/python/*.egg-info
  python3 -m venv "$root/opt/kappa/venv"
  "$root/opt/kappa/venv/bin/pip" install --quiet --disable-pip-version-check "$copy/python"
  ;;
*)
  echo "build.sh: unknown step $step (go or python)" >&2
  exit 2
  ;;
esac
