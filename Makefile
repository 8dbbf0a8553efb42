# Kappa: run ordinary Python programs on time-bounded serverless functions.
#   make install   build bin/kappa and install the Python package (+ test deps)
#   make test      everything CI runs: Go and Python suites
#   make proto     regenerate the committed protobuf code

PYTHON ?= python3
GO     ?= go

.PHONY: install build python test test-go test-python proto lint

install: build python

build:
	$(GO) build -o bin/kappa ./cmd/kappa

python:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e 'python[test]'

test: install test-go test-python

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

test-python:
	cd python && $(PYTHON) -m pytest -q -n auto

proto:
	./scripts/genproto.sh
