"""nginx with the module in front of a demo monolith and messages service.

The route table is routes/demo.yaml.  The API is at /_strangler/ (writes
allowed from 127.0.0.1) and, read-only, at /_view/ (limit_except denies
every write).  TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES say which
nginx and module, as for the Test::Nginx files.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Front:
    def __init__(self, routes=os.path.join(TOP, "routes", "demo.yaml"),
                 prefix=None, zone="1m"):
        self.nginx = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
        self.modules = os.environ.get(
            "TEST_NGINX_LOAD_MODULES",
            os.path.join(TOP, "build", "ngx_http_strangler_module.so"))
        self.prefix = prefix or tempfile.mkdtemp(prefix="strangler-front-")
        shutil.rmtree(self.prefix + "/logs", ignore_errors=True)
        self.port, self.mono, self.msgs = free_port(), free_port(), free_port()
        for d in ("conf", "logs", "state"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        os.chmod(os.path.join(self.prefix, "state"), 0o777)
        shutil.copy(routes, os.path.join(self.prefix, "conf", "routes.yaml"))
        load = "".join("load_module %s;\n" % m for m in self.modules.split())
        user = "user root;" if os.geteuid() == 0 else ""
        with open(os.path.join(self.prefix, "conf", "nginx.conf"), "w") as f:
            f.write("""%(load)s
%(user)s
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    strangler_zone  strangler %(zone)s;
    strangler_state state/strangler.state;

    server {
        listen 127.0.0.1:%(mono)d;
        default_type application/json;
        location / { return 200 '{"served_by":"monolith","uri":"$uri"}'; }
    }
    server {
        listen 127.0.0.1:%(msgs)d;
        default_type application/json;
        location / { return 200 '{"served_by":"messages","uri":"$uri"}'; }
        location = /api/conversations/500 {
            return 500 '{"error":"boom"}';
        }
    }
    server {
        listen 127.0.0.1:%(port)d;
        strangler_routes routes.yaml;
        location / { strangler; }
        location @monolith { proxy_pass http://127.0.0.1:%(mono)d; }
        location @messages { proxy_pass http://127.0.0.1:%(msgs)d; }
        location /_strangler/ {
            allow 127.0.0.1;
            deny all;
            strangler_api;
        }
        location /_view/ {
            limit_except GET { deny all; }
            strangler_api;
        }
    }
}
""" % dict(load=load, user=user, mono=self.mono, msgs=self.msgs,
           port=self.port, zone=zone))

    def start(self):
        subprocess.run([self.nginx, "-p", self.prefix + "/", "-c",
                        "conf/nginx.conf"], check=True)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        pid = os.path.join(self.prefix, "logs", "nginx.pid")
        if os.path.exists(pid):
            subprocess.run([self.nginx, "-p", self.prefix + "/", "-c",
                            "conf/nginx.conf", "-s", "quit"],
                           stderr=subprocess.DEVNULL)
            for _ in range(100):
                if not os.path.exists(pid):
                    break
                time.sleep(0.05)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # (status, headers, body text)
    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.headers, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def json(self, path):
        status, _, text = self.request("GET", path)
        assert status == 200, (path, status, text)
        return json.loads(text)

    def error_log(self):
        with open(os.path.join(self.prefix, "logs", "error.log")) as f:
            return f.read()


class Tap:
    """Test Anything Protocol, for prove."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("#   " + line)
        return cond

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0
