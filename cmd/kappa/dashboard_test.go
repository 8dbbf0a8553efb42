package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// The dashboard in a real headless Chromium: a reader signs in with a
// token, sees the members (one leader) and a running job whose progress
// moves without a reload, the job's task tree and timeline; when the
// leader's process is killed, the members table of a surviving node shows
// the new leader and the old one unreachable. Screenshots go to
// $KAPPA_TEST_ARTIFACTS (or a dir under the test's temp dir).

// dashboardJob runs long enough to watch: four workers that finish one
// after another.
const dashboardJob = `
import time
from kappa import checkpoint, spawn, wait


def work(i):
    for _ in range(15 + 15 * i):
        time.sleep(0.1)
        checkpoint()
    return i


def handler(event, context):
    futures = []
    for i in range(4):
        futures.append(spawn(work, (i,)))
    return sum(wait(futures))
`

// chromium finds Debian's chromium, installing it when missing (skips,
// saying why, only when there is no apt to install it with).
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("chromium is not installed and this machine has no apt-get to install it (Debian's chromium package)")
	}
	if out, err := exec.Command(filepath.Join("..", "..", "scripts", "ensure-chromium.sh")).CombinedOutput(); err != nil {
		t.Fatalf("installing chromium: %v\n%s", err, out)
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("scripts/ensure-chromium.sh ran but chromium is not on PATH")
	}
	return p
}

// artifacts is where the test's screenshots go.
func artifacts(t *testing.T) string {
	dir := os.Getenv("KAPPA_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	} else {
		dir = filepath.Join(dir, t.Name())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDashboardInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and a browser")
	}
	browser := chromium(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	reader := createToken(t, tokens, "watcher", "reader")
	// Every address distinct (a free port is free until someone takes it).
	addrs := map[string]bool{}
	var list []string
	for len(list) < 10 {
		a, err := proccluster.FreeAddr("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if !addrs[a] {
			addrs[a] = true
			list = append(list, a)
		}
	}
	uiAddrs := list[6:9]
	c := startCluster(t, proccluster.Options{Nodes: 3, ServerArgs: []string{"--token-file", tokens},
		LambdaLocal: proccluster.LambdaLocal{Addr: list[9]},
		Addrs: func(i int) (string, string, []string, error) {
			return list[2*i], list[2*i+1], []string{"--ui-addr", uiAddrs[i]}, nil
		}})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	watched := c.Nodes[(leader.Index+1)%3] // a follower: it outlives the leader
	base := "https://" + uiAddrs[watched.Index]
	checkDashboardAuth(t, c, base)

	job := nodetest.Submit(t, c.Client(), dashboardJob, `{}`, "dashboard-demo", 0)
	checkSubmitterSeesOwnJobs(t, c, base, job)
	shots := artifacts(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		// The dashboard's certificate is the cluster's own CA's, which
		// this throwaway browser profile does not hold.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		run("evaluating "+js, chromedp.Evaluate(js, out))
	}
	shot := func(name string) {
		t.Helper()
		var png []byte
		run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what, js string) {
		t.Helper()
		var ok bool
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if eval(js, &ok); ok {
				return
			}
		}
		shot("timeout")
		var page string
		eval(`document.body.innerText`, &page)
		t.Fatalf("%s: not within 60s (screenshot in %s); the page:\n%s", what, shots, page)
	}

	// Signing in: the form, a wrong token refused, the reader's accepted.
	run("starting the browser")
	run("opening the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#token", chromedp.ByID))
	run("a wrong token", chromedp.SendKeys("#token", "not-a-token", chromedp.ByID), chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("#login-error", chromedp.ByID))
	run("signing in", chromedp.SendKeys("#token", reader, chromedp.ByID), chromedp.Submit("#token", chromedp.ByID),
		chromedp.WaitVisible("#members", chromedp.ByID))
	waitFor("three members, one leading", fmt.Sprintf(
		`document.querySelectorAll('#members tbody tr').length === 3 && document.querySelector('#members tr.role-leader')?.dataset.node === %q`, leader.ID))
	var user string
	eval(`document.querySelector('.user').innerText`, &user)
	if !strings.Contains(user, `reader "watcher"`) {
		t.Fatalf("the header names %q, not the signed-in reader", user)
	}

	// The running job's progress moves while the page refreshes itself.
	row := fmt.Sprintf(`document.querySelector('#jobs tr[data-job="%d"]')`, job)
	done := func() int {
		var n int
		eval(`Number(`+row+`?.querySelector('.count')?.dataset.done ?? -1)`, &n)
		return n
	}
	waitFor("the job listed as running", row+`?.classList.contains('state-running') === true`)
	var loaded string
	eval(`document.body.dataset.updated || ''`, &loaded)
	first := done()
	shot("1-overview-running")
	waitFor("the job's progress moving", fmt.Sprintf(`Number(%s?.querySelector('.count')?.dataset.done) > %d`, row, first))
	var refreshed string
	eval(`document.body.dataset.updated || ''`, &refreshed)
	if refreshed == "" || refreshed == loaded {
		t.Fatal("the progress moved without the page refreshing itself: was it reloaded?")
	}
	t.Logf("progress moved from %d to %d tasks done", first, done())

	// The job's page: task tree, timeline, its end.
	run("opening the job", chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", base, job)), chromedp.WaitVisible("#tasks", chromedp.ByID))
	waitFor("the task tree: a root and its four workers", `document.querySelectorAll('#tasks > li').length === 1 && document.querySelectorAll('#tasks > li > ul > li').length === 4`)
	waitFor("the timeline", `[...document.querySelectorAll('#events td')].some(td => td.innerText.startsWith('job submitted'))`)
	waitFor("the job succeeding", `document.querySelector('#state')?.innerText === 'succeeded' && document.querySelector('#result')?.innerText === '6'`)
	waitFor("every task done in the tree", `[...document.querySelectorAll('#tasks li')].every(li => li.classList.contains('state-done'))`)
	shot("2-job-succeeded")

	// A failover: the leader's process dies; the follower's dashboard shows
	// the new leader and the old one unreachable.
	run("back to the overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#members", chromedp.ByID))
	c.Kill(leader)
	waitFor("a new leader on the members page", fmt.Sprintf(
		`(() => { const l = document.querySelector('#members tr.role-leader'); const old = document.querySelector('#members tr[data-node=%q]');
		  return !!l && l.dataset.node !== %q && old?.classList.contains('role-unreachable') && document.querySelector('#leader').innerText === l.dataset.node; })()`,
		leader.ID, leader.ID))
	var newLeader string
	eval(`document.querySelector('#members tr.role-leader').dataset.node`, &newLeader)
	t.Logf("failover shown: %s → %s; screenshots in %s", leader.ID, newLeader, shots)
	shot("3-after-failover")
}

// checkDashboardAuth: no credentials, no page; the admin's client
// certificate is enough; the login form refuses a token that is not the
// cluster's.
func checkDashboardAuth(t *testing.T, c *proccluster.Cluster, base string) {
	t.Helper()
	_, admin, err := c.NodeHTTP(strings.TrimPrefix(base, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: admin.Transport.(*http.Transport).TLSClientConfig.Clone()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	anon.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	anon.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = nil
	get := func(cl *http.Client, path string) (int, string, string) {
		resp, err := cl.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := get(anon, "/"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("without credentials: %d to %q, want a redirect to /login", code, loc)
	}
	if code, _, _ := get(anon, "/jobs/1?partial=1"); code != http.StatusUnauthorized {
		t.Fatalf("a refresh without credentials: %d, want 401", code)
	}
	if code, _, body := get(admin, "/"); code != http.StatusOK || !strings.Contains(body, `id="members"`) || !strings.Contains(body, "signed in as admin &#34;admin&#34; (certificate)") {
		t.Fatalf("with the admin certificate: %d\n%s", code, body)
	}
	resp, err := anon.PostForm(base+"/login", url.Values{"token": {"kappa_nope"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("a wrong token: %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// checkSubmitterSeesOwnJobs: a submitter's certificate signs in, but the
// admin's job is neither listed nor shown to it.
func checkSubmitterSeesOwnJobs(t *testing.T, c *proccluster.Cluster, base string, job uint64) {
	t.Helper()
	dir, err := c.IssueClient("sam", tlsconf.RoleSubmitter)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := tlsconf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := certs.ClientConfig(tlsconf.ClientOptions{Pair: &tlsconf.ClientPair, ServerRole: tlsconf.RoleNode, Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	sam := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	for path, want := range map[string]int{"/": http.StatusOK, fmt.Sprintf("/jobs/%d", job): http.StatusNotFound} {
		resp, err := sam.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || strings.Contains(string(b), "dashboard-demo") {
			t.Fatalf("a submitter's %s: %d, want %d without the admin's job\n%s", path, resp.StatusCode, want, b)
		}
	}
}
