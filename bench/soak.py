#!/usr/bin/python3
"""Soak: shadowing under a long mixed load, and what the workers keep.

One front nginx with the strangler module (2 workers) shadows 100% of its
traffic, comparing JSON, to a second backend.  The load, on loopback:

  - HTTP/1.1 (wrk, keep-alive): GETs, and chunked POSTs whose copies are
    dry runs;
  - HTTP/2 with prior knowledge (h2load): GETs, and POSTs with a body;
  - WebSocket upgrades (python3-websockets): a session, one echo, close;
    never shadowed, counted as skipped.

The workers' RSS and open file descriptors are sampled every second
before (after a warm-up), during and after the load.  It passes when:

  - no client request failed (wrk, h2load, WebSocket);
  - every worker's RSS in the second half of the run and after it is
    within 5% of its most in the run's first tenth (its working set at
    the run's concurrency), and its open descriptors are back where they
    were before the run;
  - every copy is accounted for: sent = matched + mismatched + timed out,
    nothing dropped, none in flight; the upgrades are all skipped.

    SOAK_REQUESTS=1000000  requests over HTTP/1.1 and HTTP/2 together
    SOAK_QUICK=1           20,000 requests: a check that it works
    SOAK_PORT_BASE=18600   ports BASE+1 .. BASE+9
    MODULE=build/ngx_http_strangler_module.so
    NGINX=/usr/sbin/nginx

Prints a summary and writes build/soak/samples.csv and summary.json.
Not part of `make test`: `make soak` (or SOAK_QUICK=1 make soak).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, 'build', 'soak')
NGINX = os.environ.get('NGINX', '/usr/sbin/nginx')
MODULE = os.path.abspath(os.path.join(
    TOP, os.environ.get('MODULE', 'build/ngx_http_strangler_module.so')))
QUICK = os.environ.get('SOAK_QUICK') == '1'
TOTAL = int(os.environ.get('SOAK_REQUESTS', 20000 if QUICK else 1000000))
BASE = int(os.environ.get('SOAK_PORT_BASE', 18600))

PORT = {'mono': BASE + 1, 'users': BASE + 2, 'ws': BASE + 3,
        'front': BASE + 4, 'h2': BASE + 5}
WARMUP = max(TOTAL // 20, 20000)
WS_SESSIONS = max(TOTAL // 200, 100)


def write(name, text):
    with open(os.path.join(OUT, name), 'w') as f:
        f.write(text)


def configs():
    # the same JSON on both sides, keys in another order: it matches
    mono = '{"id":1,"name":"ann","tags":["a","b"],"ok":true}'
    users = '{"ok":true,"tags":["a","b"],"name":"ann","id":1.0}'
    write('backends.conf', f'''
worker_processes 1;
pid {OUT}/backends.pid;
error_log {OUT}/logs/backends.log error;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    default_type application/json;
    client_body_buffer_size 64k;
    server {{
        listen 127.0.0.1:{PORT['mono']} backlog=4096;
        location / {{ return 200 '{mono}'; }}
    }}
    server {{
        listen 127.0.0.1:{PORT['users']} backlog=4096;
        location / {{ return 200 '{users}'; }}
    }}
}}
''')
    write('routes.yaml', '''
version: 1
default: monolith
backends: { monolith: {}, users: {}, wsa: {}, wsb: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: json }
  - name: orders
    paths: ["/api/orders/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: json,
              writes: dry-run, dry_run_header: X-Dry-Run }
  - name: ws
    paths: ["/ws/*"]
    owner: wsa
    shadow: { to: wsb, sample: 100 }
''')
    ws_location = f'''
            proxy_pass http://127.0.0.1:{PORT['ws']};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";'''
    write('front.conf', f'''
worker_processes 2;
pid {OUT}/front.pid;
error_log {OUT}/logs/front.log warn;
load_module {MODULE};
events {{ worker_connections 4096; }}
http {{
    access_log off;
    strangler_zone strangler 1m;
    strangler_diff_log logs/diff.log;

    upstream monolith {{ server 127.0.0.1:{PORT['mono']}; keepalive 64; }}
    upstream users {{ server 127.0.0.1:{PORT['users']}; keepalive 64; }}

    server {{
        listen 127.0.0.1:{PORT['front']} backlog=4096;
        listen 127.0.0.1:{PORT['h2']} http2 backlog=4096;
        keepalive_requests 100000;
        strangler_routes {OUT}/routes.yaml;

        location / {{ strangler; }}
        location @monolith {{
            proxy_pass http://monolith;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location @users {{
            proxy_pass http://users;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location @wsa {{{ws_location}
        }}
        location @wsb {{{ws_location}
        }}
        location /_strangler/ {{ strangler_api; }}
    }}
}}
''')
    # wrk: 4 GETs, then a chunked POST, round and round; it stops after
    # its share of requests and says how many answers were not 2xx
    write('mix.lua', '''
n, bad, limit = 0, 0, 0
local post = "POST /api/orders/%d HTTP/1.1\\r\\nHost: soak\\r\\n"
    .. "Transfer-Encoding: chunked\\r\\nContent-Type: application/json\\r\\n"
    .. "\\r\\n7\\r\\n{\\"a\\":1,\\r\\n8\\r\\n\\"b\\":[1]}\\r\\n0\\r\\n\\r\\n"
local get = "GET /api/users/%d HTTP/1.1\\r\\nHost: soak\\r\\n\\r\\n"
local i = 0

local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
    thread:set("limit", tonumber(os.getenv("SOAK_WRK_LIMIT")))
    thread:set("marker", os.getenv("SOAK_WRK_MARKER"))
end

function request()
    i = i + 1
    if i % 5 == 0 then return string.format(post, i) end
    return string.format(get, i)
end

function response(status, headers, body)
    n = n + 1
    if status >= 300 then bad = bad + 1 end
    if n == limit then
        -- wrk runs for its duration: the soak stops it when both are done
        io.open(marker .. id, "w"):close()
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    io.write(string.format("soak-wrk requests=%d\\n", summary.requests))
end
''')
    write('ws.py', f'''
import asyncio, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", {PORT['ws']}):
        await asyncio.Future()
asyncio.run(main())
''')


def worker_pids():
    with open(os.path.join(OUT, 'front.pid')) as f:
        master = int(f.read())
    out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(master)],
                         capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def sample(pid):
    rss = 0
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f'/proc/{pid}/fd'))


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.rows, self.phase, self.stop = [], 'before', False

    def run(self):
        t0 = time.time()
        while not self.stop:
            for pid in worker_pids():
                rss, fds = sample(pid)
                self.rows.append((round(time.time() - t0, 1), self.phase,
                                  pid, rss, fds))
            time.sleep(1)


def status():
    url = f"http://127.0.0.1:{PORT['front']}/_strangler/status"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def shadow_totals(st):
    t = {}
    for r in st['routes']:
        for k, v in r['counters']['shadow'].items():
            t[k] = t.get(k, 0) + v
        for k, v in r['counters'].get('shadow_skipped', {}).items():
            t['skipped_' + k] = t.get('skipped_' + k, 0) + v
    return t


def wrk(requests):
    conns = 32
    # 2 threads: each stops after its half of the answers
    env = dict(os.environ, SOAK_WRK_LIMIT=str(max(requests // 2, 1)))
    marker = os.path.join(OUT, 'wrk-done-')
    env['SOAK_WRK_MARKER'] = marker
    for i in (1, 2):
        if os.path.exists(marker + str(i)):
            os.unlink(marker + str(i))
    p = subprocess.Popen(['wrk', '-t2', f'-c{conns}', '-d3600s', '-s',
                          os.path.join(OUT, 'mix.lua'),
                          f"http://127.0.0.1:{PORT['front']}/"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=env)
    while not all(os.path.exists(marker + str(i)) for i in (1, 2)):
        if p.poll() is not None:
            break
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    text = p.communicate()[0]
    n = int(re.search(r'soak-wrk requests=(\d+)', text).group(1))
    errors = 0
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), '
                  r'timeout (\d+)', text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    if m:
        errors += int(m.group(1))
    return n, errors, text


def h2load(requests, post):
    cmd = ['h2load', '-n', str(requests), '-c', '8', '-m', '16']
    if post:
        cmd += ['-d', os.path.join(OUT, 'post.json'),
                '-H', 'content-type: application/json',
                f"http://127.0.0.1:{PORT['h2']}/api/orders/1"]
    else:
        cmd += [f"http://127.0.0.1:{PORT['h2']}/api/users/1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r'requests: (\d+) total, (\d+) started, (\d+) done, '
                  r'(\d+) succeeded, (\d+) failed, (\d+) errored', r.stdout)
    m2 = re.search(r'status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, '
                   r'(\d+) 5xx', r.stdout)
    done, ok = int(m.group(3)), int(m2.group(1))
    return done, requests - ok, r.stdout


def websockets_run(n, result):
    import websockets

    async def one(i):
        url = f"ws://127.0.0.1:{PORT['front']}/ws/{i}"
        async with websockets.connect(url) as ws:
            await ws.send('ping')
            if await ws.recv() != 'ping':
                raise RuntimeError('bad echo')

    async def main():
        ok = bad = 0
        sem = asyncio.Semaphore(4)

        async def guarded(i):
            nonlocal ok, bad
            async with sem:
                try:
                    await one(i)
                    ok += 1
                except Exception:
                    bad += 1

        await asyncio.gather(*(guarded(i) for i in range(n)))
        result.update(ok=ok, failed=bad)

    asyncio.run(main())


def load(total, sampler, phase):
    """One pass: half HTTP/1.1, half HTTP/2, WebSockets alongside."""
    sampler.phase = phase
    h1 = total // 2
    h2_get = (total - h1) * 4 // 5
    h2_post = total - h1 - h2_get
    ws = {}
    wst = threading.Thread(target=websockets_run,
                           args=(WS_SESSIONS if phase == 'during' else 20,
                                 ws))
    wst.start()
    res = {}
    threads = [
        threading.Thread(target=lambda: res.update(wrk=wrk(h1))),
        threading.Thread(target=lambda: res.update(
            h2get=h2load(h2_get, False))),
        threading.Thread(target=lambda: res.update(
            h2post=h2load(h2_post, True))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wst.join()
    return res, ws


def settle():
    for _ in range(100):
        if status()['shadow']['in_flight'] == 0:
            return
        time.sleep(0.1)


def main():
    for tool in (NGINX, 'wrk', 'h2load'):
        if not shutil.which(tool):
            sys.exit(f'soak: needs {tool} (mk/deps.sh bench)')
    if not os.path.exists(MODULE):
        sys.exit(f'soak: no {MODULE}: run make')

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, 'logs'))
    configs()
    write('post.json', '{"a":1,"b":[1]}')

    ws = subprocess.Popen([sys.executable, os.path.join(OUT, 'ws.py')])
    subprocess.run([NGINX, '-p', OUT, '-c', os.path.join(OUT,
                                                         'backends.conf')],
                   check=True)
    subprocess.run([NGINX, '-p', OUT, '-c', os.path.join(OUT, 'front.conf')],
                   check=True)
    time.sleep(1)

    sampler = Sampler()
    t_start = time.time()
    try:
        sampler.start()
        load(WARMUP, sampler, 'warm-up')
        settle()
        time.sleep(2)
        sampler.phase = 'before'
        time.sleep(3)
        before_st = shadow_totals(status())

        t0 = time.time()
        res, wsres = load(TOTAL, sampler, 'during')
        elapsed = time.time() - t0

        settle()
        sampler.phase = 'after'
        time.sleep(5)
        sampler.stop = True
        sampler.join()
        st = status()
    finally:
        for pid in ('front', 'backends'):
            try:
                with open(os.path.join(OUT, pid + '.pid')) as f:
                    os.kill(int(f.read()), signal.SIGQUIT)
            except (OSError, ValueError):
                pass
        ws.terminate()

    totals = shadow_totals(st)
    sent = totals['sent'] - before_st['sent']
    done = {k: v[0] for k, v in res.items()}
    failed = {k: v[1] for k, v in res.items()}
    failed['websocket'] = wsres.get('failed', -1)

    write('samples.csv', 'time,phase,pid,rss_kb,fds\n' + ''.join(
        '%s,%s,%d,%d,%d\n' % r for r in sampler.rows))

    # per worker: after warm-up (the most RSS in the first tenth of the
    # run: a worker reaches its working set at the run's concurrency,
    # which the warm-up may not have had), against the second half of the
    # run and after it; descriptors after the run against before it
    during = [r for r in sampler.rows if r[1] == 'during']
    t_first, t_last = during[0][0], during[-1][0]
    tenth = t_first + max((t_last - t_first) / 10, 5)
    half = (t_first + t_last) / 2
    workers = {}
    for t, phase, pid, rss, fds in sampler.rows:
        w = workers.setdefault(pid, {'warm': 0, 'late': 0, 'max_fds': 0})
        if phase in ('before', 'after'):
            w[phase] = (rss, fds)
        if phase == 'during':
            w['max_fds'] = max(w['max_fds'], fds)
            if t <= tenth:
                w['warm'] = max(w['warm'], rss)
            if t >= half:
                w['late'] = max(w['late'], rss)

    ok = True
    lines = []
    for pid, w in sorted(workers.items()):
        if 'before' not in w or 'after' not in w or not w['warm']:
            continue
        (rb, fb), (ra, fa) = w['before'], w['after']
        warm, late = w['warm'], w['late']
        growth = (max(late, ra) - warm) / warm * 100
        flat = growth <= 5 and fa <= fb
        ok &= flat
        lines.append(f'worker {pid}: RSS before {rb} kB, after warm-up '
                     f'{warm} kB, second half max {late} kB, after {ra} kB '
                     f'({growth:+.1f}%); fds before {fb}, max {w["max_fds"]},'
                     f' after {fa}: ' + ('flat' if flat else 'NOT FLAT'))

    accounted = (totals['sent'] == totals['matched'] + totals['mismatched']
                 + totals['timed_out'])
    clients_ok = all(v == 0 for v in failed.values())
    ok &= accounted and clients_ok and totals['dropped'] == 0 \
        and st['shadow']['in_flight'] == 0

    summary = {
        'requests': TOTAL, 'seconds': round(elapsed, 1),
        'requests_per_second': round(sum(done.values()) / elapsed),
        'done': done, 'failed': failed,
        'websocket_sessions': wsres.get('ok', 0),
        'shadow': totals, 'shadow_sent_during': sent,
        'slots': st['shadow'], 'workers': lines,
        'total_seconds': round(time.time() - t_start, 1), 'pass': ok,
    }
    write('summary.json', json.dumps(summary, indent=2) + '\n')

    print(f'soak: {TOTAL} requests (HTTP/1.1 {done.get("wrk")}, HTTP/2 '
          f'{done.get("h2get", 0) + done.get("h2post", 0)}) and '
          f'{wsres.get("ok", 0)} WebSocket sessions in {elapsed:.0f} s, '
          f'{summary["requests_per_second"]} requests/s')
    print(f'failed client requests: {failed}')
    print('shadows (whole run): ' + ', '.join(
        f'{k}={v}' for k, v in sorted(totals.items())))
    print('accounted for (sent = matched + mismatched + timed_out): '
          + ('yes' if accounted else 'NO'))
    print(f'slots: {st["shadow"]}')
    for line in lines:
        print(line)
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
