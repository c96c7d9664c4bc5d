"""Every query of docker/grafana/dashboards/strangler.json returns data from
a real Prometheus (Debian's `prometheus`) scraping a real nginx with the
module under traffic.  Grafana itself does not run here: its variables are
given the values Grafana would ($__rate_interval: four scrape intervals;
$route and $instance: All; the data source variable is Grafana's own).
The front has a guard, so the guard panel has data; it has no etcd, so a
query of strangler_etcd_* is only checked to be one Prometheus accepts.
Run by tests/072-grafana-queries.t; prints TAP.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from front import Front, Tap, TOP, free_port

DASHBOARD = os.path.join(TOP, "docker", "grafana", "dashboards", "strangler.json")
VARIABLES = {"$__rate_interval": "4s", "$route": ".*", "$instance": ".*"}


def queries(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield "%s [%s]" % (p["title"], t["refId"]), t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "datasource":
            continue
        q = v.get("query")
        yield "variable $" + v["name"], q["query"] if isinstance(q, dict) else q


def substitute(expr):
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    return expr


def prom(port, path, **args):
    url = "http://127.0.0.1:%d/api/v1/%s?%s" % (port, path,
                                               urllib.parse.urlencode(args))
    with urllib.request.urlopen(url, timeout=10) as res:
        return json.load(res)


# label_values(metric, label): what Grafana asks the series API
def label_values(port, expr):
    metric, label = expr[len("label_values("):-1].split(",")
    r = prom(port, "series", **{"match[]": metric.strip()})
    return sorted({s[label.strip()] for s in r["data"] if label.strip() in s})


def has_data(r):
    res = r["data"]["result"]
    return bool(res) and any(not math.isnan(float(s["value"][1]))
                             for s in res)


def main():
    t = Tap()

    if not shutil.which("prometheus"):
        t.ok(False, "prometheus is installed (mk/deps.sh test installs it)")
        return t.done()

    dash = json.load(open(DASHBOARD))
    t.ok(dash.get("__inputs") and dash["__inputs"][0]["type"] == "datasource",
         "the dashboard asks for its data source when imported")
    t.ok(all(p["datasource"]["uid"] == "${DS_PROMETHEUS}"
             for p in dash["panels"]),
         "every panel uses the data source variable")

    # the demo table with a guard on conversations that never trips
    routes = os.path.join(tempfile.mkdtemp(prefix="strangler-routes-"),
                          "demo.yaml")
    with open(os.path.join(TOP, "routes", "demo.yaml")) as f:
        demo = f.read()
    with open(routes, "w") as f:
        f.write(demo.replace(
            "    owner: monolith\n    reads: messages\n",
            "    owner: monolith\n    reads: messages\n"
            "    guard: { error_rate: 99%, window: 1s, min_requests: 100000 }\n",
            1))
    front = Front(routes=routes)
    front.start()
    data = tempfile.mkdtemp(prefix="strangler-prometheus-")
    port = free_port()
    with open(os.path.join(data, "prometheus.yml"), "w") as f:
        f.write("""global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: strangler
    metrics_path: /_strangler/metrics
    static_configs: [ { targets: ["127.0.0.1:%d"] } ]
""" % front.port)
    log = open(os.path.join(data, "prometheus.log"), "w")
    proc = subprocess.Popen([
        "prometheus", "--config.file=" + os.path.join(data, "prometheus.yml"),
        "--storage.tsdb.path=" + os.path.join(data, "tsdb"),
        "--web.listen-address=127.0.0.1:%d" % port,
        "--storage.tsdb.retention.time=1h"], stdout=log, stderr=log)

    try:
        up = None
        for _ in range(100):
            try:
                up = prom(port, "query", query="up")
                if up["data"]["result"]:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        t.ok(up and up["data"]["result"]
             and up["data"]["result"][0]["value"][1] == "1",
             "Prometheus scrapes the module's metrics", up)

        # traffic for 12 s: moved reads (some 500), legacy reads, a shadow
        # compared on every inbox read, writes; an override midway
        end = time.time() + 12
        i = 0
        while time.time() < end:
            front.request("GET", "/api/conversations/%d" % i)
            front.request("GET", "/api/users/%d" % i)
            front.request("GET", "/api/users/%d/inbox" % i)
            front.request("POST", "/api/conversations", {"n": i})
            if i % 10 == 0:
                front.request("GET", "/api/conversations/500")
            if i == 20:
                front.request("PUT", "/_strangler/routes/users",
                              {"reads": "messages"})
            i += 1
            time.sleep(0.05)
        time.sleep(2)

        for name, expr in queries(dash):
            expr = substitute(expr)
            if expr.startswith("label_values("):
                values = label_values(port, expr)
                want = ({"127.0.0.1:%d" % front.port}
                        if expr.rstrip(")").endswith("instance")
                        else {"conversations", "users", "inbox"})
                t.ok(want <= set(values), "%s: %s" % (name, values))
                continue
            try:
                r = prom(port, "query", query=expr)
            except Exception as e:
                t.ok(False, "%s: %s" % (name, expr), e)
                continue
            if "strangler_etcd_" in expr:
                t.ok(r["status"] == "success",
                     "%s is a valid query (no etcd here): %s" % (name, expr),
                     json.dumps(r)[:600])
                continue
            t.ok(r["status"] == "success" and has_data(r),
                 "%s returns data: %s" % (name, expr),
                 json.dumps(r)[:600])
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        front.stop()
        shutil.rmtree(data, ignore_errors=True)

    return t.done()


if __name__ == "__main__":
    sys.exit(main())
