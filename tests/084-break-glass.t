# Break-glass: a rollback made while etcd is unreachable (stopped, frozen
# with SIGSTOP, or cut off from one host only) applies on the host where
# it is made, is marked "pending": "etcd", survives a restart, and reaches
# every host when etcd is back; what another host changed meanwhile is
# judged by the documented rule (the rollback wins unless the owner
# moved).  Every change says who, when, through what and why, in the
# status and in the history.  Plain Test::More, like 082-fleet-trust.t,
# whose set-up it repeats.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

# a bound on the whole script, whatever happens (END stops what it started)
$SIG{ALRM} = sub { die "084-break-glass.t: timed out\n" };
alarm 300;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = tempdir('glass-XXXX', DIR => $servroot, CLEANUP => 1);
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

# -- a forwarder: cuts one host off etcd while the other still reaches it

my %fwd;   # name => { pid, port, to }

sub forward_start {
    my ($name, $to) = @_;
    my $f = $fwd{$name} ||= { port => free_port(), to => $to };
    my $pid = fork // die $!;
    if ($pid == 0) {
        # _exit: a forwarder never runs the END blocks of the test
        setpgrp(0, 0);
        my $l = IO::Socket::INET->new(Listen => 16, ReuseAddr => 1,
                    LocalAddr => "127.0.0.1:$f->{port}") or POSIX::_exit(1);
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $l->accept) {
            next if fork;
            my $u = IO::Socket::INET->new("127.0.0.1:$f->{to}")
                or POSIX::_exit(0);
            my $sel = IO::Select->new($c, $u);
            while (my @ready = $sel->can_read) {
                for my $s (@ready) {
                    my $n = sysread $s, my $buf, 65536;
                    POSIX::_exit(0) unless $n;
                    syswrite(($s == $c ? $u : $c), $buf) or POSIX::_exit(0);
                }
            }
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    $f->{pid} = $pid;
    eventually(sub { IO::Socket::INET->new("127.0.0.1:$f->{port}") }, 5);
    return "http://127.0.0.1:$f->{port}";
}

sub forward_stop {
    my ($name) = @_;
    my $f = $fwd{$name};
    return unless $f->{pid};
    kill 'KILL', -$f->{pid};   # the forwarder's own process group
    waitpid $f->{pid}, 0;
    delete $f->{pid};
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
    reads: messages
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    reads: messages
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
    }
    server {
        listen 127.0.0.1:$h->{msgs};
        location / { return 200 "messages\\n"; }
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


sub route_of {
    my ($name, $route) = @_;
    my (undef, $r) = api($name, 'GET', "routes/$route");
    return $r;
}

sub history_of {
    my ($name, $query) = @_;
    my (undef, $h) = api($name, 'GET', 'history' . ($query || ''));
    return $h->{history} || [];
}

sub etcd_value {
    my $v = etcd_get('e1', "/strangler/routes/$_[0]");
    return defined $v ? (eval { decode_json($v) } || {}) : undef;
}

END {
    forward_stop($_) for keys %fwd;
}

my $e1 = etcd_start('e1');
ok etcd_ready($e1), 'etcd answers on loopback';
my $via_fwd = forward_start('A', $e1->{client});
host_config('A', $via_fwd);
host_config('B', etcd_url('e1'));
is nginx('A'), 0, 'host A starts';
is nginx('B'), 0, 'host B starts';
ok connected('A') && connected('B'), 'both hosts watch etcd';
ok serves('A', "messages\n") && serves('B', "messages\n"),
   'both read conversations from messages';

# -- etcd killed mid-incident: the rollback still applies ------------------

etcd_stop('e1', 'KILL');
ok eventually(sub { !fleet('A')->{connected} }, 8), 'etcd is down';

my ($st, $body) = api('A', 'PUT', 'routes/items', '{"reads": "monolith"}');
is $st, 503, 'any other change still answers 503';
like $body->{outcome}, qr/^(unchanged|unknown)$/,
     '... and says so (A reaches etcd through a forwarder, which answers)';

($st, $body) = api('A', 'POST',
                   'routes/conversations/rollback?reason=INC-4711+5xx');
is $st, 200, 'a rollback while etcd is down answers 200 (break-glass)';
is $body->{pending}, 'etcd', '... marked "pending": "etcd"';
is $body->{override}{via}, 'break-glass', '... via break-glass';
is $body->{override}{reason}, 'INC-4711 5xx', '... with its reason';
like $body->{override}{by}, qr/^127\.0\.0\.1 on /, '... and who made it';
like $body->{override}{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     '... and when, in UTC';
ok serves('A', "monolith\n", 3), '... and applies in every worker of A';
is get('B'), "messages\n", '... B knows nothing of it yet';
like read_file("$host{A}{dir}/state/strangler.state"),
     qr/"pending": "etcd"/, '... the state file says it is pending';
like log_of('A'), qr/break-glass rollback of route "conversations"/,
     '... and the log says so';

# a restart while etcd is still down keeps it, still pending
nginx_stop('A');
is nginx('A'), 0, 'A restarts while etcd is down';
ok serves('A', "monolith\n", 5), '... and still serves the rollback';
is route_of('A', 'conversations')->{pending}, 'etcd', '... still pending';
is route_of('A', 'conversations')->{override}{reason}, 'INC-4711 5xx',
   '... with its reason';

etcd_start('e1');
ok etcd_ready($etcd{e1}) && connected('A', 15) && connected('B', 15),
   'etcd is back';
ok eventually(sub {
        my $v = etcd_value('conversations') || {};
        ($v->{via} || '') eq 'break-glass'
            && ($v->{reads} || '') eq 'monolith';
    }, 10), 'the rollback is published to etcd';
ok serves('B', "monolith\n", 10), '... B takes it';
ok serves('A', "monolith\n", 5), '... and A keeps it';
ok eventually(sub { !route_of('A', 'conversations')->{pending} }, 5),
   '... no longer pending';
is route_of('B', 'conversations')->{override}{reason}, 'INC-4711 5xx',
   "... B shows the reason";
is route_of('B', 'conversations')->{override}{via}, 'break-glass',
   '... and through what';

my @h = grep { $_->{route} eq 'conversations' } @{ history_of('A') };
my ($bg) = grep { $_->{via} eq 'break-glass' && $_->{result} eq 'applied' }
           @h;
ok $bg, "A's history has the break-glass rollback";
is_deeply $bg->{changes}, { reads => { from => undef, to => 'monolith' } },
   '... with what changed';
is $bg->{reason}, 'INC-4711 5xx', '... and why';
ok((grep { $_->{result} eq 'published' } @h),
   '... and that it was published');
ok((grep { $_->{via} eq 'break-glass' }
        @{ history_of('B', '?route=conversations') }),
   "B's history has it too, from etcd");

# -- etcd frozen (SIGSTOP): the rollback does not wait for it --------------

is get('A', '/api/items/1'), "messages\n", 'A reads items from messages';
kill 'STOP', $etcd{e1}{pid};
my $t0 = time;
($st, $body) = api('A', 'POST', 'routes/items/rollback');
my $took = time - $t0;
is $st, 200, 'a rollback while etcd is frozen answers 200';
is $body->{pending}, 'etcd', '... pending';
ok $took < 5, "... within the call timeout (${took}s)";
ok serves('A', "monolith\n", 3, '/api/items/1'), '... and applies on A';
kill 'CONT', $etcd{e1}{pid};
ok eventually(sub {
        ((etcd_value('items') || {})->{reads} || '') eq 'monolith';
    }, 15), 'once etcd answers, the rollback is in etcd';
ok serves('B', "monolith\n", 10, '/api/items/1'), '... and B takes it';

# -- one host cut off: the rule for a change made meanwhile ----------------

for my $r (qw(conversations items)) {
    ($st) = api('B', 'DELETE', "routes/$r");
    is $st, 200, "B clears the override of $r";
}
ok serves('A', "messages\n", 10) && serves('B', "messages\n", 10),
   '... on both hosts';

forward_stop('A');
ok eventually(sub { !fleet('A')->{connected} }, 8), 'A is cut off etcd';
ok fleet('B')->{connected}, '... B is not';
($st, $body) = api('A', 'POST', 'routes/conversations/rollback');
is $st, 200, 'A rolls conversations back (break-glass)';
($st) = api('B', 'PUT', 'routes/conversations',
            '{"reads": "messages", "reason": "canary again"}');
is $st, 200, 'B changes its reads meanwhile (the owner stays)';
forward_start('A', $etcd{e1}{client});
ok connected('A', 15), 'A reaches etcd again';
ok eventually(sub {
        ((etcd_value('conversations') || {})->{via} || '') eq 'break-glass';
    }, 10), "the rollback wins over a change that did not move the owner";
ok serves('A', "monolith\n", 10) && serves('B', "monolith\n", 10),
   '... both hosts end on the rollback';

($st) = api('B', 'DELETE', 'routes/conversations');
is $st, 200, 'B clears it';
ok serves('A', "messages\n", 10), '... on A too';

forward_stop('A');
ok eventually(sub { !fleet('A')->{connected} }, 8), 'A is cut off again';
($st) = api('A', 'POST', 'routes/conversations/rollback');
is $st, 200, 'A rolls conversations back (break-glass)';
($st) = api('B', 'PUT', 'routes/conversations',
            '{"owner": "messages", "reason": "handoff"}');
is $st, 200, 'B moves the owner meanwhile';
forward_start('A', $etcd{e1}{client});
ok connected('A', 15), 'A reaches etcd again';
ok eventually(sub {
        (route_of('A', 'conversations')->{override}{owner} || '')
            eq 'messages';
    }, 10), "a change that moved the owner wins over the rollback";
ok !route_of('A', 'conversations')->{pending}, '... which is dropped';
is((etcd_value('conversations') || {})->{reason}, 'handoff',
   "... etcd keeps B's change");
like log_of('A'), qr/owner was moved to "messages" on another host/,
     '... and the log says why';

# -- a value written straight to etcd ---------------------------------------

my $t = time;
etcd_put('e1', '/strangler/routes/items', '{"reads": "monolith"}');
ok serves('A', "monolith\n", 10, '/api/items/1'), 'a raw put to etcd applies';
my $ov = route_of('A', 'items')->{override};
is $ov->{via}, 'etcd', '... shown as via etcd';
like $ov->{at}, qr/^20\d\d-/, '... at the time it was applied, never 1970';
ok !defined $ov->{by}, '... by nobody it could name';

done_testing;
