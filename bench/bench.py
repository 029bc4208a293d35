#!/usr/bin/env python3
"""Orchestration of bench/run (Python 3 standard library; see the top of bench/run).

Starts the storcon simulator and one PostgreSQL 15 cluster (fsync on) through test/lib/harness.py,
drives the C++ client (bench/client.cpp, built by bench/run) for each measurement, and writes
bench/build/results.json and bench/build/results.md. Every figure is reported with a ratio against
a baseline measured in the same run on the same cluster. Nothing here asserts on timings.
"""
import argparse
import bisect
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
from harness import Cluster, Simulator, free_port, http, wait_until  # noqa: E402

BUILD = os.environ.get("BENCH_BUILD_DIR", os.path.join(HERE, "build"))
CLIENT = os.path.join(BUILD, "client")

TENANT = "1f359dd625e519a1a4e8d7509690f6fc"
OTHER = "00000000000000000000000000000001"
STRIPE = 2048
STALL_US = 500_000  # an answer slower than this is counted as a stall
GAP_US = 2000       # spacing of the "spaced" variants
SPACED_US = 20000   # quiet time before each apply of step 1's spaced variant
# the worker's phases of one apply (GET /status "apply_breakdown"), in order
PHASES = ["write", "fsync", "signal", "wake_up", "reload", "verify"]
# the client's steps of one SQL apply (client mode apply, "steps_us")
STEP_NAMES = ["connect", "alter_stripe", "alter_connstring", "reload", "poll"]


def body(nodes, stripe=STRIPE, tenant=TENANT):
    return json.dumps({"tenant_id": tenant, "preferred_az": "az-1",
                       "stripe_size": stripe if len(nodes) > 1 else None,
                       "shards": [{"node_id": n, "shard_number": i} for i, n in enumerate(nodes)]},
                      separators=(",", ":"))


def conn(*nodes):
    # the simulator's seeded nodes: 127.0.0.1, pg port 6400 + id
    return ",".join(f"postgres://no_user@127.0.0.1:{6400 + n}" for n in nodes)


PLACE_A = [1, 2, 3, 4]
PLACE_B = [2, 3, 4, 1]
ROTATIONS = [[1 + (q + k) % 4 for k in range(4)] for q in range(4)]  # PLACE_A, PLACE_B, ...
SMALL_128 = [1 + i % 4 for i in range(128)]
BIG_128 = [1 + (i * 7919) % 10000 for i in range(128)]  # 128 distinct ids spread over 10k nodes


# ------------------------------------------------------------------------------------------------
# statistics

def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def summary(values):
    return {"n": len(values), "p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99),
            "min": min(values) if values else float("nan"), "max": max(values) if values else float("nan"),
            "stalls": sum(1 for v in values if v > STALL_US)}


def ms(us):
    return us / 1000.0


# ------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "config": vars(args)}
        self.tmp = tempfile.mkdtemp(prefix="pg_storcon_benchtmp_")
        self.sim = None
        self.pg = None

    # -- plumbing ---------------------------------------------------------------------------------

    def log(self, msg):
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def client(self, mode, cfg, timeout=600):
        path = os.path.join(self.tmp, f"{mode}.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        r = subprocess.run([CLIENT, mode, path], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"client {mode} failed ({r.returncode}): {r.stderr.strip()}")
        return json.loads(r.stdout)

    def latency(self, bodies=None, n=1000, expect="", method="PUT", path="/notify-attach", gap_us=0,
                fresh=False, max_seconds=15.0, warmup=20):
        r = self.client("latency", {"url": self.url + path, "method": method, "bodies": bodies or [], "n": n,
                                    "warmup": warmup, "expect": expect, "gap_us": gap_us,
                                    "fresh_connection": fresh, "max_seconds": max_seconds})
        return dict(summary(r["lat_us"]), errors=r["errors"], statuses=r["statuses"], elapsed_s=r["elapsed_s"],
                    requested=n)

    def conninfo(self):
        return f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=postgres connect_timeout=10"

    def rss(self):
        pid = self.pg.hook_worker_pid()
        out = {"pid": pid}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[k + "_kB"] = int(v.split()[0])
        return out

    def machine(self):
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", "/tmp"],
                            capture_output=True, text=True).stdout.strip()
        libdir = subprocess.check_output(["pg_config", "--pkglibdir"], text=True).strip()
        so = os.path.join(libdir, "pg_storcon.so")
        with open(so, "rb") as f:
            md5 = hashlib.md5(f.read()).hexdigest()
        return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
                "pg": self.pg.psql("SELECT version()"), "tmp_fs": " ".join(fs.split()),
                "curl": subprocess.run(["curl-config", "--version"], capture_output=True, text=True).stdout.strip(),
                "mem_total_kB": int(open("/proc/meminfo").readline().split()[1]),
                "pg_storcon_so": {"md5": md5, "mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                                                     time.gmtime(os.path.getmtime(so)))},
                "extversion": self.pg.psql("SELECT extversion FROM pg_extension WHERE extname = 'pg_storcon'"),
                "bench_commit": subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                                               capture_output=True, text=True).stdout.strip()}

    # -- setup ------------------------------------------------------------------------------------

    def setup(self):
        self.log("starting the storcon simulator (4 nodes) and a cluster (fsync on)")
        self.sim = Simulator(args=["--seed-nodes", "4"])
        self.hook_port = free_port()
        self.pg = Cluster("bench", settings={
            "fsync": "on",
            "storcon.url": f"'{self.sim.url}'",
            "storcon.hook_port": str(self.hook_port),
            "storcon.hook_apply_timeout": "'5s'",
            # no periodic reconcile pass in the middle of a measurement (where the build has one)
            "storcon.sync_interval": "0",
            "neon.tenant_id": f"'{TENANT}'",
        })
        self.pg.start()
        self.pg.psql("CREATE EXTENSION neon_stub; CREATE EXTENSION pg_storcon")
        self.results["sync_at_setup"] = self.pg.psql("SELECT * FROM storcon.sync_catalog()")
        self.url = f"http://127.0.0.1:{self.hook_port}"
        self.put_url = self.url + "/notify-attach"
        wait_until(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200, 30, what="hook up")
        self.results["machine"] = self.machine()
        self.results["settings"] = {
            k: self.pg.psql(f"SELECT current_setting('{k}', true)")
            for k in ("fsync", "synchronous_commit", "storcon.sync_interval", "storcon.hook_apply_timeout")}
        # the first notification makes placement A the one in effect
        st, text = http("PUT", self.put_url, raw=body(PLACE_A).encode(), timeout=30)
        if st != 200:
            raise RuntimeError(f"first notification failed: {st} {text}")

    def teardown(self):
        if self.pg:
            self.pg.destroy()
        if self.sim:
            self.sim.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- 1. apply latency -------------------------------------------------------------------------

    def apply_suite(self, rounds, per_round, modes, breakdown=False, gap_us=0):
        return self.client("apply", {
            "gap_us": gap_us,
            "url": self.put_url, "conninfo": self.conninfo(),
            "bodies": [body(PLACE_A), body(PLACE_B)], "connstrings": [conn(*PLACE_A), conn(*PLACE_B)],
            "stripe": STRIPE, "rounds": rounds, "per_round": per_round, "modes": modes,
            "status_url": self.url + "/status" if breakdown else "",
            "poll_timeout_s": 5.0, "max_seconds": 240.0})

    def step_apply(self):
        n, nb = self.args.apply_n, self.args.baseline_n
        modes = ["hook", "sql0", "sql", "sidecar"]
        self.log(f"1. apply latency: {n} hook applies, {nb} applies of each baseline (a0, a, b), interleaved in "
                 "10 rounds")
        out = {}
        lat = {m: [] for m in modes}
        errs = {m: 0 for m in modes}
        steps = {m: [] for m in modes}
        statuses, polls, server = {}, {"sql": [], "sidecar": []}, []
        t0 = time.monotonic()
        for rnd in range(10):
            order = modes[rnd % len(modes):] + modes[:rnd % len(modes)]
            for m in order:
                r = self.apply_suite(1, (n if m == "hook" else nb) // 10, [m], breakdown=self.args.breakdown)
                lat[m] += r[m]["lat_us"]
                errs[m] += r[m]["errors"]
                for k, v in r[m]["statuses"].items():
                    statuses.setdefault(m, {}).setdefault(k, 0)
                    statuses[m][k] += v
                polls.get(m, []).extend(r[m].get("polls", []))
                steps[m] += r[m].get("steps_us", [])
                if m == "hook":
                    server += [(us, b) for us, b in zip(r[m]["lat_us"], r[m].get("server", []))]
        for m in modes:
            out[m] = dict(summary(lat[m]), errors=errs[m], statuses=statuses.get(m, {}))
            if polls.get(m):
                out[m]["mean_polls"] = sum(polls[m]) / len(polls[m])
            if steps[m]:
                cols = list(zip(*steps[m]))
                out[m]["steps"] = {name: {"p50": pct(c, 50), "p90": pct(c, 90)}
                                   for name, c in zip(STEP_NAMES, cols) if any(c)}
        # the worker's own breakdown of each hook apply (GET /status after it, untimed), and the
        # rest of the client's round trip: HTTP in and out, parsing, planning, answering
        bd = breakdown_stats(server)
        if bd:
            out["hook"]["breakdown"] = bd
        st, text = http("GET", self.url + "/status", timeout=10)
        if st == 200:
            out["hook"]["status_breakdown"] = json.loads(text).get("apply_breakdown")
        # The same two, each apply starting after 20 ms of quiet (a migration's notification reaches
        # an idle compute): interleaved in 10 rounds.
        ns = self.args.spaced_n
        if ns:
            sp, sp_server = {"hook": [], "sql0": []}, []
            for rnd in range(10):
                for m in (["hook", "sql0"] if rnd % 2 == 0 else ["sql0", "hook"]):
                    r = self.apply_suite(1, ns // 10, [m], gap_us=SPACED_US, breakdown=self.args.breakdown)
                    sp[m] += r[m]["lat_us"]
                    if m == "hook":
                        sp_server += [(us, b) for us, b in zip(r[m]["lat_us"], r[m].get("server", []))]
                    steps_sp = r[m].get("steps_us", [])
                    if steps_sp:
                        sp.setdefault("sql0_steps", []).extend(steps_sp)
                    errs[m] += r[m]["errors"]
            out["spaced"] = {m: summary(sp[m]) for m in ("hook", "sql0")}
            bd = breakdown_stats(sp_server)
            if bd:
                out["spaced"]["hook"]["breakdown"] = bd
            if sp.get("sql0_steps"):
                cols = list(zip(*sp["sql0_steps"]))
                out["spaced"]["sql0"]["steps"] = {name: {"p50": pct(c, 50), "p90": pct(c, 90)}
                                                  for name, c in zip(STEP_NAMES, cols) if any(c)}
        out["elapsed_s"] = time.monotonic() - t0
        self.results["apply"] = out
        self.log("   hook p50 %.3f ms, a0 p50 %.3f ms, a p50 %.3f ms, sidecar p50 %.3f ms" %
                 (ms(out["hook"]["p50"]), ms(out["sql0"]["p50"]), ms(out["sql"]["p50"]), ms(out["sidecar"]["p50"])))

    # -- 2. no-op latency -------------------------------------------------------------------------

    def step_noop(self):
        n = self.args.noop_n
        self.log(f"2. no-op latency: re-sends, not-hosted, /healthz; back to back, spaced {GAP_US} us, "
                 "new connection per request")
        A, NH = body(PLACE_A), body(PLACE_A, tenant=OTHER)
        out = {}
        # storcon's pool: one keep-alive connection, requests back to back (as the apply test)
        out["unchanged"] = self.latency([A], n, "unchanged")
        out["not_hosted"] = self.latency([NH], n, "not_hosted")
        out["healthz"] = self.latency(None, n, method="GET", path="/healthz")
        # the same requests spaced by GAP_US (a request never arrives while the previous answer is
        # still being finished)
        out["unchanged_spaced"] = self.latency([A], n, "unchanged", gap_us=GAP_US)
        out["not_hosted_spaced"] = self.latency([NH], n, "not_hosted", gap_us=GAP_US)
        out["healthz_spaced"] = self.latency(None, n, method="GET", path="/healthz", gap_us=GAP_US)
        # a new TCP connection per request (storcon after its pool went idle)
        nf = self.args.fresh_n
        out["unchanged_fresh"] = self.latency([A], nf, "unchanged", gap_us=GAP_US, fresh=True, warmup=2)
        out["not_hosted_fresh"] = self.latency([NH], nf, "not_hosted", gap_us=GAP_US, fresh=True, warmup=2)
        out["healthz_fresh"] = self.latency(None, nf, method="GET", path="/healthz", gap_us=GAP_US, fresh=True,
                                            warmup=2)
        out["apply_fresh"] = self.latency([body(PLACE_B), A], nf, "applied", gap_us=GAP_US, fresh=True, warmup=2)
        http("PUT", self.put_url, raw=A.encode(), timeout=30)
        self.results["noop"] = out
        for k in ("unchanged", "not_hosted", "unchanged_spaced", "not_hosted_spaced", "unchanged_fresh"):
            self.log("   %-18s p50 %8.3f ms  n %4d  stalls>0.5s %d" % (k, ms(out[k]["p50"]), out[k]["n"],
                                                                       out[k]["stalls"]))

    # -- 3. load ----------------------------------------------------------------------------------

    def step_load(self):
        secs, senders = self.args.load_seconds, 32
        self.log(f"3. load: {senders} concurrent senders for {secs} s")
        # 4 placements, each with its own stripe size: a torn map (new connstring with the stripe
        # of another placement) is visible in the neon stand-in's history.
        stripes = [1024 * (q + 1) for q in range(4)]
        bodies = [body(ROTATIONS[q], stripe=stripes[q]) for q in range(4)]
        valid = {(conn(*ROTATIONS[q]), stripes[q]) for q in range(4)}
        counter0 = int(self.pg.psql("SELECT update_counter FROM neon_stub_shard_map()"))

        # Sample the postmaster's shard-map history while the load runs (one new session a second).
        seen, torn, stop = {}, [], threading.Event()

        def check(rows):
            for line in rows.splitlines():
                uc, n, stripe, cs = line.split("|", 3)
                if int(uc) <= counter0 or int(uc) in seen:
                    continue
                seen[int(uc)] = (cs, int(stripe))
                if (cs, int(stripe)) not in valid or int(n) != 4:
                    torn.append(line)

        history_sql = ("SELECT update_counter, num_shards, stripe_size, connstring "
                       "FROM neon_stub_shard_map_history()")

        def sample():
            while not stop.wait(1.0):
                try:
                    check(self.pg.psql(history_sql))
                except AssertionError:
                    continue

        # One sender first (same bodies, same client): the single-sender p50 the target compares with.
        single, single_writes = self.counting_writes(lambda: self.client(
            "load", {"url": self.put_url, "bodies": bodies, "senders": 1, "seconds": self.args.single_seconds,
                     "max_per_sender": 100000}, timeout=self.args.single_seconds + 60))
        outcomes0 = self.outcomes()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        (r, writes), flushes = self.timing_audit_flushes(lambda: self.counting_writes(lambda: self.client(
            "load", {"url": self.put_url, "bodies": bodies, "senders": senders, "seconds": secs,
                     "max_per_sender": 100000}, timeout=secs + 120)))
        stop.set()
        sampler.join(10)
        outcomes1 = self.outcomes()
        final_show = self.pg.psql("SHOW neon.pageserver_connstring")
        n_sh, stripe_sh, cs_sh = self.pg.psql(
            "SELECT num_shards, stripe_size, connstring FROM neon_stub_shard_map()").split("|", 2)
        counter1 = int(self.pg.psql("SELECT update_counter FROM neon_stub_shard_map()"))
        check(self.pg.psql(history_sql))
        last = r.get("last_ack") or {}
        out = dict(summary(r["lat_us"]), over_10ms=sum(1 for v in r["lat_us"] if v > 10000))
        applied = sum(v for k, v in r["statuses"].items() if k.endswith(" applied"))
        expected = None
        if last:  # the body of the last acknowledged answer (highest seq of applied/unchanged)
            q = last["body"]
            expected = {"pageserver_connstring": conn(*ROTATIONS[q]), "stripe_size": stripes[q]}
        out.update({
            "senders": senders, "seconds": r["elapsed_s"], "requests": r["requests"], "errors": r["errors"],
            "statuses": r["statuses"], "error_samples": r["error_samples"],
            "throughput_rps": r["requests"] / r["elapsed_s"], "applied": applied,
            "apply_rps": applied / r["elapsed_s"],
            "last_ack": last, "last_answer": r.get("last_answer"), "expected_final": expected,
            "final_show": final_show,
            "final_shard_map": {"num_shards": int(n_sh), "stripe_size": int(stripe_sh), "connstring": cs_sh},
            "shard_map_records": counter1 - counter0, "history_records_checked": len(seen),
            "torn_records": torn[:5], "torn_count": len(torn),
            "writes": writes, "audit_flushes": flushes, "outcomes": {k: outcomes1.get(k, 0) - outcomes0.get(k, 0)
                                           for k in set(outcomes0) | set(outcomes1)},
            "single": dict(summary(single["lat_us"]), requests=single["requests"], errors=single["errors"],
                           seconds=single["elapsed_s"], statuses=single["statuses"], writes=single_writes),
        })
        out["final_matches_last_ack"] = (
            bool(expected) and final_show == expected["pageserver_connstring"]
            and cs_sh == expected["pageserver_connstring"] and int(stripe_sh) == expected["stripe_size"]
            and last.get("pageserver_connstring") in (None, "", expected["pageserver_connstring"]))
        self.results["load"] = out
        self.log("   1 sender p50 %.3f ms; 32 senders: p50 %.3f ms, %d requests (%.0f/s, %d applied), %d errors, "
                 "worker writes %s, final = last ack: %s, torn: %d of %d checked"
                 % (ms(out["single"]["p50"]), ms(out["p50"]), r["requests"], out["throughput_rps"], applied,
                    r["errors"], writes, out["final_matches_last_ack"], len(torn), len(seen)))
        http("PUT", self.put_url, raw=body(PLACE_A).encode(), timeout=30)

    def worker_contexts(self):
        """Bytes used in the hook worker's PostgreSQL memory contexts (pg_log_backend_memory_contexts
        writes them to the server log), or None. The C++ side (JSON, HTTP, curl) allocates with
        malloc, outside them: RssAnon covers both."""
        pid = self.pg.hook_worker_pid()
        before = self.pg.log().count("Grand total:")
        try:
            self.pg.psql(f"SELECT pg_log_backend_memory_contexts({pid})")
            wait_until(lambda: self.pg.log().count("Grand total:") > before, 10, what="memory contexts logged")
        except AssertionError:
            return None
        for line in reversed(self.pg.log().splitlines()):
            if "Grand total:" in line and f"[{pid}]" in line:
                m = re.search(r"(\d+) used", line)
                return int(m.group(1)) if m else None
        return None

    def worker_malloc(self):
        """The hook worker's malloc heap, from mallinfo2() called through gdb (the worker stops for a
        moment; only between measurements): {"arena": bytes taken from the system, "in_use": bytes
        allocated, "free": bytes free inside the arena}, or None without gdb."""
        if not shutil.which("gdb"):
            return None
        try:
            r = subprocess.run(["gdb", "-p", str(self.pg.hook_worker_pid()), "-batch", "-nx", "-ex",
                                "p (struct mallinfo2) mallinfo2()"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        f = dict(re.findall(r"(\w+) = (\d+)", r.stdout[r.stdout.rfind("$1 ="):] if "$1 =" in r.stdout else ""))
        if "uordblks" not in f:
            return None
        return {"arena": int(f["arena"]) + int(f.get("hblkhd", 0)), "in_use": int(f["uordblks"]) + int(f.get("hblkhd", 0)),
                "free": int(f["fordblks"])}

    def timing_audit_flushes(self, fn):
        """Runs fn() while uprobes time the hook worker's audit-log flushes (AuditLog::flush in the
        installed pg_storcon.so, found by its symbol); returns (fn's result, {"n", "p50_ms", "p90_ms",
        "max_ms", "total_ms"} or None). The probes are removed afterwards."""
        if not (self.args.profile and shutil.which("perf") and shutil.which("nm")):
            return fn(), None
        so = os.path.join(subprocess.check_output(["pg_config", "--pkglibdir"], text=True).strip(), "pg_storcon.so")
        syms = re.findall(r" [Tt] (_ZN7storcon6worker8AuditLog5flush\w*)$",
                          subprocess.run(["nm", so], capture_output=True, text=True).stdout, re.M)
        if not syms:
            return fn(), None
        group = "pgstorcon_bench"
        added = []
        for spec in (f"{group}:flush={syms[0]}", f"{group}:flushret={syms[0]}%return"):
            r = subprocess.run(["perf", "probe", "-q", "-x", so, "--no-demangle", "-a", spec],
                               capture_output=True, text=True)
            added.append(r.returncode == 0)
        data = os.path.join(self.tmp, "perf_flush.data")
        rec = None
        try:
            if all(added):
                rec = subprocess.Popen(["perf", "record", "-q", "-e", f"{group}:*", "-p", str(self.pg.hook_worker_pid()),
                                        "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
            result = fn()
        finally:
            if rec:
                time.sleep(0.2)
                rec.send_signal(2)
                rec.wait(30)
            subprocess.run(["perf", "probe", "-q", "-d", f"{group}:*"], capture_output=True)
        if not rec:
            return result, None
        out = subprocess.run(["perf", "script", "-i", data, "-F", "time,event"], capture_output=True, text=True).stdout
        d, start = [], None
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            t = float(parts[0].rstrip(":"))
            if parts[1].startswith(f"{group}:flush:"):
                start = t
            elif start is not None:
                d.append((t - start) * 1000)
                start = None
        if not d:
            return result, None
        return result, {"n": len(d), "p50_ms": pct(d, 50), "p90_ms": pct(d, 90), "max_ms": max(d), "total_ms": sum(d)}

    def outcomes(self):
        st, text = http("GET", self.url + "/status", timeout=10)
        return json.loads(text).get("outcomes", {}) if st == 200 else {}

    def counting_writes(self, fn):
        """Runs fn() while `perf stat` counts the hook worker's rename and fsync system calls (one
        rename per write of postgresql.auto.conf); returns (fn's result, {"rename", "fsync"} or None)."""
        if not (self.args.profile and shutil.which("perf")):
            return fn(), None
        path = os.path.join(self.tmp, "perf_stat.csv")
        events = ["syscalls:sys_enter_rename", "syscalls:sys_enter_renameat", "syscalls:sys_enter_renameat2",
                  "syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync"]
        rec = subprocess.Popen(["perf", "stat", "-x", ",", "-o", path, "-p", str(self.pg.hook_worker_pid())]
                               + [x for e in events for x in ("-e", e)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        try:
            result = fn()
        finally:
            time.sleep(0.1)
            rec.send_signal(2)
            rec.wait(30)
        counts = {"rename": 0, "fsync": 0}
        try:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) >= 3 and parts[0].isdigit():
                        counts["rename" if "rename" in parts[2] else "fsync"] += int(parts[0])
        except OSError:
            return result, None
        return result, counts

    # -- 5. memory --------------------------------------------------------------------------------

    def audit_stats(self):
        """The hook's audit table (storcon.notifications), where the build has one: its size, its
        rows, and what the cumulative statistics (which drive autovacuum) know about it."""
        try:
            r = self.pg.psql("SELECT pg_total_relation_size(relid) || '|' || "
                             "(SELECT count(*) FROM storcon.notifications) || '|' || n_tup_ins || '|' || "
                             "n_tup_del || '|' || n_dead_tup || '|' || autovacuum_count "
                             "FROM pg_stat_user_tables WHERE relid = pg_catalog.to_regclass('storcon.notifications')")
        except AssertionError:
            return None
        if "|" not in r:
            return None
        size, rows, ins, dele, dead, av = (int(x) for x in r.split("|"))
        return {"bytes": size, "rows": rows, "stats_inserted": ins, "stats_deleted": dele, "stats_dead": dead,
                "autovacuums": av}

    def reset_audit(self):
        """Each step starts with an empty audit table, so no step inherits another's audit-log cost
        (step 5 measures that cost)."""
        self.pg.psql("DO $$ BEGIN IF pg_catalog.to_regclass('storcon.notifications') IS NOT NULL THEN "
                     "TRUNCATE storcon.notifications; END IF; END $$", check=False)

    def perf_worker(self, fn):
        """Runs fn() under perf record of the hook worker; returns (fn's result, top symbols or None)."""
        if not (self.args.profile and shutil.which("perf")):
            return fn(), None
        data = os.path.join(self.tmp, "perf_worker.data")
        rec = subprocess.Popen(["perf", "record", "-F", "1999", "-g", "-t", str(self.pg.hook_worker_pid()),
                                "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            result = fn()
        finally:
            time.sleep(0.2)
            rec.send_signal(2)
            rec.wait(30)
        try:
            return result, perf_top(data, [])
        except (OSError, subprocess.SubprocessError, ValueError):
            return result, None

    def step_memory(self):
        total, chunks, senders = self.args.mem_n, 10, self.args.mem_senders
        per100 = {"apply": 3, "unchanged": 48, "not_hosted": 49}
        self.log(f"5. memory: hook worker RSS over {total} requests from {senders} senders (per 100: {per100})")
        cfg = {"url": self.put_url, "apply_bodies": [body(p) for p in ROTATIONS],
               "not_hosted_body": body(PLACE_A, tenant=OTHER), "senders": senders, "per100": per100}
        # warm-up: every kind of request, so first-use allocations are not counted as growth
        self.client("mix", dict(cfg, n=2000, max_seconds=60))
        self.reset_audit()
        lsn0 = self.pg.psql("SELECT pg_current_wal_lsn()")
        contexts_before = self.worker_contexts()
        malloc_before = self.worker_malloc()
        before = self.rss()
        samples = [dict(before, after_requests=0, elapsed_s=0.0, audit=self.audit_stats())]
        kinds, outcomes, sent, elapsed, slow = {}, {}, 0, 0.0, 0
        t_limit = time.monotonic() + self.args.mem_max_seconds
        for c in range(chunks):
            left = t_limit - time.monotonic()
            if left <= 1:
                break
            r = self.client("mix", dict(cfg, n=total // chunks, max_seconds=min(120.0, left)))
            sent += r["sent"]
            elapsed += r["elapsed_s"]
            slow += r["slow_over_500ms"]
            for k, v in r["kinds"].items():
                agg = kinds.setdefault(k, {"count": 0, "errors": 0})
                agg["count"] += v["count"]
                agg["errors"] += v["errors"]
                for st, cnt in v["statuses"].items():
                    outcomes[st] = outcomes.get(st, 0) + cnt
            samples.append(dict(self.rss(), after_requests=sent, elapsed_s=elapsed, audit=self.audit_stats(),
                                p50_us={k: v["p50_us"] for k, v in r["kinds"].items()}))
        after = samples[-1]
        contexts_after = self.worker_contexts()
        malloc_after = self.worker_malloc()
        wal_bytes = int(self.pg.psql(f"SELECT pg_current_wal_lsn() - '{lsn0}'::pg_lsn"))
        # one sender, back to back, now that the audit table has seen the whole run (compare step 2)
        http("PUT", self.put_url, raw=body(PLACE_A).encode(), timeout=30)
        nh_after, top = self.perf_worker(lambda: self.latency([body(PLACE_A, tenant=OTHER)], self.args.noop_n,
                                                              "not_hosted", max_seconds=20))
        if top:
            self.results.setdefault("perf", {})["worker_not_hosted_after_memory"] = {
                "requests": nh_after["n"], "p50_us": nh_after["p50"], "top": top}
        # the same after a manual VACUUM of the audit table (what autovacuum would have done)
        nh_vacuumed, audit_vacuumed = None, None
        if after.get("audit"):
            self.pg.psql("VACUUM storcon.notifications")
            audit_vacuumed = self.audit_stats()
            nh_vacuumed = self.latency([body(PLACE_A, tenant=OTHER)], self.args.noop_n, "not_hosted", max_seconds=20)
        self.results["memory"] = {
            "not_hosted_after_vacuum": nh_vacuumed, "audit_after_vacuum": audit_vacuumed,
            "contexts_used_bytes": [contexts_before, contexts_after], "malloc": [malloc_before, malloc_after],
            "wal_bytes": wal_bytes, "not_hosted_after": nh_after,
            "senders": senders, "mix_per_100": per100, "requested": total, "sent": sent, "elapsed_s": elapsed,
            "kinds": kinds,
            "outcomes": outcomes, "stalls": slow, "before": before, "after": after, "samples": samples,
            "growth_kB": after["VmRSS_kB"] - before["VmRSS_kB"],
            "anon_growth_kB": after["RssAnon_kB"] - before["RssAnon_kB"],
            "same_pid": before["pid"] == after["pid"],
        }
        self.log("   VmRSS %d kB -> %d kB (growth %+d kB, anon %+d kB) over %d requests in %.1f s; outcomes %s" %
                 (before["VmRSS_kB"], after["VmRSS_kB"], after["VmRSS_kB"] - before["VmRSS_kB"],
                  after["RssAnon_kB"] - before["RssAnon_kB"], sent, elapsed, outcomes))
        self.log("   afterwards: not-hosted back to back p50 %.3f ms; audit table %s" %
                 (ms(nh_after["p50"]), after.get("audit")))
        http("PUT", self.put_url, raw=body(PLACE_A).encode(), timeout=30)

    # -- 4. catalog -------------------------------------------------------------------------------

    def resolution_suite(self, big=None):
        """No-op (4 and 128 shards, spaced) and apply latency with the directory the hook has now."""
        n = self.args.noop_n
        A = body(PLACE_A)
        self.reset_audit()
        http("PUT", self.put_url, raw=A.encode(), timeout=30)
        out = {"unchanged": self.latency([A], n, "unchanged", gap_us=GAP_US),
               "unchanged_128": self.latency([body(SMALL_128)], n // 2, "unchanged", gap_us=GAP_US)}
        if big:
            out["unchanged_128_distinct"] = self.latency([body(big)], n // 2, "unchanged", gap_us=GAP_US)
        http("PUT", self.put_url, raw=A.encode(), timeout=30)
        r = self.apply_suite(1, self.args.apply_n * 3 // 10, ["hook"])
        out["apply"] = dict(summary(r["hook"]["lat_us"]), errors=r["hook"]["errors"])
        return out

    def step_catalog(self):
        n_sync = self.args.sync_n
        self.log(f"4. catalog: resolution with the 4-node directory; sync_catalog() x{n_sync} with 4 nodes, "
                 "then with 10,000 nodes + 1,000 safekeepers; resolution with the 10k directory")
        out = {"small": self.resolution_suite()}
        get_cfg = {"urls": [self.sim.url + "/control/v1/node", self.sim.url + "/control/v1/safekeeper"],
                   "n": n_sync, "warmup": 1}
        sync_cfg = {"conninfo": self.conninfo(), "sql": "SELECT * FROM storcon.sync_catalog()", "n": n_sync,
                    "warmup": 1, "max_seconds": 120}
        r = self.client("sql", sync_cfg)
        out["sync_small"] = dict(summary(r["lat_us"]), result=r["result"])
        r = self.client("get", get_cfg)
        out["fetch_small"] = dict(summary(r["lat_us"]), bytes=r["bytes"])

        # the simulator keeps its 4 nodes (ids 1..4) and gets ids 5..10004 and 1,000 safekeepers
        st, seeded = self.sim.call("POST", "/__sim/seed", {"nodes": 10000, "safekeepers": 1000})
        out["seeded"] = seeded
        r = self.client("get", get_cfg)
        out["fetch_10k"] = dict(summary(r["lat_us"]), bytes=r["bytes"], errors=r["errors"])
        r = self.client("sql", sync_cfg, timeout=300)
        out["sync_10k"] = dict(summary(r["lat_us"]), result=r["result"])
        out["mirrored"] = self.pg.psql("SELECT (SELECT count(*) FROM storcon.nodes) || '|' || "
                                       "(SELECT count(*) FROM storcon.safekeepers)")
        self.log("   sync 10k p50 %.1f ms (fetch %.1f ms), 4 nodes p50 %.1f ms" %
                 (ms(out["sync_10k"]["p50"]), ms(out["fetch_10k"]["p50"]), ms(out["sync_small"]["p50"])))

        # The hook's directory still holds the 4 nodes it knew: a notification naming a node it does
        # not know makes it refresh from storcon (node and safekeeper lists, 10k + 1k entries).
        t0 = time.monotonic()
        st, text = http("PUT", self.put_url, raw=body([9999, 2, 3, 4]).encode(), timeout=30)
        out["refresh_on_miss_ms"] = (time.monotonic() - t0) * 1000
        out["refresh_on_miss_reply"] = [st, json.loads(text).get("status") if st == 200 else text[:200]]
        # same bodies as with the small directory (nodes 1..4 keep their addresses after the seed);
        # the 128-shard body names 128 distinct nodes of the 10k
        out["big"] = self.resolution_suite(BIG_128)
        self.results["catalog"] = out
        self.log("   refresh on a miss %.0f ms; no-op (spaced) p50 %.3f -> %.3f ms, apply p50 %.3f -> %.3f ms" %
                 (out["refresh_on_miss_ms"], ms(out["small"]["unchanged"]["p50"]), ms(out["big"]["unchanged"]["p50"]),
                  ms(out["small"]["apply"]["p50"]), ms(out["big"]["apply"]["p50"])))

    # -- 6. where the time goes (strace), not timed ---------------------------------------------

    def step_profile(self):
        if not self.args.profile or not shutil.which("strace"):
            return
        self.log("6. system calls per request of the hook worker and the postmaster (strace -c, untimed)")
        out = {}
        wpid, ppid = self.pg.hook_worker_pid(), self.pg.postmaster_pid()
        A = body(PLACE_A)
        runs = (
            ("apply", 100, lambda: self.apply_suite(1, 100, ["hook"])),
            ("unchanged (spaced)", 300, lambda: self.latency([A], 300, "unchanged", gap_us=GAP_US, warmup=0)),
            ("not_hosted (spaced)", 300,
             lambda: self.latency([body(PLACE_A, tenant=OTHER)], 300, "not_hosted", gap_us=GAP_US, warmup=0)),
        )
        for kind, n, fn in runs:
            http("PUT", self.put_url, raw=A.encode(), timeout=30)
            files, procs = {}, []
            for who, pid in (("worker", wpid), ("postmaster", ppid)):
                if kind != "apply" and who == "postmaster":
                    continue
                files[who] = os.path.join(self.tmp, f"strace_{len(out)}_{who}.txt")
                procs.append(subprocess.Popen(["strace", "-c", "-w", "-o", files[who], "-p", str(pid)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.5)
            fn()
            time.sleep(0.3)
            for p in procs:
                p.send_signal(2)
                p.wait(10)
            out[kind] = {"requests": n}
            for who, f in files.items():
                with open(f) as fh:
                    out[kind][who] = parse_strace(fh.read())
        self.results["profile"] = out
        self.log("   timeline of hook and (a0) applies (perf tracepoints)")
        try:
            self.timeline()
        except (OSError, subprocess.SubprocessError, ValueError, KeyError, RuntimeError) as e:
            self.results["timeline"] = {"error": repr(e)}
        self.perf_profiles()

    def timeline(self):
        """Kernel timestamps of every step of an apply (perf tracepoints, CLOCK_MONOTONIC, joined with
        the client's own CLOCK_MONOTONIC times): hook applies and (a0) applies, spaced 20 ms."""
        if not shutil.which("perf"):
            return
        n = self.args.timeline_n
        data = os.path.join(self.tmp, "perf_timeline.data")
        events = ["syscalls:sys_enter_recvfrom", "syscalls:sys_enter_sendto", "syscalls:sys_enter_sendmsg",
                  "syscalls:sys_enter_fsync", "syscalls:sys_exit_fsync", "syscalls:sys_enter_fdatasync",
                  "syscalls:sys_exit_fdatasync", "syscalls:sys_enter_rename", "syscalls:sys_enter_renameat",
                  "syscalls:sys_enter_renameat2", "signal:signal_generate", "signal:signal_deliver",
                  "sched:sched_wakeup", "sched:sched_switch"]
        rec = subprocess.Popen(["perf", "record", "-k", "CLOCK_MONOTONIC", "-a", "--mmap-pages", "1024", "-o", data]
                               + [x for e in events for x in ("-e", e)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        try:
            r = self.client("timeline", {"url": self.put_url, "conninfo": self.conninfo(),
                                         "bodies": [body(PLACE_A), body(PLACE_B)],
                                         "connstrings": [conn(*PLACE_A), conn(*PLACE_B)], "stripe": STRIPE,
                                         "n": n, "gap_us": 20000}, timeout=300)
        finally:
            time.sleep(0.2)
            rec.send_signal(2)
            rec.wait(60)
        wpid, ppid, bpid = self.pg.hook_worker_pid(), self.pg.postmaster_pid(), r["backend_pid"]
        script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,cpu,time,event,trace"],
                                capture_output=True, text=True, timeout=300)
        ev = parse_trace(script.stdout, {wpid, ppid, bpid})
        self.results["timeline"] = {
            "n": n, "errors": r["errors"],
            "hook": hook_timeline(ev, r["hook"], wpid, ppid),
            "sql0": floor_timeline(ev, r["sql0"], bpid, ppid, wpid),
        }
        self.log("   timeline: hook %s, a0 %s" % (
            {k: round(v["p50"]) for k, v in self.results["timeline"]["hook"].get("phases", {}).items()},
            {k: round(v["p50"]) for k, v in self.results["timeline"]["sql0"].get("phases", {}).items()}))

    def perf_profiles(self):
        """perf: where the worker's CPU goes during back-to-back not-hosted notifications (empty audit
        table), and where the time of one sync_catalog() with the 10k catalog goes (all CPUs)."""
        if not shutil.which("perf"):
            return
        out = self.results.setdefault("perf", {})
        self.reset_audit()
        try:
            r, top = self.perf_worker(lambda: self.latency([body(PLACE_A, tenant=OTHER)], 3000, "not_hosted",
                                                           max_seconds=10, warmup=0))
            if top:
                out["worker_not_hosted_back_to_back"] = {"requests": r["n"], "p50_us": r["p50"], "top": top}
            if self.results.get("catalog"):
                data = os.path.join(self.tmp, "perf_all.data")
                rec = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-a", "-o", data],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                r = self.client("sql", {"conninfo": self.conninfo(), "sql": "SELECT * FROM storcon.sync_catalog()",
                                        "n": 1, "warmup": 0})
                time.sleep(0.2)
                rec.send_signal(2)
                rec.wait(30)
                out["sync_catalog_10k"] = {"ms": r["lat_us"][0] / 1000, "by_process": perf_comms(data),
                                           "postgres_top": perf_top(data, ["--comms", "postgres",
                                                                           "--percentage", "relative"])}
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            out["error"] = str(e)

    def our_cpu_ticks(self):
        """(ours, kernel) CPU time in clock ticks (user + system) used so far. ours: this process and
        every process under it (clients, simulator, perf, psql; waited ones through cutime), and the
        cluster's postmaster with all its children (exited ones through cutime). kernel: kernel
        threads (jbd2 journal commits and kworkers, largely on behalf of the benchmark's fsyncs)."""
        procs = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields after "(comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15)
            procs[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
        roots = {os.getpid()}
        if self.pg:
            try:
                roots.add(self.pg.postmaster_pid())
            except (OSError, ValueError, AssertionError):
                pass
        children = {}
        for pid, (ppid, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        ours, todo = 0, list(roots)
        while todo:
            pid = todo.pop()
            if pid in procs:
                ours += procs[pid][1]
            todo.extend(children.get(pid, []))
        kernel = sum(t for pid, (ppid, t) in procs.items() if pid == 2 or ppid == 2)
        return ours, kernel

    # -- main -------------------------------------------------------------------------------------

    def run(self):
        steps = self.args.steps.split(",")
        t0 = time.monotonic()
        self.results["background_before"] = background_load()
        deadline = time.monotonic() + self.args.wait_quiet
        quiet = self.args.quiet_pct
        while self.results["background_before"]["cpu_busy_pct"] > quiet and time.monotonic() < deadline:
            self.log(f"the machine is busy ({self.results['background_before']}); waiting up to "
                     f"{deadline - time.monotonic():.0f} s more for it to be under {quiet} % busy")
            self.results["background_before"] = background_load(5.0)
        if self.results["background_before"]["cpu_busy_pct"] > quiet:
            self.log(f"WARNING: the machine is busy before the run: {self.results['background_before']}")
        self.results["steps"] = {}
        try:
            self.setup()
            for name in ("apply", "noop", "catalog", "load", "memory", "profile"):
                if name in steps:
                    self.reset_audit()
                    a, ours, ts = cpu_sample(), self.our_cpu_ticks(), time.monotonic()
                    try:
                        getattr(self, "step_" + name)()
                    except Exception as e:  # noqa: BLE001 - report the other steps anyway
                        self.log(f"step {name} failed: {e!r}")
                        self.results.setdefault("failed_steps", {})[name] = traceback.format_exc()[-2000:]
                    b, ours_b = cpu_sample(), self.our_cpu_ticks()
                    kernel = ours_b[1] - ours[1]
                    others = (b[0] - a[0]) - (ours_b[0] - ours[0]) - kernel
                    span = max(1, b[1] - a[1])
                    self.results["steps"][name] = {
                        "seconds": round(time.monotonic() - ts, 1), "cpu_busy_pct": round(busy_pct(a, b), 1),
                        "kernel_threads_pct": round(100.0 * kernel / span, 1),
                        "others_busy_pct": round(100.0 * max(0, others) / span, 1)}
        finally:
            self.results["runtime_s"] = time.monotonic() - t0
            os.makedirs(BUILD, exist_ok=True)
            with open(os.path.join(BUILD, "results.json"), "w") as f:
                json.dump(self.results, f, indent=1)
            self.teardown()
        self.results["background_after"] = background_load()
        with open(os.path.join(BUILD, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        md = report(self.results)
        with open(os.path.join(BUILD, "results.md"), "w") as f:
            f.write(md)
        print(md)


def perf_report(data, extra):
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none", "--percent-limit", "1"] + extra,
                       capture_output=True, text=True, timeout=120)
    rows = []
    for line in r.stdout.splitlines():
        parts = line.split()
        while parts and parts[-1] == "-":
            parts.pop()
        if len(parts) >= 2 and parts[0].endswith("%"):
            rows.append(parts)
    return rows


def perf_top(data, extra, n=14):
    """Symbols by inclusive share of samples ("children"), unresolved addresses left out."""
    top = []
    for parts in perf_report(data, ["--children", "--sort", "symbol"] + extra):
        # children%, self%, [.]/[k], symbol...
        if len(parts) < 3:
            continue
        sym = " ".join(parts[3:]) if parts[2].startswith("[") else " ".join(parts[2:])
        if sym.startswith("0x") or sym.startswith("0000") or not sym:
            continue
        top.append({"children": float(parts[0].rstrip("%")), "self": float(parts[1].rstrip("%")),
                    "symbol": sym[:140]})
        if len(top) >= n:
            break
    return top


def perf_comms(data):
    out = {}
    for parts in perf_report(data, ["--no-children", "--sort", "comm"]):
        out[" ".join(parts[1:])] = float(parts[0].rstrip("%"))
    return out


def cpu_sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def busy_pct(a, b):
    return 100.0 * (b[0] - a[0]) / max(1, b[1] - a[1])


def background_load(seconds=3.0):
    """Machine-wide CPU use while nothing of this benchmark runs."""
    a = cpu_sample()
    time.sleep(seconds)
    return {"cpu_busy_pct": round(busy_pct(a, cpu_sample()), 1), "loadavg": open("/proc/loadavg").read().split()[:3]}


def parse_strace(text):
    """strace -c table -> {syscall: {calls, seconds}}."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            try:
                rows[parts[-1]] = {"calls": int(parts[3]), "seconds": float(parts[1])}
            except ValueError:
                continue
    return rows


def breakdown_stats(server):
    """[(client µs, the worker's apply_breakdown.last or None)] -> p50/p90 of each phase and of the
    client's round trip minus the worker's total, or None."""
    paired = [(us, b) for us, b in server if b]
    if not paired:
        return None
    bd = {ph: {"p50": pct([b[ph] for _, b in paired], 50), "p90": pct([b[ph] for _, b in paired], 90)}
          for ph in PHASES + ["total"]}
    rest = [us - b["total"] for us, b in paired]
    bd["client_minus_server"] = {"p50": pct(rest, 50), "p90": pct(rest, 90)}
    return dict(bd, n=len(paired), of=len(server))


# ------------------------------------------------------------------------------------------------
# timeline: kernel tracepoints joined with the client's times (all CLOCK_MONOTONIC microseconds)

def parse_trace(text, pids):
    """`perf script -F pid,cpu,time,event,trace` -> [(t_us, pid, kind, fields)] of the given pids,
    kind one of recv, send, fsync_enter, fsync_exit, rename, sig_gen (fields: sig, to),
    sig_deliver (fields: sig, cpu), woken (fields: cpu = target CPU; pid = the woken task),
    runs (fields: cpu; pid = the task switched in)."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4:
            continue
        try:
            pid, cpu, t = int(parts[0]), int(parts[1].strip("[]")), float(parts[2].rstrip(":")) * 1e6
        except ValueError:
            continue
        name, rest = parts[3].rstrip(":"), parts[4] if len(parts) > 4 else ""
        f = {}
        if name.startswith("sched:"):
            if name == "sched:sched_wakeup":
                m = re.search(r" pid=(\d+) .*target_cpu=(\d+)", rest)
                if m and int(m.group(1)) in pids:
                    out.append((t, int(m.group(1)), "woken", {"cpu": int(m.group(2))}))
            elif name == "sched:sched_switch":
                m = re.search(r"next_comm=(.*) next_pid=(\d+)", rest)
                if m:
                    out.append((t, int(m.group(2)), "runs", {"cpu": cpu, "comm": m.group(1)}))
            continue
        if pid not in pids:
            continue
        if name.startswith("signal:"):
            for kv in rest.split():
                k, _, v = kv.partition("=")
                f[k] = v
            if name == "signal:signal_generate":
                out.append((t, pid, "sig_gen", {"sig": int(f.get("sig", 0)), "to": int(f.get("pid", 0))}))
            else:
                out.append((t, pid, "sig_deliver", {"sig": int(f.get("sig", 0)), "cpu": cpu}))
            continue
        call = name.split(":")[-1]
        kind = {"sys_enter_recvfrom": "recv", "sys_enter_sendto": "send", "sys_enter_sendmsg": "send",
                "sys_enter_fsync": "fsync_enter", "sys_enter_fdatasync": "fsync_enter",
                "sys_exit_fsync": "fsync_exit", "sys_exit_fdatasync": "fsync_exit",
                "sys_enter_rename": "rename", "sys_enter_renameat": "rename",
                "sys_enter_renameat2": "rename"}.get(call)
        if kind:
            out.append((t, pid, kind, {}))
    out.sort(key=lambda e: e[0])
    return out


def _window(ev, t_from, t_to):
    i = bisect.bisect_left(ev, t_from, key=lambda e: e[0])
    while i < len(ev) and ev[i][0] <= t_to:
        yield ev[i]
        i += 1


def _first(ev, t_from, t_to, pid, kind, pred=None):
    for e in _window(ev, t_from, t_to):
        if e[0] > t_to:
            return None
        if e[1] == pid and e[2] == kind and (pred is None or pred(e[3])):
            return e[0]
    return None


def _fsyncs(ev, t_from, t_to, pid):
    """(count, total µs, first enter, last exit) of pid's fsyncs inside [t_from, t_to]."""
    n, total, first, last, enter = 0, 0.0, None, None, None
    for t, p, kind, _ in _window(ev, t_from, t_to):
        if p != pid:
            continue
        if kind == "fsync_enter":
            enter = t
            first = t if first is None else first
        elif kind == "fsync_exit" and enter is not None:
            n, total, last, enter = n + 1, total + t - enter, t, None
    return n, total, first, last


def _phase_stats(rows, names):
    return {k: {"p50": pct([r[k] for r in rows], 50), "p90": pct([r[k] for r in rows], 90)} for k in names}


HOOK_TL = ["request_in", "before_fsync", "fsync", "file_other", "postmaster_wake", "postmaster_reload",
           "worker_wake", "worker_reload_to_answer", "answer_out", "total"]


def hook_timeline(ev, applies, wpid, ppid):
    """Per hook apply [t0, t1]: request in (client send -> the worker's recv), the worker's work up to
    its first fsync (parse, plan, render, write), its fsyncs, the other file work up to its signal
    (rename, directory), the postmaster's wake-up and reload (up to its SIGHUP to the worker), the
    worker's wake-up, its reload, verification and answer (up to its send), the answer's way out."""
    rows, fsync_counts, renames, fanout, same_cpu, waits, ran_first = [], [], [], [], 0, [], {}
    for t0, t1 in applies:
        t_recv = _first(ev, t0, t1, wpid, "recv")
        t_kill = _first(ev, t0, t1, wpid, "sig_gen", lambda f: f["sig"] == 1 and f["to"] == ppid)
        if t_recv is None or t_kill is None:
            continue
        nf, fs, f_first, _ = _fsyncs(ev, t_recv, t_kill, wpid)
        t_pm = _first(ev, t_kill, t1, ppid, "sig_deliver", lambda f: f["sig"] == 1)
        if t_pm is None:
            continue
        t_pm_w = _first(ev, t_pm, t1, ppid, "sig_gen", lambda f: f["sig"] == 1 and f["to"] == wpid)
        t_wk = _first(ev, t_pm_w or t1, t1, wpid, "sig_deliver", lambda f: f["sig"] == 1) if t_pm_w else None
        t_send = _first(ev, t_wk, t1, wpid, "send") if t_wk else None
        if None in (t_pm_w, t_wk, t_send) or f_first is None:
            continue
        # the worker was made runnable by the postmaster's signal (woken), then waited for a CPU
        t_woken = _first(ev, t_pm, t_wk, wpid, "woken")
        t_runs = _first(ev, t_woken, t_wk, wpid, "runs") if t_woken else None
        if t_woken is not None and t_runs is not None:
            waits.append(t_runs - t_woken)
            cpu = next(e[3]["cpu"] for e in _window(ev, t_runs, t_runs) if e[1] == wpid and e[2] == "runs")
            # who had the worker's CPU while it waited
            for e in _window(ev, t_woken, t_runs):
                if e[2] == "runs" and e[3]["cpu"] == cpu and e[1] != wpid:
                    who = ("postmaster" if e[1] == ppid else "other postgres processes" if e[3]["comm"] == "postgres"
                           else "idle" if e[1] == 0 else e[3]["comm"].split("/")[0])
                    ran_first[who] = ran_first.get(who, 0) + 1
        rows.append({"request_in": t_recv - t0, "before_fsync": f_first - t_recv, "fsync": fs,
                     "file_other": t_kill - f_first - fs, "postmaster_wake": t_pm - t_kill,
                     "postmaster_reload": t_pm_w - t_pm, "worker_wake": t_wk - t_pm_w,
                     "worker_reload_to_answer": t_send - t_wk, "answer_out": t1 - t_send, "total": t1 - t0})
        fsync_counts.append(nf)
        d_pm = [e for e in _window(ev, t_pm, t_pm) if e[1] == ppid and e[2] == "sig_deliver"]
        d_wk = [e for e in _window(ev, t_wk, t_wk) if e[1] == wpid and e[2] == "sig_deliver"]
        same_cpu += bool(d_pm and d_wk and d_pm[0][3]["cpu"] == d_wk[0][3]["cpu"])
        renames.append(sum(1 for e in _window(ev, t_recv, t_kill) if e[1] == wpid and e[2] == "rename"))
        fanout.append(sum(1 for e in _window(ev, t_pm, t_pm_w) if e[1] == ppid and e[2] == "sig_gen"
                          and e[3]["sig"] == 1))
    if not rows:
        return {"n": 0, "of": len(applies)}
    return {"n": len(rows), "of": len(applies), "phases": _phase_stats(rows, HOOK_TL),
            "fsyncs_per_apply": pct(fsync_counts, 50), "renames_per_apply": pct(renames, 50),
            "postmaster_signals_up_to_worker": pct(fanout, 50), "worker_on_postmaster_cpu": same_cpu,
            "worker_runnable_to_running": {"n": len(waits), "p50": pct(waits, 50), "p90": pct(waits, 90)},
            "ran_on_worker_cpu_meanwhile": dict(sorted(ran_first.items(), key=lambda kv: -kv[1]))}


FLOOR_TL = ["alter_stripe", "alter_stripe_fsync", "alter_connstring", "alter_connstring_fsync", "reload_call",
            "total", "after_total_postmaster_reload_done", "after_total_worker_reloaded"]


def floor_timeline(ev, applies, bpid, ppid, wpid):
    """Per (a0) apply [t0, end of ALTER 1, end of ALTER 2, end of pg_reload_conf()]: each statement's
    client time and the fsync time of the backend inside it; and, after the apply has returned, how
    long until the postmaster's reload reached the hook worker (which (a0) does not wait for)."""
    rows, fsync_counts, renames = [], [], []
    for t0, e1, e2, e3 in applies:
        n1, f1, _, _ = _fsyncs(ev, t0, e1, bpid)
        n2, f2, _, _ = _fsyncs(ev, e1, e2, bpid)
        t_pm = _first(ev, e2, e3 + 200000, ppid, "sig_deliver", lambda f: f["sig"] == 1)
        t_pm_w = _first(ev, t_pm, e3 + 200000, ppid, "sig_gen", lambda f: f["sig"] == 1 and f["to"] == wpid) \
            if t_pm else None
        t_wk = _first(ev, t_pm_w, e3 + 200000, wpid, "sig_deliver", lambda f: f["sig"] == 1) if t_pm_w else None
        if t_wk is None:
            continue
        rows.append({"alter_stripe": e1 - t0, "alter_stripe_fsync": f1, "alter_connstring": e2 - e1,
                     "alter_connstring_fsync": f2, "reload_call": e3 - e2, "total": e3 - t0,
                     "after_total_postmaster_reload_done": t_pm_w - e3, "after_total_worker_reloaded": t_wk - e3})
        fsync_counts.append(n1 + n2)
        renames.append(sum(1 for e in _window(ev, t0, e2) if e[1] == bpid and e[2] == "rename"))
    if not rows:
        return {"n": 0, "of": len(applies)}
    return {"n": len(rows), "of": len(applies), "phases": _phase_stats(rows, FLOOR_TL),
            "fsyncs_per_apply": pct(fsync_counts, 50), "renames_per_apply": pct(renames, 50)}


# ------------------------------------------------------------------------------------------------
# report

def verdict(ok):
    return "met" if ok else "**missed**"


def report(R):
    L = []
    add = L.append
    m = R.get("machine", {})
    add("## Results of this run\n")
    so = m.get("pg_storcon_so", {})
    add(f"Run {R['started']}, bench/run total {R['runtime_s']:.0f} s. Machine: {m.get('nproc')} cores, "
        f"{m.get('cpu')}, kernel {m.get('kernel')}, {m.get('pg', '').split(' on ')[0]}, /tmp on "
        f"{m.get('tmp_fs')}. Settings: {R.get('settings')}. pg_storcon.so md5 {so.get('md5')} "
        f"(installed {so.get('mtime')} UTC), extension version {m.get('extversion')}; bench/ at "
        f"{m.get('bench_commit', '?')}.\n")
    if R.get("background_before"):
        per = "; ".join(f"{k} {v['seconds']} s: {v['cpu_busy_pct']} % busy, kernel threads "
                        f"{v.get('kernel_threads_pct', '?')} %, other processes {v.get('others_busy_pct', '?')} %"
                        for k, v in (R.get("steps") or {}).items())
        add(f"Machine load without the benchmark (CPU busy % of both CPUs over 3 s): before "
            f"{R['background_before']}, after {R.get('background_after')}. Per step, the machine-wide busy %, "
            f"the part used by kernel threads (journal commits, kworkers) and the part used by processes other "
            f"than the benchmark, its clients and its cluster: {per}.\n")
    add(f"Latencies are client round trips; \"stalls\" counts answers slower than {STALL_US / 1e6:.1f} s.\n")
    add("| measurement | n | p50 | p90 | p99 | stalls | ratio |")
    add("|---|---|---|---|---|---|---|")

    def row(name, s, ratio="", stalls=True):
        add(f"| {name} | {s['n']} | {ms(s['p50']):.3f} ms | {ms(s['p90']):.3f} ms | {ms(s['p99']):.3f} ms | "
            f"{s.get('stalls', 0) if stalls else '–'} | {ratio} |")

    targets = []
    extra = []  # sections printed after the main table
    a = R.get("apply")
    if a:
        h, q0, q, sc = a["hook"], a["sql0"], a["sql"], a["sidecar"]
        row(f"1. hook apply, 4 shards, keep-alive (errors {h['errors']})", h,
            f"**{h['p50'] / q0['p50']:.2f} × (a0)**, {h['p50'] / q['p50']:.2f} × (a); p99/p50 = "
            f"{h['p99'] / h['p50']:.2f}")
        row(f"1. baseline (a0): open session, ALTER SYSTEM ×2 + pg_reload_conf(), no verification "
            f"(errors {q0['errors']})", q0, "1.00", stalls=False)
        row(f"1. baseline (a): (a0), then poll new sessions until one sees the value "
            f"({q.get('mean_polls', 0):.2f} sessions/apply, errors {q['errors']})", q,
            f"{q['p50'] / q0['p50']:.2f} × (a0)", stalls=False)
        row(f"1. baseline (b): sidecar, (a) on a new connection per notification (errors {sc['errors']})", sc,
            f"{sc['p50'] / q0['p50']:.2f} × (a0); hook = {h['p50'] / sc['p50']:.2f} × (b)", stalls=False)
        spd = a.get("spaced")
        if spd:
            hs, qs = spd["hook"], spd["sql0"]
            row(f"1. hook apply, each after {SPACED_US // 1000} ms of quiet", hs,
                f"**{hs['p50'] / qs['p50']:.2f} × (a0) spaced**; p99/p50 = {hs['p99'] / hs['p50']:.2f}")
            row(f"1. baseline (a0), each after {SPACED_US // 1000} ms of quiet", qs, "1.00", stalls=False)
        targets.append(("apply p50 ≤ 0.8 × (a0) p50", h["p50"] / q0["p50"] <= 0.8,
                        f"{h['p50'] / q0['p50']:.2f} × ({ms(h['p50']):.2f} ms vs {ms(q0['p50']):.2f} ms); "
                        f"vs the polled (a): {h['p50'] / q['p50']:.2f} ×"))
        if spd:
            targets.append((f"the same, each apply after {SPACED_US // 1000} ms of quiet",
                            spd["hook"]["p50"] / spd["sql0"]["p50"] <= 0.8,
                            f"{spd['hook']['p50'] / spd['sql0']['p50']:.2f} × ({ms(spd['hook']['p50']):.2f} ms vs "
                            f"{ms(spd['sql0']['p50']):.2f} ms); hook p99/p50 "
                            f"{spd['hook']['p99'] / spd['hook']['p50']:.2f}"))
        targets.append(("apply p99 ≤ 2 × apply p50", h["p99"] / h["p50"] <= 2.0,
                        f"{h['p99'] / h['p50']:.2f} × ({ms(h['p99']):.2f} ms vs {ms(h['p50']):.2f} ms)"))
        bd = h.get("breakdown")
        if bd:
            x = [f"### Breakdown of one hook apply (step 1, the worker's own timestamps)\n",
                 f"GET /status after each of the {bd['of']} hook applies (outside the timed request) gives the "
                 f"worker's \"apply_breakdown.last\"; {bd['n']} could be attributed to their apply (the worker's "
                 "\"applied\" counter moved by exactly one). \"client − server\" is the client's round trip "
                 "minus the worker's total for the same apply: HTTP in and out, parsing and planning before the "
                 "write starts, and the answer after the verification.\n",
                 f"The last two columns are the same for the applies that start after {SPACED_US // 1000} ms of "
                 "quiet.\n",
                 "| phase (worker) | what | p50 | p90 | spaced p50 | spaced p90 |", "|---|---|---|---|---|---|"]
            bs = (a.get("spaced") or {}).get("hook", {}).get("breakdown") or {}
            what = {"write": "render + write the file, excluding fsync", "fsync": "fsyncs of the file and "
                    "the directory", "signal": "kill(postmaster, SIGHUP)", "wake_up": "until the worker wakes "
                    "for the postmaster's reload (postmaster reload + fan-out + wake-up)",
                    "reload": "the worker's own ProcessConfigFile", "verify": "until the answers are queued",
                    "total": "sum of the above", "client_minus_server": "client round trip − total"}
            def sp(ph, p):
                return f"{bs[ph][p] / 1000:.3f} ms" if ph in bs else "–"
            for ph in PHASES + ["total", "client_minus_server"]:
                x.append(f"| {ph} | {what[ph]} | {bd[ph]['p50'] / 1000:.3f} ms | {bd[ph]['p90'] / 1000:.3f} ms | "
                         f"{sp(ph, 'p50')} | {sp(ph, 'p90')} |")
            hs = (a.get("spaced") or {}).get("hook")
            x.append(f"| client round trip | (the row above) | {ms(h['p50']):.3f} ms | {ms(h['p90']):.3f} ms | "
                     + (f"{ms(hs['p50']):.3f} ms | {ms(hs['p90']):.3f} ms |" if hs else "– | – |"))
            x.append("")
            extra += x
        if q0.get("steps"):
            qs = (a.get("spaced") or {}).get("sql0") or {}
            x = ["### Breakdown of the SQL baselines (step 1, client side, per statement)\n",
                 f"| step | (a0) p50 | (a0) p90 | (a0) spaced {SPACED_US // 1000} ms p50 | (a) p50 | (b) p50 |",
                 "|---|---|---|---|---|---|"]
            for st in STEP_NAMES:
                def g(d, k=st, p="p50"):
                    v = d.get("steps", {}).get(k)
                    return f"{v[p] / 1000:.3f} ms" if v else "–"
                x.append(f"| {st} | {g(q0)} | {g(q0, p='p90')} | {g(qs)} | {g(q)} | {g(sc)} |")
            x.append(f"| total | {ms(q0['p50']):.3f} ms | {ms(q0['p90']):.3f} ms | "
                     + (f"{ms(qs['p50']):.3f} ms" if qs else "–")
                     + f" | {ms(q['p50']):.3f} ms | {ms(sc['p50']):.3f} ms |")
            x.append("")
            extra += x
    n = R.get("noop")
    if n and a:
        ap = a["hook"]["p50"]

        def r_ap(s):
            return f"{s['p50'] / ap:.3f} × apply p50"
        row("2. no-op (same placement re-sent), keep-alive, back to back", n["unchanged"], r_ap(n["unchanged"]))
        row("2. not hosted (other tenant), keep-alive, back to back", n["not_hosted"], r_ap(n["not_hosted"]))
        row("2. reference: GET /healthz, keep-alive, back to back", n["healthz"], r_ap(n["healthz"]))
        row(f"2. no-op, keep-alive, spaced {GAP_US} µs", n["unchanged_spaced"], r_ap(n["unchanged_spaced"]))
        row(f"2. not hosted, keep-alive, spaced {GAP_US} µs", n["not_hosted_spaced"], r_ap(n["not_hosted_spaced"]))
        row(f"2. reference: GET /healthz, spaced {GAP_US} µs", n["healthz_spaced"], r_ap(n["healthz_spaced"]))
        row("2. no-op, new connection per request", n["unchanged_fresh"], r_ap(n["unchanged_fresh"]))
        row("2. not hosted, new connection per request", n["not_hosted_fresh"], r_ap(n["not_hosted_fresh"]))
        row("2. reference: GET /healthz, new connection per request", n["healthz_fresh"], r_ap(n["healthz_fresh"]))
        row("2. apply, new connection per request", n["apply_fresh"],
            f"{n['apply_fresh']['p50'] / ap:.2f} × apply p50 (keep-alive)")
        for key, label in (("unchanged", "no-op"), ("not_hosted", "not-hosted")):
            s, sp = n[key], n[key + "_spaced"]
            targets.append((f"{label} p50 ≤ 0.05 × apply p50", s["p50"] / ap <= 0.05,
                            f"{s['p50'] / ap:.3f} × back to back ({ms(s['p50']):.3f} ms; {s['stalls']} of {s['n']} "
                            f"answers stalled); spaced {GAP_US} µs: {sp['p50'] / ap:.3f} ×; new connection: "
                            f"{n[key + '_fresh']['p50'] / ap:.3f} ×"))
    ld = R.get("load")
    if ld:
        one = ld.get("single")
        if one:
            row(f"3. one sender, same 4 placements in turn, {one['seconds']:.0f} s (errors {one['errors']}; "
                f"worker writes {(one.get('writes') or {}).get('rename', '?')})", one,
                f"{one['p50'] / a['hook']['p50']:.2f} × step 1 apply p50" if a else "1.00", stalls=False)
        ratio = f"p50 = **{ld['p50'] / one['p50']:.2f} × one sender**" if one else ""
        w = ld.get("writes") or {}
        row(f"3. 32 senders, {ld['seconds']:.0f} s: {ld['requests']} answers = {ld['throughput_rps']:.0f}/s, "
            f"errors {ld['errors']}, worker writes {w.get('rename', '?')}", ld, ratio, stalls=False)
        if one:
            targets.append(("32 senders: p50 ≤ 3 × single-sender p50", ld["p50"] / one["p50"] <= 3.0,
                            f"{ld['p50'] / one['p50']:.2f} × ({ms(ld['p50']):.2f} ms vs {ms(one['p50']):.2f} ms)"))
        ok = ld["errors"] == 0 and ld["final_matches_last_ack"] and ld["torn_count"] == 0
        la = ld.get("last_ack") or {}
        targets.append(("32 senders: 0 errors, final state = the last acknowledged body (by seq)", ok,
                        f"errors {ld['errors']}; final = body of the highest-seq applied/unchanged answer "
                        f"(seq {la.get('seq')}, {la.get('status')}): {ld['final_matches_last_ack']}; torn "
                        f"records {ld['torn_count']} of {ld['history_records_checked']} checked"))
        oc = ld.get("outcomes") or {}
        per_write = ld["requests"] / w["rename"] if w.get("rename") else float("nan")
        extra += ["### 32 senders of one tenant (step 3)\n",
                  f"Answers by status: {ld['statuses']}. The worker's outcome counters over the run: "
                  f"{dict(sorted(oc.items()))}. The worker wrote postgresql.auto.conf {w.get('rename', '?')} times "
                  f"(renames counted by `perf stat` on its process; fsyncs {w.get('fsync', '?')}) for "
                  f"{ld['requests']} notifications: {per_write:.1f} notifications per write. Highest seq of any answer: "
                  f"{ld.get('last_answer')}. p50/p90/p99 {ms(ld['p50']):.2f}/{ms(ld['p90']):.2f}/"
                  f"{ms(ld['p99']):.2f} ms; answers slower than 10 ms: "
                  f"{ld.get('over_10ms', '?')} of {ld['requests']}.\n"]
        fl = ld.get("audit_flushes")
        if fl:
            extra.append(f"The worker's audit-log flushes during the 32-sender run (uprobes on AuditLog::flush): "
                         f"{fl['n']} flushes, p50 {fl['p50_ms']:.1f} ms, p90 {fl['p90_ms']:.1f} ms, max "
                         f"{fl['max_ms']:.1f} ms, {fl['total_ms'] / 1000 / ld['seconds'] * 100:.1f} % of the run's "
                         f"wall time; about {ld['requests'] / fl['n']:.0f} notifications recorded per flush. While "
                         f"a flush runs the worker answers nothing.\n")
    c = R.get("catalog")
    if c:
        row(f"4. sync_catalog(), 4 nodes (returned {c['sync_small']['result']})", c["sync_small"],
            f"{c['sync_small']['p50'] / c['fetch_small']['p50']:.2f} × fetch", stalls=False)
        row(f"4. baseline: GET node + safekeeper lists, 4 nodes ({c['fetch_small']['bytes']} B)", c["fetch_small"],
            "1.00", stalls=False)
        row(f"4. sync_catalog(), 10,000 nodes + 1,000 safekeepers (returned {c['sync_10k']['result']})",
            c["sync_10k"], f"{c['sync_10k']['p50'] / c['fetch_10k']['p50']:.2f} × fetch; "
                           f"{c['sync_10k']['p50'] / 1e6:.2f} × the 1 s target", stalls=False)
        row(f"4. baseline: GET node + safekeeper lists, 10k ({c['fetch_10k']['bytes']} B)", c["fetch_10k"], "1.00",
            stalls=False)
        add(f"| 4. hook: notification naming an unknown node, directory refreshed (10k + 1k) | 1 | "
            f"{c['refresh_on_miss_ms']:.1f} ms | | | | answer {c['refresh_on_miss_reply'][0]} "
            f"{c['refresh_on_miss_reply'][1]} |")
        sm, bg = c["small"], c["big"]
        u, u10 = sm["unchanged"], bg["unchanged"]
        b, b10 = sm["unchanged_128"], bg["unchanged_128"]
        ap, ap10 = sm["apply"], bg["apply"]
        row(f"4. no-op, 4 shards, spaced {GAP_US} µs, 4-node directory", u, "1.00")
        row(f"4. no-op, 4 shards, spaced {GAP_US} µs, 10k-node directory", u10, f"{u10['p50'] / u['p50']:.2f} × 4-node")
        row(f"4. no-op, 128 shards (nodes 1-4 repeated), spaced, 4-node directory", b, "1.00")
        row(f"4. no-op, 128 shards (nodes 1-4 repeated), spaced, 10k-node directory", b10,
            f"{b10['p50'] / b['p50']:.2f} × 4-node")
        bd = bg.get("unchanged_128_distinct")
        if bd:
            row(f"4. no-op, 128 shards (128 distinct nodes of the 10k), spaced, 10k-node directory", bd,
                f"{bd['p50'] / b['p50']:.2f} × 4-node (nodes 1-4 repeated)")
        row(f"4. apply, 4 shards, keep-alive, 4-node directory (errors {ap['errors']})", ap, "1.00")
        row(f"4. apply, 4 shards, keep-alive, 10k-node directory (errors {ap10['errors']})", ap10,
            f"{ap10['p50'] / ap['p50']:.2f} × 4-node")
        ps_small = (b["p50"] - u["p50"]) / 124
        ps_big = (b10["p50"] - u10["p50"]) / 124
        add(f"| 4. marginal cost of one more shard in a no-op (128 vs 4 shards, p50) | | 4-node dir "
            f"{ps_small:.2f} µs, 10k dir {ps_big:.2f} µs | | | | "
            f"{(ps_big / ps_small) if ps_small > 0 else float('nan'):.2f} × |")
        r1, r3, r2 = u10["p50"] / u["p50"], b10["p50"] / b["p50"], ap10["p50"] / ap["p50"]
        rd = f", 128 distinct nodes {bd['p50'] / b['p50']:.2f} ×" if bd else ""
        targets.append(("resolution O(1) per shard: same request, 10k- vs 4-node directory, flat (≤ 1.5 ×; a "
                        "linear scan would be ~2,500 ×)", max(r1, r2, r3) <= 1.5,
                        f"no-op {r1:.2f} ×, 128-shard no-op {r3:.2f} ×{rd}, apply {r2:.2f} ×; per extra shard "
                        f"{ps_small:.2f} µs vs {ps_big:.2f} µs"))
        targets.append(("sync of 10k nodes ≤ 1 s", c["sync_10k"]["p50"] <= 1e6,
                        f"p50 {c['sync_10k']['p50'] / 1e6:.3f} s = {c['sync_10k']['p50'] / 1e6:.2f} × 1 s "
                        f"(max {c['sync_10k']['max'] / 1e6:.3f} s)"))
    mem = R.get("memory")
    if mem:
        b, e = mem["before"], mem["after"]
        kinds = ", ".join(f"{k} {v['count']}" for k, v in sorted(mem["kinds"].items()))
        outc = ", ".join(f"{k} {v}" for k, v in sorted(mem["outcomes"].items()))
        anon = [x["RssAnon_kB"] for x in mem["samples"]]
        anon_growth = e["RssAnon_kB"] - b["RssAnon_kB"]
        anon_rise = e["RssAnon_kB"] - min(anon)  # growth from the lowest sample: a drop cannot hide a leak
        add(f"| 5. hook worker RssAnon over {mem['sent']} requests from {mem['senders']} senders in "
            f"{mem['elapsed_s']:.0f} s (sent: {kinds}; answers: {outc}) | {mem['sent']} | {b['RssAnon_kB']} kB → "
            f"{e['RssAnon_kB']} kB | VmRSS {b['VmRSS_kB']} → {e['VmRSS_kB']} kB | RssShmem {b['RssShmem_kB']} → "
            f"{e['RssShmem_kB']} kB | {mem['stalls']} | RssAnon {anon_growth:+d} kB (from the lowest sample "
            f"{anon_rise:+d} kB) |")
        na = mem.get("not_hosted_after")
        if na and a:
            nv = mem.get("not_hosted_after_vacuum")
            targets.append((f"not-hosted p50 ≤ 0.05 × apply p50, again after the {mem['sent']} requests of step 5",
                            na["p50"] / a["hook"]["p50"] <= 0.05,
                            f"{na['p50'] / a['hook']['p50']:.3f} × ({ms(na['p50']):.3f} ms); after a manual VACUUM "
                            f"of storcon.notifications: "
                            + (f"{nv['p50'] / a['hook']['p50']:.3f} ×" if nv else "not measured")))
        if na and n:
            row("5. not hosted, keep-alive, back to back, right after the memory run (compare step 2)", na,
                f"{na['p50'] / n['not_hosted']['p50']:.1f} × step 2")
            nv = mem.get("not_hosted_after_vacuum")
            if nv:
                row("5. the same after a manual VACUUM storcon.notifications", nv,
                    f"{nv['p50'] / n['not_hosted']['p50']:.1f} × step 2")
        mb = mem.get("malloc") or [None, None]
        cb = mem.get("contexts_used_bytes") or [None, None]
        short = "" if mem["sent"] >= 100000 else (
            f" (only {mem['sent']} requests: " + ("the step's time bound stopped it)" if mem["sent"] < mem["requested"]
                                                  else "the run was configured for that many)"))
        targets.append(("worker private memory (RssAnon) growth ≤ 1 MiB over 100k requests",
                        max(anon_growth, anon_rise) <= 1024 and mem["same_pid"] and mem["sent"] >= 100000,
                        f"RssAnon {anon_growth:+d} kB over {mem['sent']} requests, {anon_rise:+d} kB from its lowest "
                        f"sample{short}; same worker pid: {mem['same_pid']}. (VmRSS {mem['growth_kB']:+d} kB, of "
                        f"which RssShmem {e['RssShmem_kB'] - b['RssShmem_kB']:+d} kB: shared buffers, see below)"
                        + (f"; malloc in use {(mb[1]['in_use'] - mb[0]['in_use']) // 1024:+d} kB, memory contexts "
                           f"{cb[1] - cb[0]:+d} bytes" if None not in mb and None not in cb else "")))
    add("")
    if mem:
        add("RSS samples (requests sent → VmRSS / RssAnon / RssShmem kB): " + ", ".join(
            f"{s['after_requests']} → {s['VmRSS_kB']}/{s['RssAnon_kB']}/{s['RssShmem_kB']}" for s in mem["samples"]))
        add("")
        add("Audit table storcon.notifications at each sample (requests → kB on disk / rows / inserts, deletes and "
            "dead rows as the statistics that drive autovacuum see them / autovacuum runs): " + ", ".join(
                f"{s['after_requests']} → {s['audit']['bytes'] // 1024} kB/{s['audit']['rows']}/"
                f"{s['audit']['stats_inserted']},{s['audit']['stats_deleted']},{s['audit']['stats_dead']}/"
                f"{s['audit']['autovacuums']}" for s in mem["samples"] if s.get("audit")))
        add("")
        add("p50 per 10% of the memory run (apply / unchanged / not_hosted, ms): " + ", ".join(
            "/".join(f"{ms(s['p50_us'].get(k, 0)):.2f}" for k in ("apply", "unchanged", "not_hosted"))
            for s in mem["samples"] if s.get("p50_us")))
        add("")
        cb = mem.get("contexts_used_bytes") or [None, None]
        if None not in cb:
            add(f"The worker's PostgreSQL memory contexts (pg_log_backend_memory_contexts, bytes used) before and "
                f"after the run: {cb[0]} → {cb[1]} ({cb[1] - cb[0]:+d} bytes). RssAnon also counts the C++ side's "
                "malloc heap (JSON, HTTP, curl), whose high-water mark moves in steps.\n")
        mb = mem.get("malloc") or [None, None]
        if None not in mb:
            add(f"The worker's malloc heap (mallinfo2() through gdb) before and after the run: in use "
                f"{mb[0]['in_use'] // 1024} kB → {mb[1]['in_use'] // 1024} kB; taken from the system (arena) "
                f"{mb[0]['arena'] // 1024} kB → {mb[1]['arena'] // 1024} kB, of which free {mb[0]['free'] // 1024} kB "
                f"→ {mb[1]['free'] // 1024} kB. RssAnon follows the arena (freed memory is kept), not what is in use.\n")
        add(f"WAL written during the memory run: {mem['wal_bytes'] / 1048576:.1f} MiB.")
        add("")
    for name, tb in (R.get("failed_steps") or {}).items():
        add(f"**Step {name} failed** (its figures are missing): `{tb.strip().splitlines()[-1]}`\n")
    add("### Targets\n")
    add("| target | verdict | measured |")
    add("|---|---|---|")
    for name, ok, txt in targets:
        add(f"| {name} | {verdict(ok)} | {txt} |")
    add("")
    L.extend(extra)
    tl = R.get("timeline")
    if tl and tl.get("hook", {}).get("phases"):
        hk, fl = tl["hook"], tl["sql0"]
        add(f"### Timeline of one apply from kernel timestamps (step 6: perf tracepoints, {tl['n']} applies of "
            "each kind spaced 20 ms, joined with the client's CLOCK_MONOTONIC times)\n")
        add(f"Hook: {hk['n']} of {hk['of']} applies matched; per apply {hk['fsyncs_per_apply']} fsync(s), "
            f"{hk['renames_per_apply']} rename(s) by the worker; the postmaster signals "
            f"{hk['postmaster_signals_up_to_worker']} children up to and including the worker; in "
            f"{hk.get('worker_on_postmaster_cpu', '?')} of {hk['n']} applies the worker took its SIGHUP on the CPU "
            "where the postmaster took its own (so it waited for the postmaster's reload, fan-out and whatever "
            "it signalled first to leave that CPU). From the scheduler's events, the worker went from runnable "
            "(woken by the postmaster's SIGHUP) to running in "
            + (f"{hk['worker_runnable_to_running']['p50'] / 1000:.3f} ms p50, "
               f"{hk['worker_runnable_to_running']['p90'] / 1000:.3f} ms p90"
               if hk.get("worker_runnable_to_running", {}).get("n") else "(not measured)")
            + f"; switched in on its CPU meanwhile (times, over all applies): {hk.get('ran_on_worker_cpu_meanwhile')}"
            + ".\n")
        add("| hook phase | from → to | p50 | p90 |")
        add("|---|---|---|---|")
        span = {"request_in": "client starts the request → the worker's first recv",
                "before_fsync": "recv → first fsync (parse, plan, read + render + write the file)",
                "fsync": "inside fsync (all of them)",
                "file_other": "the rest up to kill() (rename, open/close, between fsyncs)",
                "postmaster_wake": "kill() → SIGHUP delivered to the postmaster",
                "postmaster_reload": "→ the postmaster's SIGHUP to the worker (its ProcessConfigFile, fan-out)",
                "worker_wake": "→ SIGHUP delivered to the worker",
                "worker_reload_to_answer": "→ the worker sends the answer (its reload, verification, answer)",
                "answer_out": "send → the client has the answer", "total": "client round trip"}
        for k in HOOK_TL:
            v = hk["phases"][k]
            add(f"| {k} | {span[k]} | {v['p50'] / 1000:.3f} ms | {v['p90'] / 1000:.3f} ms |")
        add("")
        if fl.get("phases"):
            add(f"(a0): {fl['n']} of {fl['of']} applies matched; per apply {fl['fsyncs_per_apply']} fsyncs and "
                f"{fl['renames_per_apply']} renames by the backend.\n")
            add("| (a0) phase | p50 | p90 |")
            add("|---|---|---|")
            for k in FLOOR_TL:
                v = fl["phases"][k]
                add(f"| {k} | {v['p50'] / 1000:.3f} ms | {v['p90'] / 1000:.3f} ms |")
            add("")
    elif tl and tl.get("error"):
        add(f"Timeline failed: {tl['error']}\n")
    p = R.get("profile")
    if p:
        add("")
        add("### System calls per request (strace -c -w, separate pass; times are wall-clock inside the calls)\n")
        add("| requests | process | calls per request (most frequent) | wall time in fsync + rename per request |")
        add("|---|---|---|---|")
        for kind, v in p.items():
            for who in ("worker", "postmaster"):
                if who not in v:
                    continue
                calls = sorted(v[who].items(), key=lambda kv: -kv[1]["calls"])
                top = ", ".join(f"{k} {c['calls'] / v['requests']:.2f}" for k, c in calls[:10])
                total = sum(c["calls"] for c in v[who].values()) / v["requests"]
                fs = sum(c["seconds"] for k, c in v[who].items() if k in ("fsync", "fdatasync", "rename")) / v["requests"]
                add(f"| {kind} ×{v['requests']} | {who} | total {total:.1f}: {top} | {fs * 1000:.2f} ms |")
    pf = R.get("perf")
    if pf:
        w = pf.get("worker_not_hosted_back_to_back")
        if w:
            add("")
            add(f"### perf: hook worker during {w['requests']} back-to-back not-hosted notifications, empty audit "
                f"table (p50 {ms(w['p50_us']):.3f} ms)\n")
            add("| inclusive % | self % | symbol |")
            add("|---|---|---|")
            for t in w["top"]:
                add(f"| {t['children']:.1f} | {t['self']:.1f} | `{t['symbol']}` |")
        w = pf.get("worker_not_hosted_after_memory")
        if w:
            add("")
            add(f"### perf: hook worker during {w['requests']} back-to-back not-hosted notifications right after "
                f"the memory run (p50 {ms(w['p50_us']):.3f} ms)\n")
            add("| inclusive % | self % | symbol |")
            add("|---|---|---|")
            for t in w["top"]:
                add(f"| {t['children']:.1f} | {t['self']:.1f} | `{t['symbol']}` |")
        sc = pf.get("sync_catalog_10k")
        if sc:
            add("")
            add(f"### perf: one storcon.sync_catalog() with 10,004 nodes + 1,000 safekeepers ({sc['ms']:.0f} ms), "
                "all CPUs\n")
            add("Samples by process: " + ", ".join(f"{k} {v:.1f} %" for k, v in sc["by_process"].items()) + "\n")
            add("| inclusive % (of the postgres processes' samples) | self % | symbol |")
            add("|---|---|---|")
            for t in sc["postgres_top"]:
                add(f"| {t['children']:.1f} | {t['self']:.1f} | `{t['symbol']}` |")
        if pf.get("error"):
            add(f"\nperf failed: {pf['error']}")
    add("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", default="apply,noop,catalog,load,memory,profile")
    ap.add_argument("--apply-n", type=int, default=1000, help="hook applies (step 1)")
    ap.add_argument("--baseline-n", type=int, default=500, help="applies of each SQL baseline (step 1)")
    ap.add_argument("--noop-n", type=int, default=1000, help="requests per no-op variant (steps 2, 4)")
    ap.add_argument("--fresh-n", type=int, default=100, help="requests per new-connection variant (step 2)")
    ap.add_argument("--spaced-n", type=int, default=300, help="step 1: hook and (a0) applies spaced 20 ms")
    ap.add_argument("--load-seconds", type=float, default=30.0)
    ap.add_argument("--single-seconds", type=float, default=10.0, help="step 3: the single sender's run")
    ap.add_argument("--mem-n", type=int, default=100000)
    ap.add_argument("--mem-senders", type=int, default=32)
    ap.add_argument("--mem-max-seconds", type=float, default=280.0)
    ap.add_argument("--sync-n", type=int, default=5)
    ap.add_argument("--timeline-n", type=int, default=100, help="step 6: applies of each kind traced with perf")
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                    help="step 1: do not GET /status after each hook apply (the worker's breakdown)")
    ap.add_argument("--quiet-pct", type=float, default=10.0,
                    help="machine-wide CPU busy %% under which the machine counts as idle")
    ap.add_argument("--wait-quiet", type=float, default=180.0,
                    help="wait up to this many seconds for other processes to leave the CPUs idle")
    ap.add_argument("--report-only", action="store_true", help="re-render results.md from results.json")
    args = ap.parse_args()
    if args.report_only:
        with open(os.path.join(BUILD, "results.json")) as f:
            R = json.load(f)
        md = report(R)
        with open(os.path.join(BUILD, "results.md"), "w") as f:
            f.write(md)
        print(md)
        return
    Bench(args).run()


if __name__ == "__main__":
    main()
