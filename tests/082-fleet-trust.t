# strangler_etcd when etcd misbehaves: an answer never claims an outcome
# it does not know (etcd frozen with SIGSTOP while a change is in flight),
# a guard never waits for the store and its trip reaches the fleet when
# the store is back, a frozen etcd is noticed within a bound, and a fake
# etcd's error bodies and garbage are errors, never an empty store.
# Plain Test::More, like 080-fleet.t, whose set-up it repeats.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

# a bound on the whole script, whatever happens (END stops what it started)
$SIG{ALRM} = sub { die "082-fleet-trust.t: timed out\n" };
alarm 300;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = tempdir('trust-XXXX', DIR => $servroot, CLEANUP => 1);
$root = File::Spec->rel2abs($root);
my $http = HTTP::Tiny->new(timeout => 5);

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}

# polls until $cond->() is true, at most $secs seconds
sub eventually {
    my ($cond, $secs) = @_;
    my $end = time + ($secs || 10);
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->() ? 1 : 0;
}

# -- etcd ---------------------------------------------------------------

my %etcd;   # name => { pid, client, peer, dir }

sub etcd_start {
    my ($name, $cluster) = @_;
    my $m = $etcd{$name} ||= { client => free_port(), peer => free_port(),
                               dir => "$root/etcd-$name" };
    my $token = $cluster ? 'cluster' : "solo-$name";
    $cluster ||= "$name=http://127.0.0.1:$m->{peer}";
    my $pid = fork // die $!;
    if ($pid == 0) {
        open STDOUT, '>>', "$root/etcd-$name.log" or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        exec $etcd_bin, '--name', $name, '--data-dir', $m->{dir},
            '--listen-client-urls', "http://127.0.0.1:$m->{client}",
            '--advertise-client-urls', "http://127.0.0.1:$m->{client}",
            '--listen-peer-urls', "http://127.0.0.1:$m->{peer}",
            '--initial-advertise-peer-urls', "http://127.0.0.1:$m->{peer}",
            '--initial-cluster', $cluster,
            '--initial-cluster-token', $token,
            '--heartbeat-interval', 50, '--election-timeout', 500;
        die "exec $etcd_bin: $!";
    }
    $m->{pid} = $pid;
    return $m;
}

sub etcd_ready {
    my ($m) = @_;
    return eventually(sub {
        my $res = $http->post("http://127.0.0.1:$m->{client}/v3/kv/range",
                              { content => '{"key":"AA=="}' });
        $res->{status} == 200;
    }, 20);
}

sub etcd_stop {
    my ($name, $sig) = @_;
    my $m = $etcd{$name};
    return unless $m->{pid};
    kill $sig || 'TERM', $m->{pid};
    waitpid $m->{pid}, 0;
    delete $m->{pid};
}

sub etcd_url { "http://127.0.0.1:$etcd{$_[0]}{client}" }

# a raw put under the prefix, as another tool would write it
sub etcd_put {
    my ($name, $key, $value) = @_;
    my $res = $http->post(etcd_url($name) . '/v3/kv/put', { content =>
        encode_json({ key => encode_base64($key, ''),
                      value => encode_base64($value, '') }) });
    return decode_json($res->{content})->{header}{revision};
}

sub etcd_compact {
    my ($name, $rev) = @_;
    return $http->post(etcd_url($name) . '/v3/kv/compaction',
                       { content => encode_json({ revision => $rev }) })
        ->{status};
}

# -- nginx hosts ----------------------------------------------------------

my %host;   # name => { dir, front, mono, msgs }

sub host_config {
    my ($name, @endpoints) = @_;
    my $h = $host{$name} ||= { dir => "$root/nginx-$name",
                               front => free_port(), mono => free_port(),
                               msgs => free_port() };
    make_path("$h->{dir}/$_") for qw(conf logs state);
    chmod 0777, "$h->{dir}/state";
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    write_file("$h->{dir}/conf/routes.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: monolith
  - name: orders
    paths: ["/api/orders/*"]
    owner: monolith
    reads: messages
    guard: { error_rate: 1%, window: 1s, min_requests: 10, failures: 1 }
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    reads: monolith
    shadow: { to: messages, sample: 100, compare: json }
END
    write_file("$h->{dir}/conf/nginx.conf", <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 128; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_state state/strangler.state;
    strangler_etcd @endpoints;
    server {
        listen 127.0.0.1:$h->{mono};
        location / { return 200 "monolith\\n"; }
        location /api/items/ { return 200 '{"id": 1, "at": 1}'; }
    }
    server {
        listen 127.0.0.1:$h->{msgs};
        location / {
            if (\$arg_fail) { return 500 "failed\\n"; }
            return 200 "messages\\n";
        }
        location /api/items/ { return 200 '{"id": 1, "at": 2}'; }
    }
    server {
        listen 127.0.0.1:$h->{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$h->{mono}; }
        location \@messages { proxy_pass http://127.0.0.1:$h->{msgs}; }
        location /_strangler/ { strangler_api; }
    }
}
END
    return $h;
}

sub nginx {
    my ($name, @args) = @_;
    my $dir = $host{$name}{dir};
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$dir/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$dir/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

sub nginx_stop {
    my ($name) = @_;
    nginx($name, '-s', 'quit');
    eventually(sub { !-e "$host{$name}{dir}/logs/nginx.pid" }, 10);
}

sub get {
    my ($name, $path) = @_;
    my $res = $http->get("http://127.0.0.1:$host{$name}{front}"
                         . ($path || '/api/conversations/1'));
    return $res->{status} == 200 ? $res->{content} : "failed $res->{status}";
}

# every worker of the host serves $want
sub serves {
    my ($name, $want, $secs, $path) = @_;
    return eventually(sub {
        for (1 .. 6) { return 0 if get($name, $path) ne $want }
        1;
    }, $secs);
}

sub api {
    my ($name, $method, $path, $body) = @_;
    my $res = $http->request($method, "http://127.0.0.1:$host{$name}{front}"
                             . "/_strangler/$path",
                             defined $body ? { content => $body } : {});
    my $json = eval { decode_json($res->{content}) } || {};
    return ($res->{status}, $json);
}

sub fleet {
    my ($name) = @_;
    my (undef, $status) = api($name, 'GET', 'status');
    return $status->{fleet} || {};
}

sub connected {
    my ($name, $secs) = @_;
    return eventually(sub { fleet($name)->{connected} }, $secs || 10);
}

sub log_of { read_file("$host{$_[0]}{dir}/logs/error.log") }

END {
    for my $name (keys %host) {
        nginx($name, '-s', 'stop') if -e "$host{$name}{dir}/logs/nginx.pid";
    }
    kill 'KILL', $_->{pid} for grep { $_->{pid} } values %etcd;
}


# a range of one key in etcd, as etcd holds it now: its value or undef
sub etcd_get {
    my ($name, $key) = @_;
    my $res = $http->post(etcd_url($name) . '/v3/kv/range', { content =>
        encode_json({ key => encode_base64($key, '') }) });
    my $kv = (decode_json($res->{content})->{kvs} || [])->[0];
    return $kv ? decode_base64($kv->{value}) : undef;
}

sub outcome_of {
    my ($name, $key) = @_;
    my ($o) = grep { $_->{key} eq $key } @{ fleet($name)->{outcomes} || [] };
    return $o ? $o->{outcome} : '';
}

sub guard_of {
    my (undef, $r) = api($_[0], 'GET', 'routes/orders');
    return $r->{guard} || {};
}

my $e1 = etcd_start('e1');
ok etcd_ready($e1), 'etcd answers on loopback';
host_config($_, etcd_url('e1')) for qw(A B);
is nginx('A'), 0, 'host A starts';
is nginx('B'), 0, 'host B starts';
ok connected('A') && connected('B'), 'both hosts watch etcd';

# -- etcd frozen: noticed within a bound ----------------------------------

kill 'STOP', $e1->{pid};
my $t0 = time;
ok eventually(sub { !fleet('A')->{connected} }, 8),
   'a frozen etcd is noticed: connected turns false';
my $took = time - $t0;
ok $took < 7, "... within the documented bound (${took}s)";

# -- a change whose outcome is unknown says so, and is learnt -------------

my ($st, $body) = api('A', 'PUT', 'routes/conversations',
                      '{"reads": "messages"}');
is $st, 503, 'a change while etcd is frozen answers 503';
is $body->{outcome}, 'unknown', '... saying its outcome is unknown';
like $body->{error}, qr/may apply or not/, '... in words';
is outcome_of('A', 'routes/conversations'), 'unknown',
   "... and the status's fleet.outcomes says so too";
kill 'CONT', $e1->{pid};
ok eventually(sub {
        outcome_of('A', 'routes/conversations') =~ /^(applied|not applied)$/;
    }, 15), 'once etcd answers, the outcome is learnt';
my $outcome = outcome_of('A', 'routes/conversations');
sleep 1;
my $value = etcd_get('e1', '/strangler/routes/conversations');
if ($outcome eq 'applied') {
    like $value, qr/"reads":"messages"/, 'applied: etcd holds the change';
    ok serves('A', "messages\n") && serves('B', "messages\n"),
       '... and both hosts serve it';
} else {
    ok !defined $value, 'not applied: etcd has no such value';
    ok serves('A', "monolith\n") && serves('B', "monolith\n"),
       '... and neither host serves it';
}
like log_of('A'), qr/whose outcome was unknown: \Q$outcome\E/,
     '... and the log says what became of it';

# -- a guard trips at once while etcd is frozen -----------------------------

ok connected('A') && connected('B'), 'both hosts are back';
is get('A', '/api/orders/1'), "messages\n", 'A reads orders from messages';
kill 'STOP', $e1->{pid};
$t0 = time;
my $tripped = eventually(sub {
        get('A', '/api/orders/1?fail=1') for 1 .. 12;
        get('A', '/api/orders/1') eq "monolith\n";
    }, 8);
$took = time - $t0;
ok $tripped, "the guard trips on A while etcd is frozen";
ok $took < 3, "... within a guard window or two, not after etcd (${took}s)";
ok serves('A', "monolith\n", 2, '/api/orders/1'),
   '... in every worker of A';
for (1 .. 15) { get('A', '/api/orders/1?fail=1') for 1 .. 4; sleep 0.2 }
is guard_of('A')->{trips}, 1, '... and trips once, not again while waiting';

# -- ... and reaches the fleet when the store is back ----------------------

kill 'CONT', $e1->{pid};
ok eventually(sub {
        (etcd_get('e1', '/strangler/routes/orders') || '') =~ /"by":"guard"/;
    }, 10), 'once etcd answers, the trip is in etcd';
ok serves('B', "monolith\n", 10, '/api/orders/1'), '... and B takes it';

($st) = api('B', 'POST', 'routes/orders/guard/rearm');
is $st, 200, 'B re-arms the guard';
ok serves('A', "messages\n", 10, '/api/orders/1'),
   '... and A reads orders from messages again';

# -- a trip made while etcd is down is published when it is back -----------

etcd_stop('e1');
ok eventually(sub { !fleet('A')->{connected} }), 'etcd is down';
ok eventually(sub {
        get('A', '/api/orders/1?fail=1') for 1 .. 12;
        get('A', '/api/orders/1') eq "monolith\n";
    }, 8), 'the guard trips on A';
is get('B', '/api/orders/1'), "messages\n", '... B knows nothing of it';
etcd_start('e1');
ok etcd_ready($etcd{e1}) && connected('A', 12), 'etcd is back with its data';
ok eventually(sub {
        (etcd_get('e1', '/strangler/routes/orders') || '') =~ /"by":"guard"/;
    }, 10), 'the local trip is published';
ok serves('B', "monolith\n", 10, '/api/orders/1'), '... and B takes it';

($st) = api('A', 'DELETE', 'routes/orders');
is $st, 200, 'DELETE on A answers 200';
ok serves('A', "messages\n", 5, '/api/orders/1'), '... and A does what it says';
ok serves('B', "messages\n", 5, '/api/orders/1'), '... and B too';
ok !defined etcd_get('e1', '/strangler/routes/orders'), '... etcd has no key';

# a trip while etcd is down, then a rollback once it is back
etcd_stop('e1');
ok eventually(sub { !fleet('A')->{connected} }), 'etcd is down again';
ok eventually(sub {
        get('A', '/api/orders/1?fail=1') for 1 .. 12;
        get('A', '/api/orders/1') eq "monolith\n";
    }, 8), 'the guard trips on A';
etcd_start('e1');
ok etcd_ready($etcd{e1}) && connected('A', 12), 'etcd is back';
ok eventually(sub {
        (etcd_get('e1', '/strangler/routes/orders') || '') =~ /"by":"guard"/;
    }, 10), '... and the trip is published';
($st, $body) = api('A', 'POST', 'routes/orders/rollback');
is $st, 200, 'a rollback answers 200';
ok serves('A', "monolith\n", 5, '/api/orders/1')
   && serves('B', "monolith\n", 5, '/api/orders/1'),
   '... and both hosts read orders from the owner';
($st) = api('A', 'DELETE', 'routes/orders');
is $st, 200, 'the rollback is dropped';
ok serves('A', "messages\n", 5, '/api/orders/1')
   && serves('B', "messages\n", 5, '/api/orders/1'),
   '... on both hosts';

# -- an invalid value means the same on every host --------------------------

sub invalid_of {
    my ($name) = @_;
    return join ',', map { "$_->{key}: $_->{error}" }
                     @{ fleet($name)->{invalid} || [] };
}

($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'an override of conversations';
ok serves('A', "messages\n") && serves('B', "messages\n"),
   '... served by both hosts';
nginx_stop('B');
unlink "$host{B}{dir}/state/strangler.state";
etcd_put('e1', '/strangler/routes/conversations', '{"owner": "nosuch"}');
ok serves('A', "monolith\n"),
   'an invalid value means no override on A, which had one';
like invalid_of('A'), qr{^/strangler/routes/conversations: "owner" is not},
     '... and the status names the bad key';
is nginx('B'), 0, 'B starts afresh';
ok connected('B') && serves('B', "monolith\n"), '... and decides the same';
is fleet('B')->{revision}, fleet('A')->{revision}, '... at the same revision';
like invalid_of('B'), qr{^/strangler/routes/conversations:},
     '... and names the same key';

($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'a write replaces the bad value';
ok serves('B', "messages\n"), '... on B too';
is invalid_of('A'), '', '... and the flag goes';

# -- one large value does not break the zone --------------------------------

etcd_put('e1', '/strangler/routes/conversations',
         encode_json({ reads => 'messages', by => 'x' x 1_000_000 }));
ok serves('A', "monolith\n") && serves('B', "monolith\n"),
   'a 1 MB "by" is refused as invalid: no override, on both hosts';
like invalid_of('A'), qr{conversations: the value is over 16384 bytes},
     '... and the status says why';
etcd_put('e1', '/strangler/routes/conversations',
         encode_json({ reads => 'messages', by => 'x' x 1000 }));
ok eventually(sub {
        invalid_of('A') =~ /conversations: "by" is over 256 bytes/;
    }), 'a 1 KB "by" is refused too';
is get('A'), "monolith\n", '... as no override';
unlike log_of('A'), qr/is full/, '... and the zone is not filled';
($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'a write replaces it';
ok serves('B', "messages\n"), '... and reaches B';

for my $name (qw(A B)) {
    my @alerts = log_of($name) =~ /^.*\[(?:alert|crit|emerg)\].*$/mg;
    is_deeply \@alerts, [], "no alert in the log of $name";
}

nginx_stop($_) for qw(A B);
etcd_stop('e1');

# -- a fake etcd: error bodies and garbage ----------------------------------

# one process per connection; what it answers is the mode file's word
my $mode_file = "$root/fake.mode";
my $fake_port = free_port();
my $value64 = encode_base64('{"reads": "messages", "by": "tool"}', '');
my $key64 = encode_base64('/strangler/routes/conversations', '');
my $range = encode_json({ header => { revision => '7' }, count => '1',
                          kvs => [{ key => $key64, value => $value64,
                                    mod_revision => '7' }] });
my $error = '{"error": "etcdserver: request timed out", "code": 14, '
          . '"message": "etcdserver: request timed out"}';
my $garbage = "\x01\x1b[31mnot etcd\xff";

sub fake_answer {
    my ($c, $body) = @_;
    print $c "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
             . $body;
}

sub fake_etcd {
    my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                    LocalPort => $fake_port, ReuseAddr => 1)
        or die "fake etcd: $!";
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $srv->accept) {
        my $pid = fork // die $!;
        if ($pid) { close $c; next }
        local $/ = "\r\n\r\n";
        my $head = <$c> // exit 0;
        my ($len) = $head =~ /Content-Length: (\d+)/i;
        my $req = '';
        read $c, $req, $len if $len;
        my ($path) = $head =~ m{^POST (\S+)};
        my $mode = read_file($mode_file);
        $c->autoflush(1);
        if ($mode eq 'garbage') {
            fake_answer($c, $garbage);
        } elsif ($path eq '/v3/watch') {
            fake_answer($c, '{"result": {"header": {"revision": "7"}, '
                            . '"created": true}}' . "\n");
            sleep 0.1 while read_file($mode_file) eq 'good';
            # a compaction: the host reads everything again
            print $c '{"result": {"header": {"revision": "7"}, '
                     . '"compact_revision": "9"}}' . "\n";
        } elsif ($mode eq 'error') {
            fake_answer($c, $error);
        } else {
            fake_answer($c, $range);
        }
        close $c;
        exit 0;
    }
    exit 0;
}

write_file($mode_file, 'good');
my $fake = fork // die $!;
fake_etcd() if $fake == 0;
$etcd{fake} = { pid => $fake };

host_config('F', "http://127.0.0.1:$fake_port");
is nginx('F'), 0, 'host F starts on a fake etcd';
ok connected('F'), 'F watches the fake etcd';
ok serves('F', "messages\n"), "... and serves the fake's override";
my $rev = fleet('F')->{revision};
is $rev, 7, '... at its revision';

write_file($mode_file, 'error');
ok eventually(sub { !fleet('F')->{connected} }, 10),
   'an error body with HTTP 200 is an error: F is not connected';
ok eventually(sub { log_of('F') =~ /not a valid range answer/ }, 5),
   '... and says why';
is fleet('F')->{revision}, 7, '... its revision stays';
ok serves('F', "messages\n"), '... and so do its overrides';

write_file($mode_file, 'garbage');
($st, $body) = api('F', 'PUT', 'routes/conversations',
                   '{"reads": "monolith"}');
is $st, 503, 'garbage from etcd answers 503, as docs/fleet.md says';
is $body->{outcome}, 'unknown', '... whose outcome is unknown';
ok serves('F', "messages\n"), '... and nothing changed here';
my $flog = log_of('F');
like $flog, qr/\\x01\\x1b\[31mnot etcd\\xff/,
     "etcd's bytes are escaped in the log";
unlike $flog, qr/[\x00-\x08\x0b-\x1f\x7f-\xff]/, '... no raw byte is left';

nginx_stop('F');
kill 'KILL', $fake;
waitpid $fake, 0;
delete $etcd{fake};

done_testing();
