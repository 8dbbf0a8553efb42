#!/usr/bin/env bash
# The linters CI runs, all in one command:
#   make lint
# gofmt, go vet, staticcheck, the import rule of docs/architecture.md, ruff
# on python/, and a check that the committed protobuf code is what
# `make proto` makes from the .proto files. Every tool is pinned here; the
# Go ones go into bin/tools, the Python ones into the project's Python
# environment (.venv when it exists, else $PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
staticcheck_version=v0.7.0 # 2026.1, the first that reads go 1.26
ruff_version=0.17.6

tools="$PWD/bin/tools"
py=${PYTHON:-python3}
if [ "$py" = python3 ] && [ -x .venv/bin/python ]; then
  py="$PWD/.venv/bin/python"
fi
py=$(command -v "$py") || { echo "lint: no Python at ${PYTHON:-python3}" >&2; exit 1; }
pybin=$(cd "$(dirname "$py")" && pwd) # absolute, symlinks kept: a venv's python is one
py="$pybin/$(basename "$py")"
# scripts/genproto.sh runs python3: make it this environment's.
PATH="$pybin:$PATH"
export PATH

failed=()
step() { echo "lint: $1"; }
fail() { echo "lint: FAILED: $1" >&2; failed+=("$1"); }

step "gofmt"
unformatted=$(git ls-files --cached --others --exclude-standard '*.go' | xargs gofmt -l)
if [ -n "$unformatted" ]; then
  echo "$unformatted" | sed 's/^/  needs gofmt -w: /' >&2
  fail "gofmt"
fi

step "go vet"
go vet ./... || fail "go vet"

step "staticcheck $staticcheck_version"
if [ "$("$tools/staticcheck" -version 2>/dev/null | grep -o 'v[0-9.]*')" != "$staticcheck_version" ]; then
  GOBIN="$tools" go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$tools/staticcheck" ./... || fail "staticcheck"

step "import rule (docs/architecture.md, \"Who may import whom\")"
go test -count=1 -run '^TestImportRule' ./cmd/kappa || fail "import rule"

step "ruff $ruff_version"
if [ "$("$py" -m ruff --version 2>/dev/null)" != "ruff $ruff_version" ]; then
  "$py" -m pip install -q --disable-pip-version-check "ruff==$ruff_version"
fi
(cd python && "$py" -m ruff check --quiet .) || fail "ruff (fix with: cd python && ruff check --fix .)"

step "generated protobuf code matches the .proto files"
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
mkdir -p "$gen/scripts" "$gen/fsm/fsmpb" "$gen/transport" "$gen/python"
cp scripts/genproto.sh "$gen/scripts/"
cp -r transport/proto "$gen/transport/"
cp fsm/fsmpb/fsm.proto "$gen/fsm/fsmpb/"
mkdir -p "$gen/bin" && ln -s "$tools" "$gen/bin/tools" # reuse the pinned plugins
if ! "$gen/scripts/genproto.sh" >/dev/null; then
  fail "make proto"
else
  for d in transport/kappapb transport/raftpb fsm/fsmpb python/kappa/v1; do
    diff -r -q -x __pycache__ "$gen/$d" "$d" >&2 || fail "generated code in $d is not what make proto makes: run make proto and commit"
  done
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: ${#failed[@]} failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: all passed"
