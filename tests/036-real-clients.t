# Shadowing under real clients: a WebSocket client (python3-websockets),
# HTTP/2 with prior knowledge (curl, h2load), a chunked upload that must
# stream to the owner, and the metrics checked by promtool.  Plain
# Test::More: the runner speaks neither HTTP/2 nor WebSocket, and these
# share one nginx.  Needs nghttp2-client, python3-websockets and
# prometheus (mk/deps.sh test).
use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use StranglerNginx;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

for my $tool (qw(curl h2load promtool)) {
    plan skip_all => "$tool is missing (mk/deps.sh test installs it)"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}
plan skip_all => 'python3-websockets is missing (mk/deps.sh test)'
    if system($python, '-c', 'import websockets') != 0;
plan skip_all => "$nginx has no HTTP/2 (--with-http_v2_module)"
    unless `$nginx -V 2>&1` =~ /--with-http_v2_module/;

my $prefix = nginx_prefix();

my %port = map { $_ => free_port() } qw(front h2 mono users slow ws owner);

my @children;

sub spawn {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$prefix/logs/children.log";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    push @children, $pid;
    return $pid;
}

sub wait_port {
    my ($port) = @_;
    for (1 .. 100) {
        return 1 if IO::Socket::INET->new("127.0.0.1:$port");
        sleep 0.05;
    }
    return 0;
}

# The WebSocket backend: echoes every message, holds the session open.
write_file('ws.py', <<'END');
import asyncio, sys, websockets

async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)

async def main():
    async with websockets.serve(echo, "127.0.0.1", int(sys.argv[1])):
        await asyncio.Future()

asyncio.run(main())
END

# A WebSocket client: opens N sessions through nginx, checks an echo on
# each, says "open", and holds them until its standard input closes.
write_file('wsclient.py', <<'END');
import asyncio, sys, websockets

async def main(url, n):
    sessions = [await websockets.connect(url) for _ in range(n)]
    for i, ws in enumerate(sessions):
        await ws.send("ping %d" % i)
        assert await ws.recv() == "ping %d" % i
    print("open", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for ws in sessions:
        await ws.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
END

write_file('conf/routes.yaml', <<'END');
version: 1
default: monolith
backends:
  monolith: {}
  users: {}
  slowa: {}
  slowb: {}
  wsa: {}
  wsb: {}
  owner: {}
routes:
  - name: ws
    paths: ["/ws/*"]
    owner: wsa
    shadow: { to: wsb, sample: 100 }
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100, writes: dry-run,
              dry_run_header: X-Dry-Run }
  - name: slow
    paths: ["/slow/*"]
    owner: slowa
    shadow: { to: slowb, sample: 100 }
  - name: upload
    paths: ["/upload/*"]
    owner: owner
    shadow: { to: users, sample: 100, writes: dry-run,
              dry_run_header: X-Dry-Run }
END

my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
my $user = $> == 0 ? 'user root;' : '';
my $slow_body = 'x' x 1500;

write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 1;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_shadow_timeout 10s;
    strangler_force_header X-Backend;

    # what the shadow side got: method, URI, the length of the body
    # copied, the force header
    log_format seen 'seen \$request_method \$request_uri '
                    'len=\$content_length force=\$http_x_backend';

    server {
        listen 127.0.0.1:$port{mono};
        location / { return 200 "monolith\\n"; }
    }
    server {
        listen 127.0.0.1:$port{users};
        access_log logs/shadow.log seen;
        location / { return 200 "users\\n"; }
    }
    server {
        # about a second per response, on both sides of /slow/
        listen 127.0.0.1:$port{slow};
        location / { limit_rate 1000; return 200 "$slow_body"; }
    }
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 127.0.0.1:$port{front};
        listen 127.0.0.1:$port{h2} http2;
        client_max_body_size 10m;
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith {
            proxy_pass http://127.0.0.1:$port{mono};
            add_header X-Shadow \$strangler_shadow always;
        }
        location \@users { proxy_pass http://127.0.0.1:$port{users}; }
        location \@slowa { proxy_pass http://127.0.0.1:$port{slow}; }
        location \@slowb { proxy_pass http://127.0.0.1:$port{slow}; }
        location \@wsa {
            proxy_pass http://127.0.0.1:$port{ws};
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
        }
        location \@wsb {
            proxy_pass http://127.0.0.1:$port{ws};
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
        }
        location \@owner {
            proxy_pass http://127.0.0.1:$port{owner};
            proxy_http_version 1.1;
            proxy_request_buffering off;
        }
        location /_strangler/ { strangler_api; }
    }
}
END

sub nginx_conf {
    my ($extra) = @_;
    my $conf = read_file('conf/nginx.conf');
    $conf =~ s/(strangler_shadow_timeout 10s;\n)/$1$extra/;
    write_file('conf/nginx.conf', $conf);
}

my $http = HTTP::Tiny->new(timeout => 5);

sub get {
    my ($path, $headers) = @_;
    return $http->get("http://127.0.0.1:$port{front}$path",
                      { headers => $headers // {} });
}

sub status_json {
    my $res = get('/_strangler/status');
    return eval { decode_json($res->{content}) } // {};
}

sub route_counters {
    my ($name) = @_;
    my ($r) = grep { $_->{name} eq $name } @{ status_json()->{routes} };
    return $r->{counters};
}

# the lines the shadow side logged that match a pattern, waited for
sub shadow_seen {
    my ($re, $n) = @_;
    my @lines;
    for (1 .. 60) {
        @lines = grep { /$re/ } split /\n/, read_file('logs/shadow.log');
        last if @lines >= ($n // 1);
        sleep 0.05;
    }
    return @lines;
}

sub h2curl {
    my (@args) = @_;
    my $cmd = join ' ', 'curl -s --http2-prior-knowledge', @args;
    return scalar `$cmd`;
}

spawn($python, "$prefix/ws.py", $port{ws});
ok wait_port($port{ws}), 'the WebSocket backend listens';

# -- 1. upgrades are never shadowed and never hold a slot ------------------

nginx_conf("    strangler_shadow_limit 2;\n");
is nginx(), 0, 'nginx starts';
ok wait_port($port{front}), 'nginx listens';

open my $ws, '|-', "$python $prefix/wsclient.py "
                   . "ws://127.0.0.1:$port{front}/ws/chat 3 "
                   . ">$prefix/logs/wsclient.out 2>&1"
    or die "wsclient: $!";
my $opened = 0;
for (1 .. 100) {
    last if ($opened = read_file('logs/wsclient.out') =~ /^open$/m);
    sleep 0.05;
}
ok $opened, 'three WebSocket sessions are open through nginx, echoing';

my $c = route_counters('ws');
is $c->{shadow_skipped}{upgrade}, 3, 'each upgrade counted as skipped';
is $c->{shadow}{sent}, 0, 'no upgrade was copied';
is status_json()->{shadow}{in_flight}, 0,
   'the open sessions hold no shadow slot';

# with 2 slots and 3 sessions open, a request still gets its copy
my $res = get('/api/users/1');
is $res->{headers}{'x-shadow'}, 'sent',
   'a request next to the sessions is shadowed: the slots are free';

close $ws;

# -- 2. CONNECT: nginx refuses it; nothing is shadowed -----------------------

my $sock = IO::Socket::INET->new("127.0.0.1:$port{front}") or die $!;
print $sock "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
my $line = <$sock> // '';
close $sock;
like $line, qr{^HTTP/1\.1 4\d\d }, 'CONNECT: refused by nginx itself';

# -- 3. the force header stays out of the copy, over both protocols -------

get('/api/users/2', { 'X-Backend' => 'monolith' });
h2curl("-H 'X-Backend: monolith' http://127.0.0.1:$port{h2}/api/users/3");
my @seen = shadow_seen(qr{^seen GET /api/users/[23] }, 2);
is scalar(@seen), 2, 'both reads were copied';
is scalar(grep { /force=-$/ } @seen), 2,
   'neither copy carries the force header' or diag explain \@seen;

# -- 4. one body rule over HTTP/1.1 and HTTP/2 ----------------------------

# 8 KiB is client_body_buffer_size's default, 20 KiB is over it; both are
# under strangler_compare_max_body (1m): every one is copied, whole.
for my $size (8192, 20480) {
    write_file("body$size", 'b' x $size);
    my $file = "$prefix/body$size";

    # HTTP/1.1, Content-Length and chunked
    system("curl -s -o /dev/null --data-binary \@$file "
           . "http://127.0.0.1:$port{front}/api/users/h1cl$size");
    system("curl -s -o /dev/null -H 'Transfer-Encoding: chunked' "
           . "--data-binary \@$file "
           . "http://127.0.0.1:$port{front}/api/users/h1ch$size");

    # HTTP/2, with a length and without one (an upload from a pipe)
    h2curl("-o /dev/null --data-binary \@$file "
           . "http://127.0.0.1:$port{h2}/api/users/h2cl$size");
    h2curl("-o /dev/null -T - <$file "
           . "http://127.0.0.1:$port{h2}/api/users/h2ch$size");

    for my $how (qw(h1cl h1ch h2cl h2ch)) {
        my ($l) = shadow_seen(qr{^seen \w+ /api/users/$how$size });
        is $l && ($l =~ /len=(\d+)/)[0], $size,
           "$size bytes, $how: copied whole";
    }
}

# over strangler_compare_max_body by its length: dropped at once, the
# owner gets the body
write_file('big', 'B' x (1024 * 1024 + 1));
for my $h2 (0, 1) {
    my $cmd = "-s -D - -o /dev/null --data-binary \@$prefix/big "
              . "http://127.0.0.1:" . ($h2 ? $port{h2} : $port{front})
              . "/api/users/big$h2";
    my $out = $h2 ? h2curl($cmd) : `curl $cmd`;
    like $out, qr/^x-shadow: dropped\r?$/mi,
         ($h2 ? 'HTTP/2' : 'HTTP/1.1') . ': a body over the bound is '
         . 'not copied';
}

# -- 5. a chunked upload streams to the owner --------------------------------

# The owner: reads the request head and the first chunk, says so, then
# reads the rest and answers.  The client sends its last chunk only once
# the owner has the first, or gives up after 10 s.
my $owner = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                  LocalPort => $port{owner}, ReuseAddr => 1)
    or die "owner: $!";
my $owner_pid = fork // die;
if ($owner_pid == 0) {
    my $conn = $owner->accept or exit 1;
    my $got = '';
    while ($got !~ /first-chunk/) {
        my $n = sysread($conn, $got, 4096, length $got) or exit 1;
    }
    write_file('owner-first', 'yes');
    while ($got !~ /last-chunk.*\r\n0\r\n\r\n/s) {
        my $n = sysread($conn, $got, 4096, length $got) or exit 1;
    }
    print $conn "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                . "Connection: close\r\n\r\nowner\n";
    close $conn;
    exit 0;
}
close $owner;

my $client = IO::Socket::INET->new("127.0.0.1:$port{front}") or die $!;
print $client "POST /upload/1 HTTP/1.1\r\nHost: localhost\r\n"
              . "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
              . "b\r\nfirst-chunk\r\n";
my $first = 0;
for (1 .. 200) {
    last if ($first = -e "$prefix/owner-first");
    sleep 0.05;
}
ok $first, 'the owner has the first chunk before the client sends the last';
print $client "a\r\nlast-chunk\r\n0\r\n\r\n";
my $reply = do { local $/; <$client> } // '';
close $client;
waitpid $owner_pid, 0;
like $reply, qr{^HTTP/1\.1 200 .*owner$}s, 'the owner answers the upload';
my ($up) = shadow_seen(qr{^seen POST /upload/1 });
like $up // '', qr/len=21 /,
     'the streamed body is copied too, whole, once it has gone by';

# -- 6. slots fit 100 concurrent HTTP/2 streams by default -------------------

my $conf = read_file('conf/nginx.conf');
write_file('conf/nginx.conf', $conf =~ s/ +strangler_shadow_limit 2;\n//r);
is nginx('-s', 'reload'), 0, 'reloaded with the default shadow limit';
sleep 1;

my $h2load = `h2load -n 300 -c 1 -m 100 http://127.0.0.1:$port{h2}/slow/1 2>&1`;
like $h2load, qr/requests: 300 total, 300 started, 300 done, 300 succeeded/,
     'h2load: 300 requests, 100 streams at once, all succeed';

$c = route_counters('slow');
for (1 .. 100) {
    last if $c->{shadow}{sent}
            == $c->{shadow}{matched} + $c->{shadow}{mismatched}
               + $c->{shadow}{timed_out};
    sleep 0.1;
    $c = route_counters('slow');
}
is $c->{shadow}{dropped}, 0, 'no copy dropped at 100 concurrent streams';
is $c->{shadow}{sent}, 300, 'every request copied';
is $c->{shadow}{matched}, 300, 'every copy compared and matched';

my $st = status_json()->{shadow};
is $st->{slots_per_worker}, 256, 'default slots: worker_connections / 4';
cmp_ok $st->{high_water}, '>=', 50, 'the high-water mark saw the streams';
is $st->{in_flight}, 0, 'no copy left in flight';

# -- 7. the metrics: promtool accepts them; the shadow side is there --------

my $metrics = get('/_strangler/metrics')->{content};
write_file('metrics.txt', $metrics);
my $promtool = `promtool check metrics <$prefix/metrics.txt 2>&1`;
is $?, 0, 'promtool check metrics: no problem' or diag $promtool;

my %sample = $metrics =~ /^(\w+(?:\{[^}]*\})?) (\S+)$/mg;

sub sample {
    my ($name, $labels) = @_;
    return $sample{$labels ? "$name\{$labels\}" : $name} // 'none';
}

my $slow = 'route="slow",backend="slowb"';
is sample('strangler_shadow_response_seconds_count', $slow), 300,
   'the shadow latency histogram counts every answer';
is sample('strangler_shadow_response_seconds_bucket', "$slow,le=\"+Inf\""),
   300, 'its +Inf bucket too';
is sample('strangler_shadow_responses_total', "$slow,code=\"2xx\""), 300,
   'the shadow side answers by class';
is sample('strangler_shadow_skipped_total', 'route="ws",reason="upgrade"'),
   3, 'skipped upgrades';
is sample('strangler_shadow_in_flight'), 0, 'copies in flight';
is sample('strangler_shadow_slots'), 256, 'slots per worker';
cmp_ok sample('strangler_shadow_slots_high_water'), '>=', 50, 'high water';
is sample('strangler_diff_log_dropped_total'), 0, 'diff log lines dropped';
is sample('strangler_upstream_response_seconds_count',
          'route="ws",backend="wsa"'), 0,
   'the WebSocket sessions are not in the upstream latency histogram';
is sample('strangler_responses_total', 'route="ws",backend="wsa",code="1xx"'),
   3, 'the sessions are counted as 101 responses';

unlike read_file('logs/error.log'), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log';

nginx('-s', 'quit');
for (1 .. 100) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
kill 'TERM', @children;
waitpid $_, 0 for @children;

done_testing();
