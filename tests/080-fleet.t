# strangler_etcd: overrides shared by several nginx hosts through a real
# etcd on loopback (etcd-server, installed by `make test`).  Plain
# Test::More: it needs several nginx instances and etcd processes that
# live across the steps.  No timed assertion: each wait polls until the
# expected state, with a generous bound.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use StranglerNginx qw(free_port write_file read_file nginx_at);

# a bound on the whole script, whatever happens (END stops what it started)
$SIG{ALRM} = sub { die "080-fleet.t: timed out\n" };
alarm 240;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = tempdir('fleet-XXXX', DIR => $servroot, CLEANUP => 1);
$root = File::Spec->rel2abs($root);
my $http = HTTP::Tiny->new(timeout => 5);

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
    return nginx_at($host{$name}{dir}, @args);
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

# -- one etcd, hosts A and B ----------------------------------------------

my $e1 = etcd_start('e1');
ok etcd_ready($e1), 'etcd answers on loopback';

host_config($_, etcd_url('e1')) for qw(A B);
is nginx('A'), 0, 'host A starts';
is nginx('B'), 0, 'host B starts';
ok connected('A') && connected('B'), 'both hosts watch etcd';

my $f = fleet('A');
is_deeply $f->{endpoints}, ["127.0.0.1:$etcd{e1}{client}"],
    'the status JSON lists the endpoints';
is $f->{prefix}, '/strangler/', 'the default prefix';
ok $f->{watcher_pid}, 'one worker of the host watches';

my $metrics = $http->get("http://127.0.0.1:$host{A}{front}"
                         . '/_strangler/metrics')->{content};
like $metrics, qr/^strangler_etcd_connected 1$/m, 'the metrics say connected';
like $metrics, qr/^strangler_etcd_revision \d+$/m, '... and the revision';

my ($st, $body) = api('A', 'PUT', 'routes/conversations',
                      '{"reads": "messages"}');
is $st, 200, 'an override through host A';
like $body->{override}{by}, qr/^127\.0\.0\.1 on /,
     'the override says who made it, and on which host';
ok serves('B', "messages\n"), 'host B serves the override made on A';

my (undef, $onb) = api('B', 'GET', 'routes/conversations');
is $onb->{override}{by}, $body->{override}{by},
    'host B shows who made it on A';
ok $onb->{override}{at}, '... and when';

($st) = api('B', 'POST', 'routes/conversations/rollback');
is $st, 200, 'a rollback through host B';
ok serves('A', "monolith\n"), 'host A serves the rollback made on B';
ok eventually(sub {
        read_file("$host{A}{dir}/state/strangler.state")
            =~ /"reads": "monolith",\s+"by": "127\.0\.0\.1 on /;
    }), "host A's state file holds what etcd said";

# -- a lost race: 409 with the value that won -----------------------------

# B's watcher stands still: B has not seen A's change when B writes
my $watcher = fleet('B')->{watcher_pid};
kill 'STOP', $watcher;
($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'A changes the route';
my ($st409, $conflict) = api('B', 'PUT', 'routes/conversations',
                             '{"owner": "messages"}');
kill 'CONT', $watcher;
is $st409, 409, 'B, which had not seen it, gets 409';
is $conflict->{current}{reads}, 'messages', '... with the value that won';
ok serves('B', "messages\n"), "... and B serves A's change, not its own";

# -- runtime ignore rules go through etcd like overrides -----------------

sub rules_of {
    my (undef, $r) = api($_[0], 'GET', 'routes/items');
    return join ',', @{ $r->{runtime_ignore} || [] };
}

($st, $body) = api('A', 'PUT', 'routes/items/ignore',
                   '{"add": ["$.total", "header:X-Id"]}');
is $st, 200, 'ignore rules added through host A';
is_deeply $body->{runtime_ignore}, ['$.total', 'header:X-Id'],
          '... and applied on A when it answers';
ok eventually(sub { rules_of('B') eq '$.total,header:X-Id' }),
   'host B applies the rules added on A';
($st) = api('B', 'PUT', 'routes/items/ignore', '{"remove": ["$.total"]}');
is $st, 200, 'a rule removed through host B';
ok eventually(sub { rules_of('A') eq 'header:X-Id' }),
   'host A applies the removal made on B';
ok eventually(sub {
        read_file("$host{A}{dir}/state/strangler.state") =~ /header:X-Id/
            && read_file("$host{A}{dir}/state/strangler.state")
               !~ /\$\.total/;
    }), "host A's state file keeps the rules etcd holds";

$watcher = fleet('B')->{watcher_pid};
kill 'STOP', $watcher;
($st) = api('A', 'PUT', 'routes/items/ignore', '{"add": ["$.id"]}');
is $st, 200, 'A adds a rule';
($st409, $conflict) = api('B', 'PUT', 'routes/items/ignore',
                          '{"add": ["$.other"]}');
kill 'CONT', $watcher;
is $st409, 409, 'B, which had not seen it, gets 409';
is_deeply $conflict->{current}, ['header:X-Id', '$.id'],
          '... with the rules that won';
ok eventually(sub { rules_of('B') eq 'header:X-Id,$.id' }),
   "... and B applies A's rules, not its own";

etcd_put('e1', '/strangler/ignore/items', '{"not": "a list"}');
ok eventually(sub {
        log_of('A') =~ m{etcd key "/strangler/ignore/items" is not a JSON};
    }), 'a bad ignore value is ignored with a warning naming the key';
is rules_of('A'), '', '... and means no rules, whatever A had before';
($st) = api('A', 'PUT', 'routes/items/ignore',
            '{"add": ["header:X-Id", "$.id"]}');
is $st, 200, 'a write replaces the bad value';

# a rule added on A stops B's comparisons from mismatching
sub shadow_of {
    my (undef, $r) = api($_[0], 'GET', 'routes/items');
    return $r->{counters}{shadow} || {};
}

ok eventually(sub {
        get('B', '/api/items/1');
        shadow_of('B')->{mismatched};
    }), "B's comparisons of items mismatch (\$.at differs)";
($st) = api('A', 'PUT', 'routes/items/ignore', '{"add": ["$.at"]}');
is $st, 200, 'A adds a rule for it';
ok eventually(sub { rules_of('B') eq 'header:X-Id,$.id,$.at' }),
   '... which reaches B';
my $before = shadow_of('B');
get('B', '/api/items/1') for 1 .. 4;
ok eventually(sub {
        shadow_of('B')->{matched} >= $before->{matched} + 4;
    }), "B's comparisons match now";
is shadow_of('B')->{mismatched}, $before->{mismatched},
   '... and none mismatches';

# -- the watching worker dies: another takes the watch over ---------------

$watcher = fleet('A')->{watcher_pid};
kill 'KILL', $watcher;
ok eventually(sub {
        my $w = fleet('A')->{watcher_pid};
        $w && $w != $watcher && fleet('A')->{connected};
    }, 10), 'a crashed watcher is replaced';
($st) = api('B', 'PUT', 'routes/conversations', '{"reads": "monolith"}');
is $st, 200, 'B changes the route';
ok serves('A', "monolith\n"), 'A sees it through its new watcher';

# -- a reload: the old watcher lets go, a new worker takes over -------------

$watcher = fleet('A')->{watcher_pid};
is nginx('A', '-s', 'reload'), 0, 'A reloads';
ok eventually(sub {
        my $w = fleet('A')->{watcher_pid};
        $w && $w != $watcher && fleet('A')->{connected};
    }, 10), 'a new worker watches after the reload';
($st) = api('B', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'B changes the route';
ok serves('A', "messages\n"), 'A sees it through the new watcher';
($st) = api('B', 'PUT', 'routes/conversations', '{"reads": "monolith"}');
ok serves('A', "monolith\n"), '... and the next change too';

# -- a guard trips on A: the rollback reaches B through etcd ----------------

is get('B', '/api/orders/1'), "messages\n", 'B reads orders from messages';
ok eventually(sub {
        get('A', '/api/orders/1?fail=1') for 1 .. 20;
        get('A', '/api/orders/1') eq "monolith\n";
    }, 10), "orders' guard trips on A, where its reads fail";
ok serves('B', "monolith\n", 10, '/api/orders/1'),
   "... and B reads orders from the owner too";
my (undef, $orders) = api('B', 'GET', 'routes/orders');
is $orders->{override}{by}, 'guard', '... by the guard';
($st) = api('B', 'POST', 'routes/orders/guard/rearm');
is $st, 200, 'B re-arms the guard';
ok serves('A', "messages\n", 10, '/api/orders/1'),
   '... and A reads orders from messages again';

# -- bad values and unknown routes in etcd ---------------------------------

my $rev = etcd_put('e1', '/strangler/routes/conversations',
                   '{"reads": "nowhere"}');
etcd_put('e1', '/strangler/routes/ghost', '{"reads": "messages"}');
my $key = '/strangler/routes/conversations';
ok eventually(sub {
        log_of('A') =~ m{etcd key "$key" is not a valid override};
    }),
   'a bad value is ignored with a warning naming the key';
ok serves('A', "monolith\n"), '... and means no override';
unlike log_of('A'), qr{routes/ghost},
       'a key for a route A does not have is left alone';
($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'a write replaces the bad value';
ok serves('B', "messages\n"), '... and reaches B';

# -- a compaction ----------------------------------------------------------

$rev = etcd_put('e1', '/strangler/other', 'x');
is etcd_compact('e1', $rev), 200, 'etcd compacted to its last revision';
($st) = api('B', 'POST', 'routes/conversations/rollback');
is $st, 200, 'a change after the compaction';
ok serves('A', "monolith\n"), '... reaches A';

# -- etcd stops: traffic flows, changes answer 503 -------------------------

# the state file is saved behind the changes: it holds the rollback soon
my $state_file = "$host{A}{dir}/state/strangler.state";
ok eventually(sub { read_file($state_file) =~ /"reads": "monolith"/ }),
   "A's state file holds the last change";
my $state_before = read_file($state_file);
etcd_stop('e1');
ok eventually(sub { !fleet('A')->{connected} }), 'A sees etcd gone';
is get('A'), "monolith\n", 'A serves the last known override';
($st, $body) = api('A', 'PUT', 'routes/conversations',
                   '{"reads": "messages"}');
is $st, 503, 'a change while etcd is down answers 503';
like $body->{error}, qr/unreachable/, '... saying why';
is get('A'), "monolith\n", '... and changes nothing here';
($st, $body) = api('A', 'PUT', 'routes/items/ignore', '{"add": ["$.x"]}');
is $st, 503, 'an ignore rule change while etcd is down answers 503';
is rules_of('A'), 'header:X-Id,$.id,$.at', '... and changes nothing here';
is read_file($state_file), $state_before,
   '... nor in the state file';

# restarted with its data: back within 10 s
etcd_start('e1');
ok etcd_ready($etcd{e1}), 'etcd is back with its data';
ok connected('A', 12) && connected('B', 12), 'both hosts reconnect';
my $log = log_of('A');
my $lost = () = $log =~ /etcd is unreachable/g;
is $lost, 1, 'the loss is logged once';
like $log, qr/etcd is back after \d+ms/, '... the return once, with the gap';
($st) = api('A', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'changes work again';
ok serves('B', "messages\n"), '... and reach B';

# -- nginx started while etcd is down ---------------------------------------

etcd_stop('e1');
nginx_stop('A');
is nginx('A'), 0, 'A starts while etcd is down';
ok serves('A', "messages\n"), '... and serves its last-known-good overrides';
etcd_start('e1');
ok etcd_ready($etcd{e1}) && connected('A', 12), '... and connects later';

# -- etcd rebuilt empty: its revision goes back -----------------------------

etcd_stop('e1');
remove_tree($etcd{e1}{dir});
etcd_start('e1');
ok etcd_ready($etcd{e1}), 'etcd restarted with its data wiped';
ok eventually(sub { log_of('B') =~ /revision went back/ }, 12),
   'B notices the revision went back';
ok serves('B', "monolith\n", 12), '... and takes etcd (empty) as the truth';
ok eventually(sub { rules_of('B') eq '' }),
   '... its ignore rules too: none';
($st) = api('B', 'PUT', 'routes/conversations', '{"reads": "messages"}');
is $st, 200, 'a change on the rebuilt etcd';
ok serves('A', "messages\n"), '... reaches A';

for my $name (qw(A B)) {
    # but for the worker this test killed
    my @alerts = grep { !/exited on signal 9/ }
                 log_of($name) =~ /^.*\[(?:alert|crit|emerg)\].*$/mg;
    is_deeply \@alerts, [], "no alert in the log of $name";
}

nginx_stop($_) for qw(A B);
etcd_stop('e1');

# -- a 3-member cluster: the member in use is killed ------------------------

my @members = qw(m1 m2 m3);
$etcd{$_} = { client => free_port(), peer => free_port(),
              dir => "$root/etcd-$_" } for @members;
my $cluster = join ',', map { "$_=http://127.0.0.1:$etcd{$_}{peer}" }
                            @members;
etcd_start($_, $cluster) for @members;
ok etcd_ready($etcd{$_}), "member $_ answers" for @members;

host_config('C', map { etcd_url($_) } @members);
host_config('D', map { etcd_url($_) } reverse @members);
is nginx('C'), 0, 'host C starts on the cluster';
is nginx('D'), 0, 'host D starts on the cluster';
ok connected('C') && connected('D'), 'both watch the cluster';

my $in_use = fleet('C')->{endpoint};
my ($victim) = grep { "127.0.0.1:$etcd{$_}{client}" eq $in_use } @members;
my ($other) = grep { $_ ne $victim } @members;
ok $victim, "C uses member $in_use";

# C's member stands still (C's watch sees nothing, and nothing breaks
# yet), the others change the route and compact past C's revision; then
# C's member dies: C resumes its watch on another, from a compacted
# revision, and reads everything again
kill 'STOP', $etcd{$victim}{pid};
my $crev;
ok eventually(sub {
        eval { etcd_put($other, '/strangler/other', 'x') }
        && ($crev = eval {
               etcd_put($other, '/strangler/routes/conversations',
                        '{"reads": "messages", "by": "tool"}') });
    }, 10), 'changes through another member';
ok eventually(sub { etcd_compact($other, $crev) == 200 }, 10),
   '... and a compaction past it';
etcd_stop($victim, 'KILL');
ok eventually(sub { log_of('C') =~ /etcd compacted past revision/ }, 10),
   'C finds its revision compacted' or diag(log_of('C'));
ok serves('C', "messages\n", 10), '... reads it all again and serves it';

ok eventually(sub {
        my ($s) = api('C', 'PUT', 'routes/conversations',
                      '{"reads": "monolith"}');
        $s == 200;
    }, 15), 'a change through C once its member is killed';
isnt fleet('C')->{endpoint}, $in_use, 'C moved to another member';
ok serves('D', "monolith\n", 15), '... and the change reaches D';

($st) = api('C', 'PUT', 'routes/orders', '{"reads": "monolith"}');
is $st, 200, 'an override of orders through C';
ok serves('D', "monolith\n", 10, '/api/orders/1'), '... reaches D';
($st) = api('D', 'DELETE', 'routes/orders');
is $st, 200, 'D drops it';
ok serves('C', "messages\n", 10, '/api/orders/1'),
   '... and C reads orders from messages again';
my (undef, $dropped) = api('C', 'GET', 'routes/orders');
is $dropped->{override}, undef, '... with no override left';

done_testing();
