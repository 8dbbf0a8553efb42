#!/usr/bin/env bash
# Regenerates the Go and Python protobuf code (committed). One command:
#   make proto
# protoc comes from grpcio-tools (pip); the Go plugins are pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/bin/tools"
mkdir -p "$tools"
GOBIN="$tools" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN="$tools" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.1
# The exact grpcio-tools (and so protoc) that made the committed code, so
# `make lint` can check the committed code is what the .proto files give.
grpcio_tools=1.85.1
have=$(python3 -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || true)
[ "$have" = "$grpcio_tools" ] || python3 -m pip install -q "grpcio-tools==$grpcio_tools"
export PATH="$tools:$PATH"
mod=github.com/kappa-serverless/kappa

# The wire protocol: Go (transport/kappapb) and Python (python/kappa/v1).
python3 -m grpc_tools.protoc -I transport/proto \
  --go_out=. --go_opt=module=$mod \
  --go-grpc_out=. --go-grpc_opt=module=$mod \
  --python_out=python --grpc_python_out=python --pyi_out=python \
  transport/proto/kappa/v1/task.proto transport/proto/kappa/v1/client.proto transport/proto/kappa/v1/admin.proto
touch python/kappa/v1/__init__.py

# The FSM's commands and state: Go only.
python3 -m grpc_tools.protoc -I fsm/fsmpb \
  --go_out=. --go_opt=module=$mod \
  fsm/fsmpb/fsm.proto

# The Raft transport between nodes: Go only.
python3 -m grpc_tools.protoc -I transport/proto \
  --go_out=. --go_opt=module=$mod \
  --go-grpc_out=. --go-grpc_opt=module=$mod \
  transport/proto/kappa/raft/v1/raft.proto
echo "generated: transport/kappapb, python/kappa/v1, fsm/fsmpb, transport/raftpb"
