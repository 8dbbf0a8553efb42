# Kappa: run ordinary Python programs on time-bounded serverless functions.
#   make install   build bin/kappa and install the Python package (+ test deps)
#                  into the project's virtual environment .venv, made with
#                  $(PYTHON) (default python3; Debian's and Ubuntu's is fine)
#   make test      everything CI runs: Go and Python suites
#   make test-unit the quick tier (about a minute): Go under -short, the compiler/runtime/API/store suites
#   make proto     regenerate the committed protobuf code
#   make lint      the linters CI runs (pinned versions, installed on first use)
#   make fuzz      each Go fuzz target for FUZZTIME (default 20s), as CI does
#   make bench-peers  Kappa side by side with etcd, Temporal, Ray, Lithops and
#                  multiprocessing (installs them under ~/.cache/kappa-peers;
#                  QUICK=1 for a smoke run, SIZES=1000,10000); not part of make test
#   make jepsen    the long Jepsen-style run (DURATION=10m NODES=5 [SEED=N] [FAULTS=a,b]);
#                  its last line is the summary, non-zero exit when a check fails

PYTHON ?= python3
VENV   ?= .venv
GO     ?= go
VENV_PY := $(abspath $(VENV))/bin/python
# Go tests start `python3` from PATH: for test targets the venv's comes first.
VENV_PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install build python redis systemd promtool chromium test test-unit test-go test-python proto lint fuzz jepsen bench-peers

install: build python

# The source revision goes into `kappa version` (GOFLAGS may turn off Go's own VCS stamp).
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

build:
	$(GO) build -trimpath -ldflags "-X github.com/kappa-serverless/kappa/node.commit=$(COMMIT)" -o bin/kappa ./cmd/kappa

python:
	./scripts/ensure-venv.sh $(VENV) $(PYTHON)
	$(VENV_PY) -m pip install -q --disable-pip-version-check -e 'python[test]'

test: install redis systemd promtool chromium test-go test-python

redis:
	./scripts/ensure-redis.sh

systemd:
	./scripts/ensure-systemd.sh

promtool:
	./scripts/ensure-promtool.sh

# The dashboard's test drives a real headless Chromium.
chromium:
	./scripts/ensure-chromium.sh

test-go test-python test-unit: export PATH := $(VENV_PATH)

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 45m ./...

test-python:
	cd python && $(VENV_PY) -m pytest -q -n auto

# protoc (grpcio-tools) and ruff are pip packages: they go into the venv.
proto lint: export PATH := $(VENV_PATH)

# No cluster, worker process or redis-server: Go tests that need one skip
# under -short, and the Python suites that start coordinators are left out.
PYTHON_UNIT = tests/compiler tests/runtime tests/api tests/store/test_store.py

test-unit: python
	$(GO) test -short -count=1 ./...
	cd python && $(VENV_PY) -m pytest -q -n auto $(PYTHON_UNIT)

proto:
	./scripts/ensure-venv.sh $(VENV) $(PYTHON)
	./scripts/genproto.sh

# gofmt, go vet, staticcheck, the import rule, ruff, generated code up to date.
lint:
	./scripts/ensure-venv.sh $(VENV) $(PYTHON)
	PYTHON=$(VENV_PY) ./scripts/lint.sh

# The fuzz targets (package:function); their seed corpora are in each
# package's testdata/fuzz, and a crasher found is fixed and kept there.
FUZZ_TARGETS = ./fsm:FuzzApply ./fsm:FuzzRestore ./checkpoint:FuzzBundle ./checkpoint:FuzzEnvelope \
	./lambda/lambdaapi:FuzzInvokeFront ./node/internal/boltcheck:FuzzCheck
FUZZTIME ?= 20s

fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
	$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg > fuzz.log 2>&1 || { cat fuzz.log; exit 1; }; \
	grep execs fuzz.log | tail -1; done; rm -f fuzz.log

DURATION ?= 10m
NODES    ?= 5
JEPSEN_REPORT ?= $(CURDIR)/jepsen-report

jepsen: install
	rm -f $(JEPSEN_REPORT)/summary.txt
	PATH="$(VENV_PATH)" KAPPA_JEPSEN_LONG=1 KAPPA_JEPSEN_DURATION=$(DURATION) KAPPA_JEPSEN_NODES=$(NODES) \
	KAPPA_JEPSEN_SEED=$(SEED) KAPPA_JEPSEN_FAULTS=$(FAULTS) KAPPA_JEPSEN_REPORT=$(JEPSEN_REPORT) \
	$(GO) test -count=1 -timeout 0 -v -run '^TestLong$$' ./jepsen-style-tests/jepsen > $(JEPSEN_REPORT).log 2>&1; \
	rc=$$?; grep -E '^ +run.go|^ +[0-9.]+[mµn]?s +[a-z-]+ ' $(JEPSEN_REPORT).log | sed 's/^ *run.go:[0-9]*: //'; \
	if [ -f $(JEPSEN_REPORT)/summary.txt ]; then cat $(JEPSEN_REPORT)/summary.txt; \
	else tail -40 $(JEPSEN_REPORT).log; echo "jepsen: the run did not finish (log: $(JEPSEN_REPORT).log)"; fi; \
	exit $$rc

bench-peers:
	./scripts/bench-peers.sh
