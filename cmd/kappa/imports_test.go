package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The import rule of docs/architecture.md ("Who may import whom"):
// cmd → node → {fsm, transport, lambda, checkpoint}; fsm imports nothing of
// ours but its generated types; lambda and checkpoint know nothing of Raft;
// jepsen-style-tests drives real processes and speaks the client API;
// nothing imports cmd. `make lint` runs this test.

const module = "github.com/kappa-serverless/kappa"

// folderRule says what the packages of one top-level folder may import of
// ours. A path ending in "/..." stands for that folder and everything under
// it; any other path is that one package.
type folderRule struct {
	may     []string // non-test code
	testMay []string // tests, in addition to may
	// notRaft: the folder knows nothing of Raft, not even through a
	// library.
	notRaft bool
}

var importRule = map[string]folderRule{
	"cmd": {may: []string{"cmd/...", "node/...", "fsm/...", "transport/...", "lambda/...", "checkpoint/..."},
		// The CLI's end-to-end tests start clusters with the Jepsen harness.
		testMay: []string{"jepsen-style-tests/..."}},
	// node sees the lambda platform only through package lambda's
	// interface, never a backend.
	"node": {may: []string{"node/...", "fsm/...", "transport/...", "lambda", "checkpoint"},
		// Tests run real local-lambda workers and a real Redis.
		testMay: []string{"lambda/...", "checkpoint/..."}},
	"fsm":        {may: []string{"fsm/fsmpb"}},
	"transport":  {may: []string{"transport/..."}},
	"lambda":     {may: []string{"lambda/..."}, notRaft: true},
	"checkpoint": {may: []string{"checkpoint/..."}, notRaft: true},
	// The harness runs kappa processes with node's launcher, shares node's
	// test helpers and speaks lambda-local's HTTP API (lambdaapi's message
	// types); it never links a node or a platform in.
	"jepsen-style-tests": {may: []string{"jepsen-style-tests/...", "node/proccluster", "node/nodetest", "lambda/lambdaapi",
		"transport/kappaclient", "transport/kappapb", "checkpoint/..."}},
}

// raftPrefix covers hashicorp/raft and its libraries (raft-boltdb, ...).
const raftPrefix = "github.com/hashicorp/raft"

// goPackage is what the check needs of `go list -json`.
type goPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// importViolations checks every package of the module against the rule
// and returns one line per forbidden import.
func importViolations(pkgs []goPackage) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := ours(p.ImportPath)
		if !ok {
			continue
		}
		folder, _, _ := strings.Cut(rel, "/")
		rule, known := importRule[folder]
		if !known {
			out = append(out, fmt.Sprintf("%s: folder %s/ has no import rule; add it to importRule in cmd/kappa/imports_test.go and docs/architecture.md", rel, folder))
			continue
		}
		check := func(imports []string, test bool) {
			for _, imp := range imports {
				if imp == p.ImportPath {
					continue // an external test imports the package it tests
				}
				if msg := rule.forbids(imp, test); msg != "" {
					kind := ""
					if test {
						kind = " (in a test)"
					}
					out = append(out, fmt.Sprintf("%s imports %s%s: %s", rel, strings.TrimPrefix(imp, module+"/"), kind, msg))
				}
			}
		}
		check(p.Imports, false)
		check(p.TestImports, true)
		check(p.XTestImports, true)
	}
	return out
}

// forbids says why rule forbids importing imp, or "" when it does not.
func (rule folderRule) forbids(imp string, test bool) string {
	if rule.notRaft && (imp == raftPrefix || strings.HasPrefix(imp, raftPrefix+"/") || strings.HasPrefix(imp, raftPrefix+"-")) {
		return "this folder knows nothing of Raft"
	}
	rel, ok := ours(imp)
	if !ok {
		return ""
	}
	allowed := rule.may
	if test {
		allowed = append(append([]string(nil), rule.may...), rule.testMay...)
	}
	for _, a := range allowed {
		if tree, ok := strings.CutSuffix(a, "/..."); ok && (rel == tree || strings.HasPrefix(rel, tree+"/")) || rel == a {
			return ""
		}
	}
	return "it may import only " + strings.Join(allowed, ", ") + ` of ours (docs/architecture.md, "Who may import whom")`
}

// ours returns a package path relative to the module, and whether it is
// one of ours.
func ours(path string) (string, bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

// listModule runs `go list` over the whole module.
func listModule(t *testing.T) []goPackage {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = strings.TrimSpace(string(root))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./... in %s: %v\n%s", cmd.Dir, err, stderr.String())
	}
	var pkgs []goPackage
	for dec := json.NewDecoder(bytes.NewReader(raw)); ; {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRule(t *testing.T) {
	pkgs := listModule(t)
	// The list must be the real module, or the check proves nothing.
	var nodeImportsFSM bool
	for _, p := range pkgs {
		if p.ImportPath == module+"/node" {
			for _, imp := range p.Imports {
				nodeImportsFSM = nodeImportsFSM || imp == module+"/fsm"
			}
		}
	}
	if len(pkgs) < 10 || !nodeImportsFSM {
		t.Fatalf("go list found %d packages and node importing fsm: %v; is this the kappa module?", len(pkgs), nodeImportsFSM)
	}
	for _, v := range importViolations(pkgs) {
		t.Error(v)
	}
}

// The checker that TestImportRule runs finds each kind of planted
// violation, and nothing in a list that keeps the rule.
func TestImportRuleCatchesViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	clean := []goPackage{
		{ImportPath: m("cmd/kappa"), Imports: []string{m("node"), m("lambda/awslambda"), m("transport/raftgrpc"), raftPrefix},
			TestImports: []string{m("jepsen-style-tests/harness")}},
		{ImportPath: m("node"), Imports: []string{m("fsm"), m("fsm/fsmpb"), m("lambda"), m("checkpoint"), m("transport/kappapb"), raftPrefix, raftPrefix + "-boltdb/v2"},
			TestImports: []string{m("lambda/local")}},
		{ImportPath: m("fsm"), Imports: []string{m("fsm/fsmpb"), "sort"}, XTestImports: []string{m("fsm")}},
		{ImportPath: m("lambda/awslambda"), Imports: []string{m("lambda"), "github.com/aws/smithy-go"}},
		{ImportPath: m("checkpoint"), TestImports: []string{m("checkpoint/redistest")}},
		{ImportPath: m("jepsen-style-tests/jepsen"), Imports: []string{m("jepsen-style-tests/harness"), m("transport/kappaclient"), m("checkpoint")}},
	}
	if v := importViolations(clean); len(v) != 0 {
		t.Fatalf("a list that keeps the rule was refused:\n%s", strings.Join(v, "\n"))
	}
	for _, c := range []struct {
		pkg  goPackage
		want string
	}{
		{goPackage{ImportPath: m("node"), Imports: []string{m("lambda/awslambda")}}, "node imports lambda/awslambda: it may import only"},
		{goPackage{ImportPath: m("fsm"), Imports: []string{m("transport/kappapb")}}, "fsm imports transport/kappapb"},
		{goPackage{ImportPath: m("fsm"), TestImports: []string{m("node")}}, "fsm imports node (in a test)"},
		{goPackage{ImportPath: m("lambda/local"), Imports: []string{raftPrefix}}, "knows nothing of Raft"},
		{goPackage{ImportPath: m("checkpoint"), XTestImports: []string{raftPrefix + "-boltdb/v2"}}, "knows nothing of Raft"},
		{goPackage{ImportPath: m("lambda"), Imports: []string{m("node")}}, "lambda imports node"},
		{goPackage{ImportPath: m("checkpoint"), Imports: []string{m("fsm")}}, "checkpoint imports fsm"},
		{goPackage{ImportPath: m("node"), TestImports: []string{m("cmd/kappa")}}, "node imports cmd/kappa (in a test)"},
		{goPackage{ImportPath: m("transport/raftgrpc"), Imports: []string{m("node")}}, "transport/raftgrpc imports node"},
		{goPackage{ImportPath: m("jepsen-style-tests/jepsen"), Imports: []string{m("node")}}, "jepsen-style-tests/jepsen imports node"},
		{goPackage{ImportPath: m("examples/tool")}, "folder examples/ has no import rule"},
	} {
		v := importViolations(append(append([]goPackage(nil), clean...), c.pkg))
		if len(v) != 1 || !strings.Contains(v[0], c.want) {
			t.Errorf("planted %+v: got %q, want one violation containing %q", c.pkg, v, c.want)
		}
	}
}
