"""Driver of scripts/bench-peers.sh: the same work on Kappa and on each peer,
alternating, and one table of ratios at the end.

Works: fan-out/fan-in of trivial tasks, a chain of sequential durable steps
with 10 KB of state, committed RPCs at 1/16/128 clients, leader SIGKILL to
the first committed write. Each peer's run is a child process of this
script (``--child KIND``) so one peer's runtime never shares a process with
another's. A peer that is not installed is a row "unavailable: <reason>".
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from peers_children import percentile  # noqa: E402

FANOUT_PROGRAM = '''
import time
from kappa import map_spawn, wait


def one(i):
    return i


def handler(event, context):
    t0 = time.time()
    total = sum(wait(map_spawn(one, range(event["n"]))))
    return {"sum": total, "seconds": time.time() - t0}
'''

STEPS_PROGRAM = '''
import time
from array import array
from kappa import checkpoint


def handler(event, context):
    steps, size = event["steps"], event["size"]
    state = bytearray(size)
    times = array("d", [0.0] * steps)
    for i in range(steps):
        t = time.perf_counter()
        state[i % size] = (state[i % size] + 1) % 256
        checkpoint()
        times[i] = time.perf_counter() - t
    return {"times": list(times)}
'''


# The server a Python SDK peer needs (each installed, or not, on its own).
SERVER_OF = {"temporalio": "temporal", "restate-sdk": "restate"}

# Why a Temporal variant may stall (see docs/benchmarks.md).
TEMPORAL_STALLS = {
    "local": "local activity results are recorded in the workflow task that ran them: 500 results of 10 KB "
             "overrun what one workflow task completion may carry",
}


class Bench:
    def __init__(self, args):
        self.a = args
        self.rows = []  # dicts, see add
        self.tmp = tempfile.mkdtemp(prefix="kappa-peers-")
        for name, src in (("fanout.py", FANOUT_PROGRAM), ("steps.py", STEPS_PROGRAM)):
            with open(os.path.join(self.tmp, name), "w") as f:
                f.write(src)

    def log(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def unavailable(self, peer):
        """The reason a peer cannot run here, or None."""
        if peer == "multiprocessing":
            return None  # the standard library's: always here
        if self.a.kappa_only:
            return "not run (KAPPA_ONLY)"
        path = os.path.join(self.a.peers, "status", peer)
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        return None

    def add(self, work, system, text, value=None, note="", ref=False, higher=False):
        """One result. `value` is what the ratio compares (lower is better
        unless `higher`); `ref` marks Kappa's result the others compare to."""
        self.rows.append({"work": work, "system": system, "text": text, "value": value, "note": note, "ref": ref,
                          "higher": higher})
        self.log(f"{work} | {system} | {text} | {note}")

    # --- Kappa ---------------------------------------------------------

    def kappa_run(self, program, event, cluster=None):
        cmd = [self.a.kappa, "run", os.path.join(self.tmp, program), "--event", json.dumps(event), "--quiet"]
        if cluster:
            cmd += ["--cluster", cluster["addrs"], "--certs-dir", cluster["certs"]]
        else:
            # Workers warm before the job, as the peers' workers are started
            # before their timing begins (Ray's start is timed apart).
            cmd += ["--provisioned", "8"]
        t = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err)
            # wait4: the process's own peak RSS (the embedded leader's; its
            # workers are separate, smaller Python processes).
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
            out.seek(0)
            err.seek(0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"kappa run {program} failed: {err.read().decode()[-2000:]}")
            res = json.loads(out.read())
        res["rss_mb"] = usage.ru_maxrss / 1024
        return res, wall

    def dev_cluster_start(self):
        d = os.path.join(self.tmp, "dev-cluster")
        shutil.rmtree(d, ignore_errors=True)
        proc = subprocess.Popen([self.a.kappa, "dev-cluster", "--nodes", "3", "--dir", d, "--base-port",
                                 str(self.a.base_port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in proc.stdout:
            m = re.match(r"export KAPPA_CLUSTER=(\S+) KAPPA_CERTS_DIR=(\S+)", line.strip())
            if m:
                return {"proc": proc, "addrs": m.group(1), "certs": m.group(2)}
        raise RuntimeError("kappa dev-cluster exited before it was ready")

    @staticmethod
    def dev_cluster_stop(c):
        c["proc"].send_signal(signal.SIGINT)
        try:
            c["proc"].wait(30)
        except subprocess.TimeoutExpired:
            c["proc"].kill()
            c["proc"].wait()

    # --- peers run as child processes -----------------------------------

    def child(self, kind, *args, timeout=3600):
        cmd = [sys.executable, os.path.join(HERE, "peers_children.py"), kind, *map(str, args)]
        env = {**os.environ, "KAPPA_PEERS": self.a.peers,
               # Lithops's localhost runner starts `python` from PATH: the peers' venv's.
               "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
        # A session of its own: on a time-out its servers (Temporal's) go with it.
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
        if p.returncode != 0:
            raise RuntimeError(f"{kind} failed: {err[-1500:]}")
        return json.loads(out.strip().splitlines()[-1])

    # --- fan-out ---------------------------------------------------------

    def fanout(self):
        for n in self.a.sizes:
            work = f"fan-out/fan-in of {n:,} trivial tasks"
            for rnd in range(self.a.rounds):
                # Kappa first on even rounds, peers first on odd ones.
                order = ["kappa", "peers"] if rnd % 2 == 0 else ["peers", "kappa"]
                for part in order:
                    if part == "kappa":
                        res, wall = self.kappa_run("fanout.py", {"n": n})
                        assert res["sum"] == n * (n - 1) // 2, res
                        self.add(work, "Kappa, embedded default", f"{res['seconds']:.2f} s in the job", res["seconds"],
                                 ref=True,
                                 note=f"{wall:.2f} s for the whole `kappa run`; peak RSS {res['rss_mb']:.0f} MB")
                    else:
                        self.fanout_peers(work, n, rnd)
            if not self.a.quick:
                c = self.dev_cluster_start()
                try:
                    res, wall = self.kappa_run("fanout.py", {"n": n}, cluster=c)
                finally:
                    self.dev_cluster_stop(c)
                self.add(work, "Kappa, 3-node dev cluster", f"{res['seconds']:.2f} s in the job",
                         res["seconds"], f"{wall:.2f} s for `kappa run --cluster`")

    def fanout_peers(self, work, n, rnd):
        for peer, kind, cap in (("multiprocessing", "mp-fanout", 10**9), ("ray", "ray-fanout", 10**9),
                                ("temporalio", "temporal-fanout", self.a.temporal_max),
                                ("restate-sdk", "restate-fanout", 10**9),
                                ("lithops", "lithops-fanout", self.a.lithops_max)):
            label = {"mp-fanout": "multiprocessing.Pool (2 processes)", "ray-fanout": "Ray local",
                     "temporal-fanout": "Temporal dev server, one activity per task",
                     "restate-fanout": "Restate server, one service call per task",
                     "lithops-fanout": "Lithops localhost"}[kind]
            why = self.unavailable(peer) or self.unavailable(SERVER_OF.get(peer, peer))
            if why:
                self.add(work, label, f"unavailable: {why}")
                continue
            if peer == "lithops" and rnd > 0:
                continue  # minutes a run: once is enough
            if n > cap:
                self.add(work, label, f"not run: above this peer's size cap {cap:,} (its 1,000-task time × "
                                      f"{n // 1000} would take too long here; raise --lithops-max/--temporal-max)")
                continue
            try:
                r = self.child(kind, n)
            except Exception as e:  # noqa: BLE001 - a failing peer is a row, not a crash
                self.add(work, label, f"failed: {str(e).splitlines()[-1][:200]}")
                continue
            note = f"+{r['start']:.2f} s start" if r.get("start") else ""
            self.add(work, label, f"{r['seconds']:.2f} s", r["seconds"], note)

    # --- durable steps ---------------------------------------------------

    def steps(self):
        steps, size = self.a.steps, 10 * 1024
        work = f"{steps} sequential durable steps, 10 KB state: p50 / p99 per step"
        for rnd in range(self.a.rounds):
            order = ["kappa", "peers"] if rnd % 2 == 0 else ["peers", "kappa"]
            for part in order:
                if part == "kappa":
                    res, _ = self.kappa_run("steps.py", {"steps": steps, "size": size})
                    p50, p99 = percentile(res["times"], 50), percentile(res["times"], 99)
                    self.add(work, "Kappa `checkpoint()`, embedded default", f"{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms",
                             p50, ref=True)
                else:
                    self.steps_peers(work, steps, size)
        if not self.a.quick:
            c = self.dev_cluster_start()
            try:
                res, _ = self.kappa_run("steps.py", {"steps": steps, "size": size}, cluster=c)
            finally:
                self.dev_cluster_stop(c)
            p50, p99 = percentile(res["times"], 50), percentile(res["times"], 99)
            self.add(work, "Kappa `checkpoint()`, 3-node dev cluster", f"{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms",
                     p50)

    def steps_peers(self, work, steps, size):
        r = self.child("fsync-steps", steps, size)
        self.add(work, "floor: write + fsync a 10 KB file", f"{r['p50'] * 1e3:.2f} / {r['p99'] * 1e3:.2f} ms",
                 r["p50"])
        why = self.unavailable("temporalio") or self.unavailable("temporal")
        for variant, label in (("activity", "Temporal, one activity per step (default server)"),
                               ("activity-tuned", "Temporal, one activity per step (tuned server)"),
                               ("local", "Temporal, one local activity per step")):
            if why:
                self.add(work, label, f"unavailable: {why}")
                continue
            try:
                # Bounded: at 100 ms a step it is done in steps/10 s.
                r = self.child("temporal-steps", steps, size, variant, timeout=60 + steps * 0.3)
            except subprocess.TimeoutExpired as e:
                self.add(work, label, f"failed: no result within {e.timeout:.0f} s",
                         note=TEMPORAL_STALLS.get(variant, ""))
                continue
            except Exception as e:  # noqa: BLE001
                self.add(work, label, f"failed: {(str(e).strip().splitlines() or ['?'])[-1][:200]}")
                continue
            self.add(work, label, f"{r['p50'] * 1e3:.2f} / {r['p99'] * 1e3:.2f} ms", r["p50"],
                     r.get("note", ""))
        label = "Restate, one `ctx.run` per step"
        why = self.unavailable("restate-sdk") or self.unavailable("restate")
        if why:
            self.add(work, label, f"unavailable: {why}")
            return
        try:
            r = self.child("restate-steps", steps, size, timeout=60 + steps * 0.3)
        except Exception as e:  # noqa: BLE001
            self.add(work, label, f"failed: {(str(e).strip().splitlines() or ['?'])[-1][:200]}")
            return
        self.add(work, label, f"{r['p50'] * 1e3:.2f} / {r['p99'] * 1e3:.2f} ms", r["p50"])

    # --- committed RPCs and failover (etcd) -----------------------------

    def etcd_start(self, heartbeat=100, election=1000):
        d = os.path.join(self.tmp, "etcd")
        shutil.rmtree(d, ignore_errors=True)
        base = self.a.base_port + 500
        peers = ",".join(f"e{i}=http://127.0.0.1:{base + 10 + i}" for i in range(3))
        members = []
        for i in range(3):
            args = [os.path.join(self.a.peers, "bin", "etcd"), "--name", f"e{i}", "--data-dir", f"{d}/e{i}",
                    "--listen-client-urls", f"http://127.0.0.1:{base + i}",
                    "--advertise-client-urls", f"http://127.0.0.1:{base + i}",
                    "--listen-peer-urls", f"http://127.0.0.1:{base + 10 + i}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{base + 10 + i}",
                    "--initial-cluster", peers, "--initial-cluster-state", "new", "--initial-cluster-token", "bench",
                    "--heartbeat-interval", str(heartbeat), "--election-timeout", str(election),
                    "--log-level", "error"]
            members.append({"args": args, "url": f"http://127.0.0.1:{base + i}"})
        for m in members:
            m["proc"] = subprocess.Popen(m["args"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eps = ",".join(m["url"] for m in members)
        self.etcdload("health", "--endpoints", eps)
        return members, eps

    def etcdload(self, *args):
        p = subprocess.run([os.path.join(self.a.peers, "bin", "etcdload"), *args], capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"etcdload {args[0]}: {p.stderr.strip()[-500:]}")
        return json.loads(p.stdout)

    @staticmethod
    def etcd_stop(members):
        for m in members:
            m["proc"].kill()
            m["proc"].wait()

    def kappa_rpc(self, clients, log_format="bolt"):
        p = subprocess.run([self.a.kappa, "bench", "rpc", "--tasks", str(clients), "--duration",
                            f"{self.a.rpc_seconds}s", "--tls", "off", "--raft-log-format", log_format],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"kappa bench rpc: {p.stderr[-1000:]}")
        for line in p.stdout.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] == str(clients):
                return {"rate": float(cells[2].replace(",", "")), "p50_ms": go_ms(cells[3]), "p99_ms": go_ms(cells[4])}
        raise RuntimeError(f"kappa bench rpc printed no row: {p.stdout}")

    def rpc(self):
        why = self.unavailable("etcd")
        for clients in (1, 16, 128):
            work = f"committed writes, 3 nodes, {clients} client{'s' if clients > 1 else ''}: per s (p50)"
            for rnd in range(self.a.rounds):
                # The servers' default Bolt log is the reference; the WAL
                # format (--raft-log-format wal) runs in the same round.
                order = ["kappa", "etcd", "kappa-wal"] if rnd % 2 == 0 else ["kappa-wal", "etcd", "kappa"]
                for part in order:
                    if part == "kappa":
                        r = self.kappa_rpc(clients)
                        self.add(work, "Kappa `kappa bench rpc` (plaintext)",
                                 f"{r['rate']:,.0f}/s ({r['p50_ms']:.2f} ms)", r["rate"], ref=True, higher=True)
                    elif part == "kappa-wal":
                        r = self.kappa_rpc(clients, "wal")
                        self.add(work, "Kappa `kappa bench rpc` (plaintext), `--raft-log-format wal`",
                                 f"{r['rate']:,.0f}/s ({r['p50_ms']:.2f} ms)", r["rate"], higher=True)
                    elif why:
                        self.add(work, f"etcd {self.a.etcd_version} puts", f"unavailable: {why}")
                    else:
                        members, eps = self.etcd_start()
                        try:
                            e = self.etcdload("put", "--endpoints", eps, "--clients", str(clients), "--duration",
                                              f"{self.a.rpc_seconds}s")
                        finally:
                            self.etcd_stop(members)
                        self.add(work, f"etcd {self.a.etcd_version} puts", f"{e['rate']:,.0f}/s ({e['p50_ms']:.2f} ms)",
                                 e["rate"], f"p99 {e['p99_ms']:.2f} ms", higher=True)

    def failover(self):
        work = "leader SIGKILL → first committed write: p50 / max"
        trials = self.a.failover_trials
        p = subprocess.run([self.a.kappa, "bench", "failover", "--trials", str(trials)], capture_output=True,
                           text=True, timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"kappa bench failover: {p.stderr[-1000:]}")
        m = re.search(r"\| leader SIGKILL → first committed RPC \| (\S+) \| (\S+) \|", p.stdout)
        kp50, kmax = go_ms(m.group(1)), go_ms(m.group(2))
        self.add(work, "Kappa `kappa bench failover`", f"{kp50 / 1e3:.2f} / {kmax / 1e3:.2f} s", kp50,
                 note=f"{trials} trials", ref=True)
        why = self.unavailable("etcd")
        for label, hb, el in (("etcd, default timeouts (100 ms heartbeat, 1 s election)", 100, 1000),
                              ("etcd, tuned (25 ms heartbeat, 250 ms election, as Kappa's 250 ms)", 25, 250)):
            if why:
                self.add(work, label, f"unavailable: {why}")
                continue
            times = self.etcd_failover(trials, hb, el)
            self.add(work, label, f"{statistics.median(times) / 1e3:.2f} / {max(times) / 1e3:.2f} s",
                     statistics.median(times), f"{trials} trials")

    def etcd_failover(self, trials, hb, el):
        members, eps = self.etcd_start(hb, el)
        times = []
        try:
            for _ in range(trials):
                time.sleep(1)
                pids = ",".join(str(m["proc"].pid) for m in members)
                r = self.etcdload("failover", "--endpoints", eps, "--pids", pids)
                times.append(r["first_put_ms"])
                dead = members[r["killed"]]
                dead["proc"].wait()
                dead["proc"] = subprocess.Popen(dead["args"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.etcdload("health", "--endpoints", eps)
        finally:
            self.etcd_stop(members)
        return times

    # --- table -----------------------------------------------------------

    def table(self):
        """One line per work and system: each round's result, and the ratio
        of medians against Kappa's (>1: Kappa ahead, <1: the peer ahead)."""
        groups = {}
        for r in self.rows:
            groups.setdefault((r["work"], r["system"]), []).append(r)
        refs = {}
        for (work, _), rs in groups.items():
            vals = [r["value"] for r in rs if r["ref"] and r["value"]]
            if vals and work not in refs:
                refs[work] = statistics.median(vals)
        out = ["| work | system | result (each round) | vs Kappa | note |", "| --- | --- | --- | ---: | --- |"]
        for (work, system), rs in groups.items():
            vals = [r["value"] for r in rs if r["value"]]
            ratio = ""
            if vals and work in refs and not rs[0]["ref"]:
                v = statistics.median(vals)
                ratio = f"{(refs[work] / v if rs[0]['higher'] else v / refs[work]):.2f}×"
            text = " · ".join(dict.fromkeys(r["text"] for r in rs))
            notes = " · ".join(dict.fromkeys(r["note"] for r in rs if r["note"]))
            out.append(f"| {work} | {system} | {text} | {ratio} | {notes} |")
        return "\n".join(out)


def go_ms(s):
    """A Go duration as printed by time.Duration.String, in milliseconds."""
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(ns|µs|us|ms|s|m|h)", s):
        total += float(num) * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4, "h": 3.6e6}[unit]
    return total


def free_base_port():
    """A base port whose +0..+999 range is likely free (dev-cluster and etcd use offsets in it)."""
    for base in range(21000, 60000, 1000):
        try:
            for off in (1, 101, 900, 500, 510):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kappa", required=True)
    ap.add_argument("--peers", required=True)
    quick = bool(os.environ.get("QUICK"))
    ap.add_argument("--quick", action="store_true", default=quick)
    ap.add_argument("--kappa-only", action="store_true", default=bool(os.environ.get("KAPPA_ONLY")))
    ap.add_argument("--sizes", default=os.environ.get("SIZES", "100" if quick else "1000"))
    ap.add_argument("--only", default=os.environ.get("ONLY", "fanout,steps,rpc,failover"))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "1" if quick else "2")))
    ap.add_argument("--steps", type=int, default=50 if quick else 500)
    ap.add_argument("--rpc-seconds", type=int, default=2 if quick else 8)
    ap.add_argument("--failover-trials", type=int, default=2 if quick else 10)
    ap.add_argument("--lithops-max", type=int, default=1000)
    ap.add_argument("--temporal-max", type=int, default=1000)
    ap.add_argument("--etcd-version", default=os.environ.get("ETCD_VERSION", "v3.6.16"))
    a = ap.parse_args()
    a.sizes = [int(s) for s in a.sizes.split(",")]
    a.base_port = free_base_port()
    b = Bench(a)
    try:
        for part in a.only.split(","):
            if part == "rpc" or part == "failover":
                if a.kappa_only:
                    continue  # etcd's side needs the peers; Kappa's own benches are `kappa bench`
            getattr(b, part)()
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
        print(b.table())


if __name__ == "__main__":
    main()
