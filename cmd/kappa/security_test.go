package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// Attacks on the transport of a secure cluster of real processes, each
// refused with a clear error while the cluster carries on.

func startCluster(t *testing.T, o proccluster.Options) *proccluster.Cluster {
	t.Helper()
	o.Binary, o.Dir = nodetest.KappaBinary(t), t.TempDir()
	o.ServerArgs = append([]string{"--log-level", "info"}, o.ServerArgs...)
	c, err := proccluster.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(5 * time.Second) })
	return c
}

// mixedCertsDir is a client certs dir that trusts the cluster's CA but
// holds a client certificate another CA signed.
func mixedCertsDir(t *testing.T, c *proccluster.Cluster) string {
	t.Helper()
	other, err := tlsconf.CreateCA(filepath.Join(t.TempDir(), "ca"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mallory")
	if err := other.IssueClient(dir, "mallory", tlsconf.RoleAdmin, time.Hour); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(c.CertsDir(), tlsconf.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tlsconf.CAFile), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The API port speaks TLS only: a plaintext client, a client that does
// not trust the cluster's CA, and one whose certificate another CA signed
// get nothing; the cluster's admin does. `kappa status` says tls.
func TestAPIRefusesPlaintextAndStrangers(t *testing.T) {
	c := startCluster(t, proccluster.Options{Nodes: 1})
	api := c.Nodes[0].APIAddr
	admin := []string{"KAPPA_CERTS_DIR=" + c.CertsDir()}
	if r := kappaEnv(t, admin, "status", "--cluster", api); r.code != 0 || !strings.Contains(r.stdout, "n1") || !strings.Contains(r.stdout, " tls") {
		t.Fatalf("the admin's status: %+v", r)
	}
	strangerCA := filepath.Join(t.TempDir(), "ca")
	if r := kappa(t, "cert", "create-ca", "--dir", strangerCA); r.code != 0 {
		t.Fatal(r)
	}
	if r := kappa(t, "cert", "create-client", "eve", "--role", "admin", "--dir", strangerCA); r.code != 0 {
		t.Fatal(r)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"plaintext", []string{"KAPPA_CERTS_DIR="}, []string{"--insecure"}, "could serve the request"},
		{"another CA's client, trusting only its own", []string{"KAPPA_CERTS_DIR=" + filepath.Join(strangerCA, "eve")}, nil, "not valid for this cluster"},
		{"another CA's client certificate", []string{"KAPPA_CERTS_DIR=" + mixedCertsDir(t, c)}, nil, "could serve the request"},
	} {
		r := kappaEnv(t, tc.env, append([]string{"cluster", "members", "--cluster", api, "--timeout", "3s"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want a refusal containing %q", tc.name, r.code, r.stderr, tc.want)
		}
		t.Logf("%s: %s", tc.name, strings.TrimSpace(r.stderr))
	}
	if r := kappaEnv(t, admin, "cluster", "members", "--cluster", api); r.code != 0 {
		t.Fatalf("the cluster stopped serving its admin: %+v", r)
	}
}

// A node started with --insecure says so at start and in `kappa status`.
func TestInsecureNodeSaysSo(t *testing.T) {
	c := startCluster(t, proccluster.Options{Nodes: 1, Insecure: true})
	r := kappa(t, "status", "--cluster", c.Nodes[0].APIAddr, "--insecure")
	if r.code != 0 || !strings.Contains(r.stdout, "INSECURE") {
		t.Fatalf("status: %+v", r)
	}
	if log := c.Log(c.Nodes[0]); !strings.Contains(log, "INSECURE: this node serves its API, Raft and metrics in plaintext") {
		t.Fatalf("no warning at start:\n%s", log)
	}
	if r := kappa(t, "status", "--cluster", c.Nodes[0].APIAddr); r.code != 2 || !strings.Contains(r.stderr, "--insecure for a cluster started with --insecure") {
		t.Fatalf("a client with neither certificates nor --insecure: %+v", r)
	}
}

// The Raft port of a running cluster refuses a stranger (another CA's
// node certificate), a client certificate of the cluster's own CA, and a
// real node certificate speaking for another node, each sending a vote
// request and an append with a huge term: the leader stays leader in its
// term, and each refusal is logged once however often it is tried.
func TestRaftPortRefusesForgedPeers(t *testing.T) {
	c := startCluster(t, proccluster.Options{Nodes: 3})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.Status(leader, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var member *proccluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			member = n
			break
		}
	}
	load := func(dir string) *tlsconf.Certs {
		certs, err := tlsconf.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return certs
	}
	other, err := tlsconf.CreateCA(filepath.Join(t.TempDir(), "ca"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	strangerDir := filepath.Join(t.TempDir(), member.ID)
	if err := other.IssueNode(strangerDir, member.ID, []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(c.CertsDir(), tlsconf.CAFile))
	if err := os.WriteFile(filepath.Join(strangerDir, tlsconf.CAFile), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	memberCerts, err := c.IssueNode(member.ID)
	if err != nil {
		t.Fatal(err)
	}
	adminPair, err := load(c.CertsDir()).Certificate(tlsconf.ClientPair)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := load(c.CertsDir()).Pool()
	attackers := []struct {
		name   string
		cfg    raftgrpc.Config
		claims string
	}{
		{"another CA's node certificate", raftgrpc.Config{Certs: load(strangerDir)}, member.ID},
		{"the cluster's admin client certificate", raftgrpc.Config{TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
			Certificates: []tls.Certificate{*adminPair}}}, member.ID},
		{"a member's node certificate speaking for the leader", raftgrpc.Config{Certs: load(memberCerts)}, leader.ID},
	}
	term := before.GetTerm()
	for _, a := range attackers {
		a.cfg.LocalAddr, a.cfg.Timeout, a.cfg.HeartbeatTimeout = "127.0.0.1:1", 3*time.Second, 3*time.Second
		a.cfg.Logger = slog.New(slog.DiscardHandler)
		tr, err := raftgrpc.New(a.cfg)
		if err != nil {
			t.Fatal(err)
		}
		header := raft.RPCHeader{ID: []byte(a.claims), Addr: []byte(member.RaftAddr)}
		for range 3 {
			err := tr.RequestVote(raft.ServerID(leader.ID), raft.ServerAddress(leader.RaftAddr),
				&raft.RequestVoteRequest{RPCHeader: header, Term: term + 1000, LastLogIndex: 1 << 40, LastLogTerm: term + 1000}, &raft.RequestVoteResponse{})
			if err == nil {
				t.Fatalf("%s: a forged RequestVote was answered", a.name)
			}
			err = tr.AppendEntries(raft.ServerID(leader.ID), raft.ServerAddress(leader.RaftAddr),
				&raft.AppendEntriesRequest{RPCHeader: header, Term: term + 1000, Entries: []*raft.Log{{Index: 1 << 40, Term: term + 1000}}},
				&raft.AppendEntriesResponse{})
			if err == nil {
				t.Fatalf("%s: a forged AppendEntries was answered", a.name)
			}
			t.Logf("%s: %v", a.name, err)
		}
		tr.Close()
	}
	after, err := c.Status(leader, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(after.GetRaftState(), "leader") || after.GetTerm() != term {
		t.Fatalf("the forged RPCs moved the leader: state %s term %d (was leader in term %d)", after.GetRaftState(), after.GetTerm(), term)
	}
	// The TLS handshake itself stops another CA's certificate; the other
	// two are refused by the transport, once in the log each.
	log := c.Log(leader)
	if n := strings.Count(log, "refused a Raft RPC"); n != 2 {
		t.Errorf("the leader logged %d refusals, want 2 (one per forged peer):\n%s", n, log)
	}
	for _, want := range []string{"presents the admin certificate of", "presents the node certificate of \\\"" + member.ID + "\\\" but speaks for \\\"" + leader.ID} {
		if !strings.Contains(log, want) {
			t.Errorf("the leader's log lacks %q", want)
		}
	}
	// The cluster still works.
	if r := kappaEnv(t, []string{"KAPPA_CERTS_DIR=" + c.CertsDir()}, "cluster", "members", "--cluster", strings.Join(c.Addrs(), ",")); r.code != 0 || strings.Count(r.stdout, "true") != 3 {
		t.Fatalf("members after the attack: %+v", r)
	}
}

// The metrics port serves metrics only to clients with a certificate of the
// cluster and profiles (with --pprof) to an admin certificate only; its
// health endpoints are anonymous.
func TestMetricsPort(t *testing.T) {
	metrics, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, proccluster.Options{Nodes: 1, ServerArgs: []string{"--metrics-addr", metrics, "--pprof"}})
	base, admin, err := c.NodeHTTP(metrics)
	if err != nil {
		t.Fatal(err)
	}
	readerDir, err := c.IssueClient("prometheus", tlsconf.RoleReader)
	if err != nil {
		t.Fatal(err)
	}
	readerCerts, err := tlsconf.Load(readerDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := readerCerts.ClientConfig(tlsconf.ClientOptions{Pair: &tlsconf.ClientPair, Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	reader := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	noCert := cfg.Clone()
	noCert.GetClientCertificate = nil
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}}

	get := func(client *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(admin, "/metrics"); code != 200 || !strings.Contains(body, "kappa_is_leader") {
		t.Errorf("admin /metrics: %d", code)
	}
	if code, body := get(reader, "/metrics"); code != 200 || !strings.Contains(body, "kappa_is_leader") {
		t.Errorf("reader /metrics: %d", code)
	}
	if code, body := get(anonymous, "/metrics"); code != http.StatusUnauthorized || !strings.Contains(body, "certificate") {
		t.Errorf("no client certificate: %d %s", code, body)
	}
	for _, path := range []string{"/livez", "/readyz"} {
		if code, body := get(anonymous, path); code != 200 {
			t.Errorf("anonymous %s: %d %s", path, code, body)
		}
	}
	if code, body := get(reader, "/debug/pprof/"); code != http.StatusForbidden {
		t.Errorf("reader /debug/pprof/: %d %s", code, body)
	}
	if code, _ := get(admin, "/debug/pprof/"); code != 200 {
		t.Errorf("admin /debug/pprof/: %d", code)
	}
	if code, _ := get(http.DefaultClient, "/metrics"); code != 0 {
		t.Errorf("plain https without trusting the CA was served: %d", code)
	}
}

// Without --pprof there are no profiles, even for an admin.
func TestNoProfilesWithoutTheFlag(t *testing.T) {
	metrics, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, proccluster.Options{Nodes: 1, ServerArgs: []string{"--metrics-addr", metrics}})
	base, admin, err := c.NodeHTTP(metrics)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.Get(base + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ without --pprof: %d", resp.StatusCode)
	}
}

// lambda-local serves HTTPS and runs only requests signed with its key:
// unsigned, badly signed and unknown-key requests get 403 with Lambda's
// error types, and plain HTTP gets nothing.
func TestLambdaLocalRefusesUnsignedInvokes(t *testing.T) {
	addr, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, proccluster.Options{Nodes: 1, LambdaLocal: proccluster.LambdaLocal{Addr: addr}})
	base, client, keyID, secret, err := c.LambdaHTTP()
	if err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"kappa": {"v": 1}}`)
	invoke := func(creds *lambdaapi.Credentials) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/2015-03-31/functions/kappa-worker/invocations", bytes.NewReader(event))
		if creds != nil {
			if err := lambdaapi.Sign(req, event, *creds, "local"); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body["message"]
	}
	for _, tc := range []struct {
		name  string
		creds *lambdaapi.Credentials
		want  string
	}{
		{"unsigned", nil, "MissingAuthenticationTokenException"},
		{"a wrong secret", &lambdaapi.Credentials{AccessKeyID: keyID, SecretAccessKey: "guess"}, "InvalidSignatureException"},
		{"an unknown key", &lambdaapi.Credentials{AccessKeyID: "AKIDMALLORY", SecretAccessKey: secret}, "UnrecognizedClientException"},
	} {
		status, code, msg := invoke(tc.creds)
		if status != http.StatusForbidden || code != tc.want || msg == "" {
			t.Errorf("%s: %d %s %q, want 403 %s", tc.name, status, code, msg, tc.want)
		}
	}
	// The key's own signature gets through to the function (whose worker
	// refuses this event as no Kappa invocation: a function error, 200).
	if status, code, _ := invoke(&lambdaapi.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}); status != http.StatusOK || code != "" {
		t.Errorf("a signed Invoke: %d %s", status, code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/2015-03-31/functions/kappa-worker/invocations", bytes.NewReader(event))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to lambda-local: %d", resp.StatusCode)
		}
	}
	if log, _ := os.ReadFile(c.LambdaLocal().LogPath()); strings.Count(string(log), "could not authenticate") != 3 {
		t.Errorf("lambda-local's log should show the 3 refusals:\n%s", log)
	}
}

// lambda-local refuses to start in a way that would serve anyone.
func TestLambdaLocalBadStarts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "127.0.0.1:0"}, "pass --certs-dir DIR"},
		{[]string{"--addr", "10.1.2.3:9001", "--insecure"}, "allowed on loopback addresses only"},
		{[]string{"--addr", "127.0.0.1:0", "--certs-dir", t.TempDir()}, "ca.crt does not exist"},
	} {
		r := kappa(t, append([]string{"lambda-local"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("lambda-local %v: exit %d, %q; want one line containing %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
