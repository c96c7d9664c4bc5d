#!/usr/bin/env python3
"""The HTTP benchmark: starts the upstream and every front bench/gen.py
wrote, checks that each front sends every request of the list to the
backend it must, then measures them with wrk, each in turn, round after
round, and writes the medians and ratios to results.md and every
measurement to results.csv.

Besides requests/s and p99 latency it measures the CPU time the front
process spends per request (from /proc/PID/schedstat): on a machine that is
busy with other work, throughput drops for every front alike, but the CPU
time per request stays what it costs.  "capacity" is that cost as a ratio:
the baseline's CPU per request over the front's, the throughput ratio of
two fronts that each saturate a core.  Before each measurement the machine
is given up to BENCH_QUIET_WAIT seconds to become idle, and the CPU time
used by other processes during the measurement is recorded ("noise").

Settings (environment): BENCH_DURATION (s, 5), BENCH_ROUNDS (3),
BENCH_CONNECTIONS (32), BENCH_THREADS (1), BENCH_WARMUP (s, 1),
BENCH_PIN (1: front on BENCH_FRONT_CPU, wrk and upstream on
BENCH_CLIENT_CPU), BENCH_NICE (-10: as root, the fronts, the upstream
and wrk run at this niceness, ahead of other work), BENCH_QUIET_WAIT (s,
5), BENCH_ONLY (a regex of configuration names), BENCH_NO_CHECK (1: skip
the routing check).
"""

import csv
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time


OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/bench")
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = os.environ.get("BENCH_NGINX", "/usr/sbin/nginx")
HAPROXY = os.environ.get("BENCH_HAPROXY", "haproxy")
WRK = os.environ.get("BENCH_WRK", "wrk")
LUA = os.path.join(TOP, "bench", "paths.lua")


def env(name, default, conv=int):
    v = os.environ.get(name)
    return conv(v) if v not in (None, "") else default


DURATION = env("BENCH_DURATION", 5)
ROUNDS = env("BENCH_ROUNDS", 3)
CONNECTIONS = env("BENCH_CONNECTIONS", 32)
THREADS = env("BENCH_THREADS", 1)
WARMUP = env("BENCH_WARMUP", 1)
PIN = env("BENCH_PIN", 1 if os.cpu_count() >= 2 else 0)
FRONT_CPU = env("BENCH_FRONT_CPU", "0", str)
CLIENT_CPU = env("BENCH_CLIENT_CPU", "1", str)
QUIET_WAIT = env("BENCH_QUIET_WAIT", 5, float)
NICE = env("BENCH_NICE", -10)
QUIET_BUSY = env("BENCH_QUIET_BUSY", 10, float)    # percent of all CPUs
ONLY = env("BENCH_ONLY", "", str)
NO_CHECK = env("BENCH_NO_CHECK", 0)
NCPU = os.cpu_count()
HZ = os.sysconf("SC_CLK_TCK")

LABELS = {
    "baseline": "1. nginx proxy_pass, no routing",
    "nginx-flat": "2a. nginx locations (flat)",
    "nginx-nested": "2b. nginx locations (nested by group)",
    "strangler": "3. nginx + strangler",
    "strangler-guards": "3g. nginx + strangler, a guard on every route",
    "haproxy": "4. HAProxy maps",
}


def log(*a):
    print(*a, flush=True)


def pin(cpu):
    """pinned to a CPU, and ahead of other work on a shared machine"""
    nice = ["nice", "-n", str(NICE)] if NICE and os.geteuid() == 0 else []
    return nice + (["taskset", "-c", cpu] if PIN else [])


# processes ---------------------------------------------------------------

class Server:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.kind = re.sub(r"-\d+$", "", name)
        m = re.search(r"-(\d+)$", name)
        self.n = int(m.group(1)) if m else None
        self.run = os.path.join(OUT, "run", name)
        self.pid = None       # what we signal to stop it
        self.worker = None    # what does the work

    def start(self, cpu):
        os.makedirs(self.run, exist_ok=True)
        if self.kind == "haproxy":
            pidfile = os.path.join(self.run, "haproxy.pid")
            cmd = pin(cpu) + [HAPROXY, "-D", "-q", "-f",
                              os.path.join(OUT, self.name + ".cfg")]
        else:
            pidfile = os.path.join(self.run, "nginx.pid")
            cmd = pin(cpu) + [NGINX, "-p", self.run, "-e",
                              os.path.join(self.run, "logs", "error.log"),
                              "-c", os.path.join(OUT, self.name + ".conf")]
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s: %s failed:\n%s%s" % (
                self.name, " ".join(cmd), r.stdout, r.stderr))
        for _ in range(200):
            if os.path.exists(pidfile) and open(pidfile).read().strip():
                break
            time.sleep(0.05)
        self.pid = int(open(pidfile).read().split()[0])
        self.worker = self.pid
        if self.kind != "haproxy":
            for _ in range(200):
                kids = children(self.pid)
                if kids:
                    self.worker = kids[0]
                    break
                time.sleep(0.05)
        wait_port(self.port)

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(100):
            if not os.path.exists("/proc/%d" % self.pid):
                break
            time.sleep(0.05)
        self.pid = None


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(st.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    return kids


def wait_port(port):
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing answers on port %d" % port)


def cpu_ns(pid):
    """the CPU time a process has used, in ns"""
    try:
        return int(open("/proc/%d/schedstat" % pid).read().split()[0])
    except (OSError, ValueError, IndexError):
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) * 1000000000 // HZ


def busy_ns():
    """CPU time used by anything, all CPUs, in ns"""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return (sum(f) - f[3] - f[4]) * 1000000000 // HZ


def wait_quiet():
    """waits up to QUIET_WAIT s for the machine to be idle"""
    deadline = time.time() + QUIET_WAIT
    while True:
        a = busy_ns()
        time.sleep(0.5)
        busy = (busy_ns() - a) / (0.5e9 * NCPU) * 100
        if busy < QUIET_BUSY or time.time() >= deadline:
            return busy


# the routing check ----------------------------------------------------------

def check(server, lines):
    """every request goes to the backend the table says"""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    rnd = random.Random(7)
    bad = []
    for method, path, want, kind in lines:
        p = path.replace("{}", str(rnd.randrange(1, 999999999)))
        hdrs = {"Content-Length": "0"} if method != "GET" else {}
        c.request(method, p, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        got = json.loads(body)["backend"] if r.status == 200 else r.status
        if server.kind != "baseline" and got != want:
            bad.append("%s %s (%s): got %s, want %s"
                       % (method, p, kind, got, want))
    c.close()
    return bad


def largest_n():
    """the request list the baseline gets: the largest table's"""
    return max(int(m.group(1)) for m in
               (re.match(r"paths-(\d+)\.txt$", f) for f in os.listdir(OUT))
               if m)


def read_lines(n):
    with open(os.path.join(OUT, "paths-%d.txt" % n)) as f:
        return [tuple(l.split()) for l in f if l.strip()]


# measuring -------------------------------------------------------------------

def wrk(port, n, seconds):
    cmd = pin(CLIENT_CPU) + [WRK, "-t%d" % THREADS, "-c%d" % CONNECTIONS,
                             "-d%ds" % seconds, "--latency", "-s", LUA,
                             "http://127.0.0.1:%d" % port, "--",
                             os.path.join(OUT, "paths-%d.txt" % n)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate()
    if p.returncode != 0:
        raise RuntimeError("wrk failed: %s\n%s" % (" ".join(cmd), err))
    m = re.search(r"^BENCH (.*)$", out, re.M)
    if m is None:
        raise RuntimeError("no BENCH line from wrk:\n" + out + err)
    return {k: int(v) for k, v in
            (kv.split("=") for kv in m.group(1).split())}


def measure(server, upstream, n):
    quiet = wait_quiet()
    wrk(server.port, n, WARMUP)

    f0, u0, b0 = cpu_ns(server.worker), cpu_ns(upstream.worker), busy_ns()
    ru0 = os.times()
    w = wrk(server.port, n, DURATION)
    f1, u1, b1 = cpu_ns(server.worker), cpu_ns(upstream.worker), busy_ns()
    ru1 = os.times()

    secs = w["duration_us"] / 1e6
    wrk_ns = ((ru1.children_user + ru1.children_system)
              - (ru0.children_user + ru0.children_system)) * 1e9
    front = f1 - f0
    other = (b1 - b0) - front - (u1 - u0) - wrk_ns
    return {
        "rps": w["requests"] / secs,
        "p50_ms": w["p50_us"] / 1000.0,
        "p99_ms": w["p99_us"] / 1000.0,
        "cpu_us": front / 1000.0 / max(w["requests"], 1),
        "front_cpu_pct": front / 1e9 / secs * 100,
        "noise_pct": max(other, 0) / 1e9 / (secs * NCPU) * 100,
        "idle_before_pct": 100 - quiet,
        "requests": w["requests"],
        "errors": w["errors"],
        "non2xx": w["non2xx"],
    }


# the report -----------------------------------------------------------------

def med(rows, key):
    return statistics.median(r[key] for r in rows)


def report(servers, results):
    base = results.get("baseline")
    out = []
    out.append("| N | configuration | req/s | ×base | p99 ms | ×base "
               "| CPU µs/req | capacity ×base | front CPU % | noise % |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for s in servers:
        rows = results.get(s.name)
        if not rows:
            continue
        m = {k: med(rows, k) for k in ("rps", "p99_ms", "cpu_us",
                                       "front_cpu_pct", "noise_pct")}
        if base:
            b = {k: med(base, k) for k in ("rps", "p99_ms", "cpu_us")}
            m["rps_x"] = m["rps"] / b["rps"]
            m["p99_x"] = m["p99_ms"] / b["p99_ms"]
            m["cap_x"] = b["cpu_us"] / m["cpu_us"]
        summary[s.name] = m
        x = (lambda k: "%.3f" % m[k] if k in m else "-")
        out.append("| %s | %s | %.0f | %s | %.2f | %s | %.2f | %s | %.0f "
                   "| %.0f |" % (s.n if s.n else "-", LABELS[s.kind], m["rps"],
                                 x("rps_x"), m["p99_ms"], x("p99_x"),
                                 m["cpu_us"], x("cap_x"),
                                 m["front_cpu_pct"], m["noise_pct"]))
    return out, summary


def goals(servers, summary):
    out = []
    ns = sorted({s.n for s in servers if s.n})
    for n in ns:
        st = summary.get("strangler-%d" % n)
        if not st or "rps_x" not in st:
            continue
        out.append("- N=%d: strangler at %.3f of the baseline's req/s: "
                   "%s; capacity (CPU per request) %.3f: %s"
                   % (n, st["rps_x"],
                      "met" if st["rps_x"] >= 0.97 else "MISSED",
                      st["cap_x"], "met" if st["cap_x"] >= 0.97
                      else "MISSED"))
        if n < 1000:
            continue
        for other in ("nginx-flat", "nginx-nested", "haproxy"):
            o = summary.get("%s-%d" % (other, n))
            if not o:
                continue
            ok = st["rps"] > o["rps"] and st["cpu_us"] < o["cpu_us"]
            out.append("  - ahead of %s: req/s %.0f vs %.0f, CPU %.2f vs "
                       "%.2f µs/req: %s" % (LABELS[other], st["rps"],
                                            o["rps"], st["cpu_us"],
                                            o["cpu_us"],
                                            "yes" if ok else "NO"))
    return out


def versions():
    v = []
    for cmd in ([NGINX, "-v"], [HAPROXY, "-v"], [WRK, "-v"]):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:   # HAProxy is not needed for every run
            continue
        v.append((r.stdout + r.stderr).strip().splitlines()[0])
    return v


def main():
    servers = []
    upstream = None
    with open(os.path.join(OUT, "configs.txt")) as f:
        for line in f:
            name, port = line.split()
            if name == "upstream":
                upstream = Server(name, int(port))
                continue
            if ONLY and name != "baseline" and not re.search(ONLY, name):
                continue
            servers.append(Server(name, int(port)))

    started = []
    results = {}
    rows = []
    try:
        upstream.start(CLIENT_CPU)
        started.append(upstream)
        for s in servers:
            s.start(FRONT_CPU)
            started.append(s)
        log("started the upstream and %d fronts" % len(servers))

        if not NO_CHECK:
            failed = False
            for s in servers:
                lines = read_lines(s.n or largest_n())
                bad = check(s, lines)
                log("check %-20s %d requests, %d misrouted"
                    % (s.name, len(lines), len(bad)))
                for b in bad[:10]:
                    log("    " + b)
                failed = failed or bool(bad)
            if failed:
                raise RuntimeError("a front misroutes: the comparison "
                                   "would not be fair")

        maxn = largest_n()
        for r in range(ROUNDS):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for s in order:
                m = measure(s, upstream, s.n or maxn)
                m.update(config=s.name, round=r + 1)
                results.setdefault(s.name, []).append(m)
                rows.append(m)
                log("round %d %-20s %8.0f req/s  p99 %6.2f ms  "
                    "%5.2f µs/req  front %3.0f%%  noise %3.0f%%%s"
                    % (r + 1, s.name, m["rps"], m["p99_ms"], m["cpu_us"],
                       m["front_cpu_pct"], m["noise_pct"],
                       "  ERRORS %d non-2xx %d" % (m["errors"], m["non2xx"])
                       if m["errors"] or m["non2xx"] else ""))
    finally:
        for s in reversed(started):
            s.stop()

    keys = ["round", "config", "rps", "p50_ms", "p99_ms", "cpu_us",
            "front_cpu_pct", "noise_pct", "idle_before_pct", "requests",
            "errors", "non2xx"]
    with open(os.path.join(OUT, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v)
                        for k, v in r.items()})

    table, summary = report(servers, results)
    g = goals(servers, summary)
    errors = sum(r["errors"] + r["non2xx"] for r in rows)

    md = ["# HTTP benchmark", "",
          "%s; %d CPUs (%s); %s." % (time.strftime("%Y-%m-%d %H:%M"),
                                     NCPU, cpu_model(),
                                     "; ".join(versions())),
          "wrk -t%d -c%d, %d rounds of %d s (each after %d s of warm-up), "
          "medians; front pinned to CPU %s, wrk and upstream to CPU %s, "
          "niceness %s. "
          "Request mix: bench/gen.py." % (THREADS, CONNECTIONS, ROUNDS,
                                          DURATION, WARMUP,
                                          FRONT_CPU if PIN else "-",
                                          CLIENT_CPU if PIN else "-",
                                          NICE if os.geteuid() == 0 else 0),
          "", "×base: ratio to configuration 1 (req/s: higher is better; "
          "p99: lower is better). capacity: the baseline's CPU time per "
          "request over this front's (higher is better; what req/s would "
          "be if every front saturated its core). noise: CPU used by other "
          "processes during the run, in % of the machine.", ""]
    md += table
    low = [k for k, m in summary.items() if m["front_cpu_pct"] < 90]
    if low:
        md += ["", "The fronts used less than 90% of their CPU (wrk and the "
               "upstream share the other CPU, and answer no faster): "
               "req/s understates the differences between fronts; CPU per "
               "request and capacity show them."]
    md += ["", "Goals (strangler's req/s >= 0.97 of the baseline's; ahead: "
           "more req/s and less CPU per request):", ""] + g
    md += ["", "Socket errors and non-2xx responses: %d." % errors, ""]
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(md))

    log("")
    log("\n".join(table))
    log("")
    log("\n".join(g))
    log("socket errors and non-2xx responses: %d" % errors)
    log("written: %s/results.md, results.csv" % OUT)
    return 1 if errors else 0


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


if __name__ == "__main__":
    sys.exit(main())
