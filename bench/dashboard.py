#!/usr/bin/env python3
"""The dashboard with a 1,000-route table (not a test: figures only).

    make bench-dashboard        (or: python3 bench/dashboard.py [N])

  - what each call the page makes costs the nginx workers: their CPU
    time (/proc/PID/stat) over 200 calls, divided;
  - the time to the first view in headless Chromium: from navigation to
    the end of the first render (the page's "strangler-first-view" mark);
  - the page left alone for 31 s: the workers' CPU per refresh, as the
    page does them, and what a refresh costs the page itself.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests",
                                "dashboard"))

from cdp import Browser            # noqa: E402
from front import Front            # noqa: E402


def table(n):
    lines = ["version: 1", "default: monolith",
             "backends: { monolith: {}, messages: {} }", "routes:"]
    for i in range(n):
        lines.append("  - name: r%d" % i)
        lines.append("    paths: [\"/api/g%d/r%d/{id}\"]" % (i // 50, i))
        k = i % 4
        if k == 0:
            lines.append("    owner: monolith")
        elif k == 1:
            lines.append("    owner: monolith")
            lines.append("    shadow: { to: messages, sample: 100,"
                         " compare: status }")
        elif k == 2:
            lines.append("    owner: monolith")
            lines.append("    reads: { messages: 30, monolith: 70 }")
        else:
            lines.append("    owner: messages")
    return "\n".join(lines) + "\n"


def cpu(pids):
    total = 0
    for pid in pids:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])      # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def workers(master):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if st[1] == master:
                out.append(pid)
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(table(n))
    f.close()
    # a compared route's field statistics take about 17 KB of the zone
    front = Front(routes=f.name, zone="16m")
    front.start()
    try:
        # every route gets traffic on both sides
        for i in range(n):
            front.request("GET", "/api/g%d/r%d/1" % (i // 50, i))
            front.request("POST", "/api/g%d/r%d/1" % (i // 50, i), {})
        master = open(os.path.join(front.prefix, "logs",
                                   "nginx.pid")).read().strip()
        pids = workers(master)
        print("routes: %d" % n)
        rounds = 200
        for path in ("status", "progress", "progress/routes", "plan"):
            size = len(front.request("GET", "/_strangler/" + path)[2])
            c0, t0 = cpu(pids), time.time()
            for _ in range(rounds):
                front.request("GET", "/_strangler/" + path)
            c1, t1 = cpu(pids), time.time()
            print("GET %-15s %8d bytes: nginx workers' CPU %.2f ms, "
                  "client wall time %.2f ms"
                  % (path, size, (c1 - c0) * 1000 / rounds,
                     (t1 - t0) * 1000 / rounds))

        b = Browser(1280, 1000)
        try:
            b.open(front.url("/_strangler/"))
            b.wait("document.body.dataset.refreshed >= 1", 60)
            first = b.eval("performance.getEntriesByName("
                           "'strangler-first-view')[0].startTime")
            print("first view in Chromium: %.0f ms after navigation "
                  "(%d rows: a page)"
                  % (first, b.eval("document.querySelectorAll('#rows tr')"
                                   ".length")))
            # the page alone for 31 s: what its refreshes cost the workers
            r0, c0 = int(b.eval("document.body.dataset.refreshed")), \
                cpu(pids)
            b.idle(31)
            r1, c1 = int(b.eval("document.body.dataset.refreshed")), \
                cpu(pids)
            print("the page's own refreshes (progress and progress/routes each "
                  "second, status every 15 s): %d in 31 s, nginx workers' "
                  "CPU %.2f ms each; fetch + render in the page: %s ms"
                  % (r1 - r0, (c1 - c0) * 1000 / max(1, r1 - r0),
                     b.eval("document.body.dataset.cost")))
        finally:
            b.close()
    finally:
        front.stop()
        os.unlink(f.name)


if __name__ == "__main__":
    main()
