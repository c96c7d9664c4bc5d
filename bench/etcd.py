#!/usr/bin/env python3
"""How fast does an override made on one host reach the others?

One etcd and three nginx hosts (A, B, C; two workers each) on loopback.

1. Propagation: FLEET_BENCH_CHANGES times (200), flip the route's reads
   through host A's API; from A's answer, poll host C on a keep-alive
   connection until C serves the new backend.  Prints p50, p99 and max,
   next to the reference: nginx-upsync-module's polling design (every
   worker reads the store every 5 s by default), whose latency is uniform
   over 0..5 s (p50 2.5 s, p99 4.95 s) before it even counts the read.
2. Flips under load: wrk on the three hosts at once while 50 flips go
   through the hosts in turn; every request must succeed (wrk's non-2xx
   and socket errors are 0), and after the last flip every host serves
   the final decision (how long that took is printed next to the p99).

Not part of `make test`.  Needs etcd, wrk and `make module`; about 40 s.
    FLEET_BENCH_CHANGES=200  FLEET_BENCH_FLIPS=50  FLEET_BENCH_WRK_SECONDS=12
    MODULE=build/ngx_http_strangler_module.so  NGINX=/usr/sbin/nginx
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.abspath(os.path.join(
    TOP, os.environ.get('MODULE', 'build/ngx_http_strangler_module.so')))
NGINX = os.environ.get('NGINX', '/usr/sbin/nginx')
CHANGES = int(os.environ.get('FLEET_BENCH_CHANGES', 200))
FLIPS = int(os.environ.get('FLEET_BENCH_FLIPS', 50))
WRK_SECONDS = int(os.environ.get('FLEET_BENCH_WRK_SECONDS', 12))

ROUTES = """version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: monolith
"""


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nginx_conf(etcd, front, mono, msgs):
    user = 'user root;' if os.geteuid() == 0 else ''
    return f"""load_module {MODULE};
{user}
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events {{ worker_connections 1024; accept_mutex off; }}
http {{
    access_log off;
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:{etcd};
    server {{
        listen 127.0.0.1:{mono};
        location / {{ return 200 "monolith\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{msgs};
        location / {{ return 200 "messages\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{front};
        strangler_routes routes.yaml;
        location / {{ strangler; }}
        location @monolith {{ proxy_pass http://127.0.0.1:{mono}; }}
        location @messages {{ proxy_pass http://127.0.0.1:{msgs}; }}
        location /_strangler/ {{ strangler_api; }}
    }}
}}
"""


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    root = tempfile.mkdtemp(prefix='fleet-bench-')
    procs, hosts = [], {}
    etcd_port, peer = free_port(), free_port()
    etcd = subprocess.Popen(
        ['etcd', '--data-dir', f'{root}/etcd',
         '--listen-client-urls', f'http://127.0.0.1:{etcd_port}',
         '--advertise-client-urls', f'http://127.0.0.1:{etcd_port}',
         '--listen-peer-urls', f'http://127.0.0.1:{peer}',
         '--initial-advertise-peer-urls', f'http://127.0.0.1:{peer}',
         '--initial-cluster', f'default=http://127.0.0.1:{peer}'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(etcd)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection('127.0.0.1', etcd_port)
                c.request('POST', '/v3/kv/range', '{"key":"AA=="}')
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        for name in 'ABC':
            d = f'{root}/{name}'
            for sub in ('conf', 'logs'):
                os.makedirs(f'{d}/{sub}')
            front = free_port()
            with open(f'{d}/conf/routes.yaml', 'w') as f:
                f.write(ROUTES)
            with open(f'{d}/conf/nginx.conf', 'w') as f:
                f.write(nginx_conf(etcd_port, front, free_port(),
                                   free_port()))
            subprocess.check_call([NGINX, '-p', d + '/', '-c',
                                   'conf/nginx.conf'])
            hosts[name] = front
        time.sleep(1.5)

        api = {n: http.client.HTTPConnection('127.0.0.1', p)
               for n, p in hosts.items()}
        probe = {n: http.client.HTTPConnection('127.0.0.1', p)
                 for n, p in hosts.items()}

        def change(name, backend):
            c = api[name]
            c.request('PUT', '/_strangler/routes/conversations',
                      json.dumps({'reads': backend}))
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit(f'PUT on {name}: {r.status}')

        def serves(name):
            c = probe[name]
            c.request('GET', '/api/conversations/1')
            return c.getresponse().read().decode().strip()

        def until(name, want, limit=5.0):
            start = time.monotonic()
            # two answers in a row: both workers of the host agree
            while True:
                if serves(name) == want and serves(name) == want:
                    return time.monotonic() - start
                if time.monotonic() - start > limit:
                    raise SystemExit(f'{name} never served {want}')

        # 1. propagation A -> C
        lat = []
        for i in range(CHANGES):
            want = 'messages' if i % 2 == 0 else 'monolith'
            change('A', want)
            t0 = time.monotonic()
            while serves('C') != want:
                if time.monotonic() - t0 > 5:
                    raise SystemExit('C never served the change')
            lat.append((time.monotonic() - t0) * 1000)
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        print(f'propagation A -> C, {CHANGES} changes: '
              f'p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(lat):.2f} ms')
        print('reference, polling every 5 s (nginx-upsync-module default): '
              'p50 2500 ms, p99 4950 ms')

        # 2. flips under wrk load on the three hosts
        wrk = [subprocess.Popen(
            ['wrk', '-t1', '-c16', f'-d{WRK_SECONDS}s',
             f'http://127.0.0.1:{p}/api/conversations/1'],
            stdout=subprocess.PIPE, text=True) for p in hosts.values()]
        time.sleep(1)
        names = 'ABC'
        loaded = []
        for i in range(FLIPS):
            want = 'messages' if i % 2 == 0 else 'monolith'
            change(names[i % 3], want)
            loaded.append(until(names[(i + 1) % 3], want) * 1000)
            time.sleep((WRK_SECONDS - 3) / FLIPS)
        final = want
        settle = max(until(n, final) for n in names) * 1000
        print(f'{FLIPS} flips under load, from the API answer on one host '
              f'to the next host serving it (two answers in a row): '
              f'p50 {percentile(loaded, 50):.2f} ms, '
              f'p99 {percentile(loaded, 99):.2f} ms')
        print(f'after the last flip, every host served "{final}" within '
              f'{settle:.2f} ms (probe answers included)')
        failed = 0
        for w, n in zip(wrk, names):
            out = w.communicate()[0]
            reqs = re.search(r'(\d+) requests in', out).group(1)
            non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
            sock = re.search(r'Socket errors: (.*)', out)
            bad = int(non2xx.group(1)) if non2xx else 0
            failed += bad
            print(f'  host {n}: {reqs} requests, non-2xx {bad}, '
                  f'socket errors {sock.group(1) if sock else "none"}')
            if sock:
                failed += sum(int(x) for x in re.findall(r'\d+',
                                                         sock.group(1)))
        print(f'failed requests: {failed}')
        return 1 if failed else 0
    finally:
        for name in hosts:
            subprocess.call([NGINX, '-p', f'{root}/{name}/', '-c',
                             'conf/nginx.conf', '-s', 'stop'])
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
