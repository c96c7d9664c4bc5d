# Capture and replay (issue 24) through a real nginx with a master and 2
# workers: `strangler_capture` records a route's sampled requests with the
# owner's answer, secrets redacted (the default headers, a configured
# header, a query argument, JSON body paths); the file is reopened after
# a move, rotated by size, and an unwritable file or a full disk drops
# records, logged once, never a request; the records written and dropped
# are counted in `GET status` and `GET metrics` (promtool).  Then
# `strangler replay` sends that capture to backends that agree, differ,
# are noisy, fail and hang; writes are skipped, then allowed; a GoReplay
# file; the exit codes.
# Plain Test::More: one nginx lives across reloads; bounded by an alarm.
use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use Time::HiRes qw(sleep time);

$SIG{ALRM} = sub { die "100-capture-replay.t: timed out\n" };
alarm 240;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $top = $ENV{PWD};
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $prefix = tempdir(CLEANUP => 1);

mkdir "$prefix/$_" for qw(conf logs cap html html/files);
chmod 0777, "$prefix/cap";

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

my ($front, $mono, $differ, $fail) = map { free_port() } 1 .. 4;

# accepts connections and never answers: the hanging candidate
my $hole = IO::Socket::INET->new(Listen => 1024, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, ReuseAddr => 1) or die $!;
my $hole_port = $hole->sockport;

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$prefix/$name" or die "$name: $!";
    print $fh $text;
    close $fh;
}

sub read_file {
    my ($name) = @_;
    open my $fh, '<', "$prefix/$name" or return '';
    local $/;
    return <$fh>;
}

sub records {
    my ($name) = @_;
    return map { decode_json($_) } grep { length } split /\n/,
                                                      read_file($name);
}

write_file('conf/routes.yaml', <<'END');
version: 1
default: mono
backends: { mono: {}, new: {}, disk: {} }
routes:
  - name: users
    paths: [/api/users, /api/users/*]
    owner: mono
    reads: mono
    shadow: { to: new, sample: 0, compare: json,
              headers: [Content-Type, Set-Cookie] }
    capture: { sample: 100,
               redact: ["header:X-Api-Key", "arg:token", "$.password",
                        "$.card.number"] }
  - name: quiet
    paths: ["/api/quiet/*"]
    owner: mono
    reads: mono
    capture: { sample: 0 }
  - name: clock
    paths: [/api/clock]
    owner: mono
    reads: mono
    shadow: { to: new, sample: 0, compare: json }
    capture: { sample: 100 }
  - name: files
    paths: ["/files/*"]
    owner: disk
    capture: { sample: 100 }
END

my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
my $user = $> == 0 ? 'user root;' : '';

# the owner (mono), a candidate that differs in one field, one that fails;
# /api/clock answers a new value every time: noise
sub conf {
    my ($capture) = @_;
    write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    default_type application/json;
    sendfile on;
    strangler_zone strangler 1m;
    $capture
    server {
        listen 127.0.0.1:$mono;
        location /api/users {
            add_header Set-Cookie "sid=SECRETSETCOOKIE";
            return 200 '{"id":"\$uri","name":"ann","password":"SECRETPW"}';
        }
        location /api/clock { return 200 '{"now":"\$request_id","v":1}'; }
        location / { return 200 '{"ok":true}'; }
    }
    server {
        listen 127.0.0.1:$differ;
        location /api/users {
            add_header Set-Cookie "sid=other";
            return 200 '{"id":"\$uri","name":"bob","password":"x"}';
        }
        location / { return 200 '{"ok":false}'; }
    }
    server {
        listen 127.0.0.1:$fail;
        location / { return 500 '{"error":"down"}'; }
    }
    server {
        listen 127.0.0.1:$front;
        strangler_routes $prefix/conf/routes.yaml;
        location / { strangler; }
        location /_strangler/ { strangler_api; }
        location \@mono { proxy_pass http://127.0.0.1:$mono; }
        location \@new { proxy_pass http://127.0.0.1:$differ; }
        location \@disk { root $prefix/html; }
    }
}
END
}

sub nginx {
    my @args = @_;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$prefix/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

sub stop {
    nginx('-s', 'quit');
    for (1 .. 100) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
}

my $main = $$;

END {
    local $?;
    stop() if $$ == $main && -e "$prefix/logs/nginx.pid";
}

# a reload is done when no worker of the old configuration is left
sub reload {
    my ($capture) = @_;
    conf($capture);
    my $before = () = read_file('logs/error.log') =~ /start worker process/g;
    nginx('-s', 'reload') == 0 or die "reload failed";
    for (1 .. 100) {
        my $n = () = read_file('logs/error.log') =~ /start worker process/g;
        last if $n >= $before + 2;
        sleep 0.05;
    }
    sleep 0.3;
}

my $http = HTTP::Tiny->new(timeout => 3, keep_alive => 0);

sub call {
    my ($method, $path, %opt) = @_;
    return $http->request($method, "http://127.0.0.1:$front$path", \%opt);
}

# lines reach the file within a second or so (a thread writes them)
sub wait_lines {
    my ($name, $n) = @_;
    for (1 .. 60) {
        last if records($name) >= $n;
        sleep 0.1;
    }
    return scalar records($name);
}

# the capture object of `GET status`, once `ready` says it is there
sub capture_status {
    my ($ready) = @_;
    my $st;
    for (1 .. 40) {
        my $res = call('GET', '/_strangler/status?limit=1');
        $st = $res->{success} ? decode_json($res->{content})->{capture} : {};
        last if $ready->($st);
        sleep 0.1;
    }
    return $st;
}

sub cli {
    my @args = @_;
    my $out = `$cli @args 2>&1`;
    return ($? >> 8, $out);
}

conf("strangler_capture $prefix/cap/capture.jsonl;");
is(nginx(), 0, 'nginx starts with strangler_capture') or do {
    diag(read_file('logs/stderr.log'));
    done_testing();
    exit;
};

# --- capture ---------------------------------------------------------------

my @ok;
for my $i (1 .. 5) {
    push @ok, call('GET', "/api/users/$i?token=SECRETTOKEN&x=$i", headers => {
        'Authorization' => 'Bearer SECRETAUTH',
        'Cookie' => 'c=SECRETCOOKIE',
        'Proxy-Authorization' => 'Basic SECRETPROXY',
        'X-Api-Key' => 'SECRETKEY',
        'X-Trace' => "trace-$i",
    })->{status};
}
push @ok, call('POST', '/api/users', headers => {
    'Content-Type' => 'application/json' },
    content => '{"name":"bo","password":"SECRETBODY",'
               . '"card":{"number":"SECRETCARD","exp":"12/30"}}')->{status};
push @ok, call('GET', "/api/quiet/$_")->{status} for 1 .. 5;
push @ok, call('GET', '/api/clock')->{status} for 1 .. 3;
is_deeply(\@ok, [(200) x 14], 'every request is served');

is(wait_lines('cap/capture.jsonl', 9), 9,
   'sample 100 records each request of its routes, sample 0 none');

my $text = read_file('cap/capture.jsonl');
my @recs = records('cap/capture.jsonl');
unlike($text, qr/SECRET/, 'no secret reaches the file');
is(scalar(grep { $_->{route} eq 'quiet' } @recs), 0, 'sample 0: none');
is(scalar(grep { $_->{route} eq 'users' } @recs), 6, 'users: all 6');

my $cst = capture_status(sub { ($_[0]{written} // 0) >= 9 });
is($cst->{file}, "$prefix/cap/capture.jsonl", 'status: the capture file');
is($cst->{written}, 9, 'status: 9 records written');
is($cst->{dropped}, 0, 'status: none dropped');
is($cst->{bytes}, length $text, 'status: the bytes of the file');
is($cst->{last_error}, undef, 'status: no error yet');

my ($get) = grep { $_->{method} eq 'GET' && $_->{route} eq 'users' } @recs;
my %h = map { $_->[0] => $_->[1] } @{ $get->{headers} };
is($h{Authorization}, '[redacted]', 'Authorization redacted by default');
is($h{Cookie}, '[redacted]', 'Cookie redacted by default');
is($h{'Proxy-Authorization'}, '[redacted]', 'Proxy-Authorization too');
is($h{'X-Api-Key'}, '[redacted]', 'a capture.redact header');
like($h{'X-Trace'}, qr/^trace-\d$/, 'other headers are kept');
like($get->{uri}, qr{^/api/users/\d\?token=\[redacted\]&x=\d$},
     'a capture.redact query argument');
is($get->{answer}{status}, 200, "the owner's status");
is($get->{answer}{headers}{'Set-Cookie'}, '[redacted]',
   'Set-Cookie of the answer redacted');
is($get->{answer}{headers}{'Content-Type'}, 'application/json',
   'the compared headers of the answer');
my $answer = decode_json(decode_base64($get->{answer}{body}));
is($answer->{name}, 'ann', "the owner's body");
is($answer->{password}, '[redacted]', 'a JSON path redacted in the answer');
ok($get->{request_id} =~ /^[0-9a-f]{32}$/, 'the request id');

my ($post) = grep { $_->{method} eq 'POST' } @recs;
my $body = decode_json(decode_base64($post->{body}));
is_deeply($body, { name => 'bo', password => '[redacted]',
                   card => { number => '[redacted]', exp => '12/30' } },
          'the request body, JSON paths redacted');

# --- reopen: the file moved away, `nginx -s reopen` -----------------------

rename "$prefix/cap/capture.jsonl", "$prefix/cap/capture.old" or die $!;
nginx('-s', 'reopen');
sleep 0.3;
call('GET', "/api/users/$_") for 1 .. 2;
is(wait_lines('cap/capture.jsonl', 2), 2, 'after a reopen: a new file');
is(scalar(records('cap/capture.old')), 9, 'the moved one is left alone');

# a HEAD answer has no body; a file is read from its file (sendfile on)
write_file('html/files/big.txt', join '', map { sprintf "%09d\n", $_ }
                                               1 .. 30000);
is(call('HEAD', '/api/users/3')->{status}, 200, 'a HEAD request');
is(call('GET', '/files/big.txt')->{status}, 200, 'a file of 300 KB');
is(wait_lines('cap/capture.jsonl', 4), 4, 'both recorded');
my ($head) = grep { $_->{method} eq 'HEAD' } records('cap/capture.jsonl');
is($head && $head->{answer}{status}, 200, 'HEAD: the status');
is($head && $head->{answer}{body}, '', 'HEAD: no body');
my ($file) = grep { $_->{route} eq 'files' } records('cap/capture.jsonl');
is($file && decode_base64($file->{answer}{body} // ''),
   read_file('html/files/big.txt'), "the file's whole answer");

# --- rotation by size, across 2 workers ---------------------------------

reload("strangler_capture $prefix/cap/rot.jsonl max_size=2k keep=2;");
for my $batch (1 .. 4) {
    call('GET', "/api/users/$batch$_") for 1 .. 6;
    sleep 1.3;
}
ok(-e "$prefix/cap/rot.jsonl.1" && -e "$prefix/cap/rot.jsonl.2",
   'rotated past max_size');
ok(!-e "$prefix/cap/rot.jsonl.3", 'keep=2: no third file');
my $lines = 0;
my $parsed = 1;
for my $f (grep { -e "$prefix/cap/$_" } qw(rot.jsonl rot.jsonl.1 rot.jsonl.2))
{
    for (split /\n/, read_file("cap/$f")) {
        $lines++;
        $parsed &&= eval { decode_json($_); 1 };
    }
}
ok($parsed && $lines > 0 && $lines <= 24,
   "whole lines in every file ($lines)");

# a tiny max_size: every write rotates; keep=1 bounds the files
reload("strangler_capture $prefix/cap/tiny.jsonl max_size=1 keep=1;");
for (1 .. 3) { call('GET', "/api/users/t$_"); sleep 1.2 }
ok(-e "$prefix/cap/tiny.jsonl.1" && !-e "$prefix/cap/tiny.jsonl.2",
   'max_size=1 keep=1: one rotated file');

# --- an unwritable file, a full disk: records dropped, requests served ---

sub dropped_after {
    my ($capture, $what) = @_;
    my $before = length read_file('logs/error.log');
    my $was = capture_status(sub { 1 });
    reload($capture);
    my @st;
    for (1 .. 2) {
        push @st, call('GET', "/api/users/$_")->{status} for 1 .. 5;
        sleep 1.3;
    }
    is_deeply(\@st, [(200) x 10], "$what: every request is served");
    my $log = substr read_file('logs/error.log'), $before;
    my $n = () = $log =~ /capture records dropped/g;
    ok($n >= 1 && $n <= 2, "$what: logged once per worker ($n)");
    my $st = capture_status(sub { $_[0]{dropped} - $was->{dropped} >= 10 });
    is($st->{dropped} - $was->{dropped}, 10, "$what: status counts 10 "
       . "records dropped");
    is($st->{written}, $was->{written}, "$what: and none written");
    return ($log, $st);
}

my ($log, $st) = dropped_after(
    "strangler_capture $prefix/nodir/capture.jsonl;", 'an unwritable file');
is($st->{file}, "$prefix/nodir/capture.jsonl", 'status: the file');
like($st->{last_error}{message},
     qr{^open\(\) "\Q$prefix\E/nodir/capture.jsonl" failed \(2: No such},
     'status: the last error, the call that failed and why');
like($st->{last_error}{at}, qr/^\d{4}-\d\d-\d\dT[\d:]{8}Z$/,
     'status: when');
like($log, qr/open\(\) ".*nodir.*" failed/, 'it says which call failed');
like($log, qr/nodir.* cannot be written: the worker processes cannot create/,
     'a new worker says so at once');

($log, $st) = dropped_after('strangler_capture /dev/full;', 'a full disk');
like($log, qr/write\(\).*No space left on device/, 'it says the disk is full');
like($st->{last_error}{message},
     qr{^write\(\) "/dev/full" failed \(28: No space left on device\)$},
     'status: the disk is full');

# back to a working file: it says how many were dropped
reload("strangler_capture $prefix/cap/again.jsonl;");
call('GET', '/api/users/1');
is(wait_lines('cap/again.jsonl', 1), 1, 'a working file again');
my ($written, $dropped) = ($st->{written}, $st->{dropped});
$st = capture_status(sub { $_[0]{written} > $written });
is($st->{written}, $written + 1, 'status: the record written again');
is($st->{dropped}, $dropped, 'status: the drops are kept');

# the metrics: promtool accepts them, the same counts as the status
my $metrics = call('GET', '/_strangler/metrics')->{content};
write_file('metrics.txt', $metrics);
SKIP: {
    skip 'promtool is missing (mk/deps.sh test installs it)', 1
        unless grep { -x "$_/promtool" } split /:/, $ENV{PATH};
    my $out = `promtool check metrics <$prefix/metrics.txt 2>&1`;
    is($?, 0, 'promtool check metrics: no problem') or diag($out);
}
my %sample = $metrics =~ /^(\w+(?:\{[^}]*\})?) (\S+)$/mg;
is($sample{'strangler_capture_records_total{result="written"}'},
   $st->{written}, 'metrics: records written');
is($sample{'strangler_capture_records_total{result="dropped"}'},
   $st->{dropped}, 'metrics: records dropped');
is($sample{strangler_capture_bytes_total}, $st->{bytes}, 'metrics: bytes');

# --- replay ----------------------------------------------------------------

my $cap = "$prefix/cap/capture.old";
my $table = "$prefix/conf/routes.yaml";
my ($rc, $out);

($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$mono", '--routes', 'users');
is($rc, 0, 'replay: a candidate that agrees: exit 0') or diag($out);
like($out, qr/5 requests sent .* 5 matched, 0 mismatched/,
     'the GETs are sent and match (the redacted paths are not compared)');
like($out, qr/1 write skipped \(--allow-writes sends them\)/,
     'the write is skipped and counted');
like($out, qr/3 of other routes/, '--routes leaves the others');

($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$mono", '--routes', 'users',
                  '--allow-writes');
is($rc, 0, '--allow-writes: exit 0') or diag($out);
like($out, qr/6 requests sent .* 6 matched/, '--allow-writes sends it');

($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$differ", '--routes', 'users');
is($rc, 1, 'a candidate that differs: exit 1');
like($out, qr/route users: 5 mismatched requests/, 'per route');
like($out, qr/\$\.name\s.*[0-9a-f]{32}/, 'the field, with request ids');
unlike($out, qr/header:set-cookie/,
       'a redacted header is redacted on every side: no difference');

($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$differ", '--routes', 'users', '--json');
my $j = eval { decode_json($out) } || {};
is($j->{mismatched}, 5, '--json: the counts');
is($j->{report}{routes}[0]{fields}[0]{path}, '$.name',
   '--json: the report of `strangler report`');

# the clock differs every time: a difference alone, noise with a secondary
my @clock = ($cap, '--table', $table, '--routes', 'clock',
             '--primary', "http://127.0.0.1:$mono",
             '--to', "http://127.0.0.1:$mono");
($rc, $out) = cli('replay', @clock);
is($rc, 1, 'a noisy field without a secondary: a difference');
($rc, $out) = cli('replay', @clock, '--secondary', "http://127.0.0.1:$mono",
                  '--json');
$j = eval { decode_json($out) } || {};
is($rc, 0, 'with --secondary: noise, exit 0') or diag($out);
is($j->{noise_only}, 3, 'counted as noise-only');
is($j->{report}{routes}[0]{fields}[0]{noise}, 3, 'the field is noise');

($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$fail", '--routes', 'users');
is($rc, 1, 'a failing candidate: exit 1');
like($out, qr/status\s.*[0-9a-f]{32}/, 'its status differs');

my $t0 = time;
($rc, $out) = cli('replay', $cap, '--table', $table, '--to',
                  "http://127.0.0.1:$hole_port", '--routes', 'users',
                  '--timeout', 1);
is($rc, 1, 'a hanging candidate: exit 1');
like($out, qr/5 failed/, 'its requests fail');
ok(time - $t0 < 5, 'bounded by --timeout, in parallel');

# GoReplay: request payloads, compared with a live primary
my $sep = "\n\x{1F435}\x{1F648}\x{1F649}\n";
utf8::encode($sep);
write_file('cap/traffic.gor', join $sep,
    "1 a1 1700000000000000000 0\nGET /api/users/7 HTTP/1.1\r\n"
    . "Host: example\r\nAccept: */*\r\n\r\n",
    "1 a2 1700000000000000001 0\nGET /api/users/8?x=1 HTTP/1.1\r\n"
    . "Host: example\r\n\r\n",
    "2 a2 1700000000000000002 5\nHTTP/1.1 200 OK\r\n\r\n",
    "1 a3 1700000000000000003 0\nPOST /api/users HTTP/1.1\r\n"
    . "Host: example\r\nContent-Length: 2\r\n\r\n{}")
    ;
open my $fh, '>>', "$prefix/cap/traffic.gor" or die; print $fh $sep; close $fh;

my @gor = ("$prefix/cap/traffic.gor", '--table', $table);
($rc, $out) = cli('replay', @gor, '--primary', "http://127.0.0.1:$mono",
                  '--to', "http://127.0.0.1:$mono");
is($rc, 0, 'a .gor file against an agreeing candidate: exit 0') or diag($out);
like($out, qr/2 requests sent .* 2 matched/, 'its requests, not responses');
like($out, qr/1 write skipped/, 'its write skipped');
($rc, $out) = cli('replay', @gor, '--primary', "http://127.0.0.1:$mono",
                  '--to', "http://127.0.0.1:$differ");
is($rc, 1, 'a .gor file against a differing candidate: exit 1');
($rc, $out) = cli('replay', @gor, '--to', "http://127.0.0.1:$mono");
is($rc, 2, 'a .gor file holds no answers: --primary is needed, exit 2');
like($out, qr/give --primary/, 'and it says so');

# trouble: exit 2
($rc, $out) = cli('replay', $cap, '--table', $table);
is($rc, 2, 'no --to: exit 2');
($rc, $out) = cli('replay', "$prefix/none.jsonl", '--table', $table,
                  '--to', "http://127.0.0.1:$mono");
is($rc, 2, 'an unreadable file: exit 2');
like($out, qr/none\.jsonl: No such file/, 'it names it');

# the table: `strangler check` knows the capture block
($rc, $out) = cli('check', $table);
is($rc, 0, 'strangler check accepts capture blocks') or diag($out);
write_file('conf/bad.yaml', <<'END');
version: 1
default: mono
backends: { mono: {} }
routes:
  - name: a
    paths: [/a]
    capture: { sample: 200, redact: ["cookie:x", "$.ok"] }
END
($rc, $out) = cli('check', "$prefix/conf/bad.yaml");
is($rc, 1, 'a bad capture block is refused');
like($out, qr/bad\.yaml:7:\d+: .*capture\.sample must be a percentage/,
     'sample: file:line:col');
like($out, qr/bad\.yaml:7:\d+: .*bad capture\.redact "cookie:x"/,
     'redact: file:line:col');

# nginx refuses a bad directive
conf("strangler_capture $prefix/cap/x.jsonl max_size=lots;");
isnt(system("$nginx -t -p $prefix/ -c conf/nginx.conf >/dev/null 2>&1"), 0,
     'nginx -t refuses max_size=lots');

done_testing();
