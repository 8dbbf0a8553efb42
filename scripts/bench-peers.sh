#!/usr/bin/env bash
# Kappa side by side with its peers (make bench-peers; not part of make test).
#
# Installs or builds the peers into $KAPPA_PEERS (default
# $HOME/.cache/kappa-peers; never committed), then runs the same work on
# each peer and on Kappa, alternating, and prints one table of ratios:
#   etcd         built from its Go modules (server and client, $ETCD_VERSION)
#   temporal     the CLI's dev server from its Go module ($TEMPORAL_CLI_VERSION),
#                file-backed SQLite, driven by the temporalio Python SDK
#   restate      restate-server from its npm package ($RESTATE_VERSION), driven
#                by the restate-sdk Python SDK served by hypercorn
#   ray, lithops from PyPI, into a venv under the cache
#   multiprocessing  the floor
# A peer that cannot be installed is reported as "unavailable: <reason>".
#
#   QUICK=1       a smoke run: small sizes, short durations
#   SIZES=1000,10000  fan-out sizes (default 1000)
#   ONLY=a,b      only these parts: fanout, steps, rpc, failover
#   KAPPA_ONLY=1  no peers at all (what the test runs)
#   INSTALL_ONLY=1  install the peers and stop
#   KAPPA_BIN=path  use this kappa binary (and $PYTHON, else python3) instead of make build
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${KAPPA_PEERS:-$HOME/.cache/kappa-peers}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
RESTATE_VERSION="${RESTATE_VERSION:-1.7.12}"
PYPI_PEERS="${PYPI_PEERS:-ray==2.60.0 lithops==3.8.0 temporalio==1.35.0 restate-sdk==1.3.0 hypercorn==0.18.0}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -n "${KAPPA_BIN:-}" ] && PY="${PYTHON:-python3}"
mkdir -p "$PEERS/bin" "$PEERS/status"

# unavailable NAME REASON: recorded for the driver's table.
unavailable() { echo "$2" > "$PEERS/status/$1"; echo "bench-peers: $1 unavailable: $2" >&2; }
available() { rm -f "$PEERS/status/$1"; }

install_etcd() {
	local mod="$PEERS/etcd-$ETCD_VERSION"
	if [ -x "$PEERS/bin/etcd" ] && [ -x "$PEERS/bin/etcdload" ] && [ -f "$mod/.done" ]; then
		available etcd; return
	fi
	mkdir -p "$mod/server" "$mod/load"
	# The sources carry an ignore tag so Kappa's own build skips them.
	sed '/^\/\/go:build ignore$/d' "$ROOT/scripts/peers/etcdserver.go" > "$mod/server/main.go"
	sed '/^\/\/go:build ignore$/d' "$ROOT/scripts/peers/etcdload.go" > "$mod/load/main.go"
	if ! ( cd "$mod" && rm -f go.mod go.sum && go mod init kappa-peers/etcd >/dev/null 2>&1 &&
		go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/client/v3@$ETCD_VERSION" &&
		go mod tidy && go build -o "$PEERS/bin/etcd" ./server &&
		go build -o "$PEERS/bin/etcdload" ./load ) > "$PEERS/etcd-build.log" 2>&1; then
		unavailable etcd "go build of go.etcd.io/etcd/server/v3@$ETCD_VERSION failed ($(tail -1 "$PEERS/etcd-build.log"))"
		return
	fi
	touch "$mod/.done"; available etcd
}

install_temporal() {
	if [ -x "$PEERS/bin/temporal" ]; then available temporal; return; fi
	# The CLI may need a newer Go than this machine's: only this build gets
	# the approved toolchain, taken from the Go module proxy.
	if ! GOBIN="$PEERS/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" > "$PEERS/temporal-build.log" 2>&1 &&
		! GOTOOLCHAIN=go1.27.3 GOBIN="$PEERS/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >> "$PEERS/temporal-build.log" 2>&1; then
		unavailable temporal "go install github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION failed ($(tail -1 "$PEERS/temporal-build.log"))"
		return
	fi
	available temporal
}

install_restate() {
	if [ -x "$PEERS/bin/restate-server" ] && "$PEERS/bin/restate-server" --version 2>/dev/null | grep -q "$RESTATE_VERSION"; then
		available restate; return
	fi
	# The server's binary is published on npm, one package per platform.
	local tmp; tmp="$(mktemp -d)"
	if ! ( cd "$tmp" && npm pack -q "@restatedev/restate-server-linux-x64@$RESTATE_VERSION" &&
		tar xzf ./*.tgz && install -m 0755 package/bin/restate-server "$PEERS/bin/restate-server" ) > "$PEERS/restate-install.log" 2>&1; then
		unavailable restate "npm pack @restatedev/restate-server-linux-x64@$RESTATE_VERSION failed ($(tail -1 "$PEERS/restate-install.log"))"
	else
		available restate
	fi
	rm -rf "$tmp"
}

install_pypi() {
	if [ ! -x "$PEERS/venv/bin/python" ] && ! python3 -m venv "$PEERS/venv" > "$PEERS/pip.log" 2>&1; then
		for p in ray lithops temporalio restate-sdk; do unavailable "$p" "python3 -m venv failed"; done
		return
	fi
	# Each on its own, so one that fails to install leaves the others.
	for spec in $PYPI_PEERS; do
		name="${spec%%=*}"
		if "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "$spec" >> "$PEERS/pip.log" 2>&1; then
			available "$name"
		else
			unavailable "$name" "pip install $spec failed ($(tail -1 "$PEERS/pip.log"))"
		fi
	done
}

KAPPA="${KAPPA_BIN:-$ROOT/bin/kappa}"
if [ -z "${KAPPA_BIN:-}" ]; then
	make -C "$ROOT" -s build python >&2 || exit 1
fi
if [ -z "${KAPPA_ONLY:-}" ]; then
	echo "bench-peers: installing peers into $PEERS (first run: several minutes)" >&2
	install_etcd
	install_temporal
	install_restate
	install_pypi
	[ -x "$PEERS/venv/bin/python" ] && PY="$PEERS/venv/bin/python"
	[ -n "${INSTALL_ONLY:-}" ] && exit 0
fi
# Kappa's workers run the python3 found first on PATH: the project's venv.
[ -d "$ROOT/.venv/bin" ] && export PATH="$ROOT/.venv/bin:$PATH"
exec nice -n 5 "$PY" "$ROOT/scripts/bench_peers.py" --kappa "$KAPPA" --peers "$PEERS" "$@"
