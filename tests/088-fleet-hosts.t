# The fleet's members (issue 19): three nginx hosts sharing a real etcd
# register under PREFIX hosts/NAME (kept) and PREFIX alive/NAME (on a
# lease); GET fleet and `strangler fleet` list them, alive or silent,
# synced or behind; `strangler plan --fleet` sums the plans of the alive
# ones; a host killed goes silent, an operator removes it
# with DELETE fleet/hosts/NAME; a host that stops cleanly leaves.  Plain
# Test::More: several nginx and an etcd live across the steps.  Every
# wait polls, with a generous bound.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64;
use Time::HiRes qw(sleep time);

use StranglerNginx qw(free_port write_file read_file nginx_at);

$SIG{ALRM} = sub { die "088-fleet-hosts.t: timed out\n" };
alarm 180;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $top = dirname(dirname(abs_path(__FILE__)));
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = File::Spec->rel2abs(tempdir('hosts-XXXX', DIR => $servroot,
                                       CLEANUP => 1));
my $http = HTTP::Tiny->new(timeout => 5);

sub eventually {
    my ($cond, $secs) = @_;
    my $end = time + ($secs || 10);
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->() ? 1 : 0;
}

# -- etcd -----------------------------------------------------------------

my $client = free_port();
my $peer = free_port();
my $etcd_pid;

sub etcd_start {
    $etcd_pid = fork // die $!;
    if ($etcd_pid == 0) {
        open STDOUT, '>>', "$root/etcd.log" or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        exec $etcd_bin, '--name', 'e1', '--data-dir', "$root/etcd",
            '--listen-client-urls', "http://127.0.0.1:$client",
            '--advertise-client-urls', "http://127.0.0.1:$client",
            '--listen-peer-urls', "http://127.0.0.1:$peer",
            '--initial-advertise-peer-urls', "http://127.0.0.1:$peer",
            '--initial-cluster', "e1=http://127.0.0.1:$peer",
            '--heartbeat-interval', 50, '--election-timeout', 500;
        die "exec $etcd_bin: $!";
    }
    return eventually(sub {
        $http->post("http://127.0.0.1:$client/v3/kv/range",
                    { content => '{"key":"AA=="}' })->{status} == 200;
    }, 20);
}

# every key under the prefix: key => { value, lease }
sub etcd_keys {
    my $res = $http->post("http://127.0.0.1:$client/v3/kv/range",
        { content => encode_json({ key => encode_base64('/strangler/', ''),
                                   range_end =>
                                       encode_base64('/strangler0', '') }) });
    my $j = eval { decode_json($res->{content}) } || {};
    return { map { decode_base64($_->{key}) =>
                   { value => decode_base64($_->{value} // ''),
                     lease => $_->{lease} } } @{ $j->{kvs} || [] } };
}

# -- hosts ----------------------------------------------------------------

my %host;

# a host of the fleet, or with $alone one without strangler_etcd
sub host_start {
    my ($name, $alone) = @_;
    my $h = $host{$name} = { dir => "$root/nginx-$name",
                             front => free_port(), mono => free_port() };
    make_path("$h->{dir}/$_") for qw(conf logs state);
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    my $fleet = $alone ? '' : <<"END";
    strangler_etcd http://127.0.0.1:$client;
    strangler_host_name $name;
    strangler_host_api http://127.0.0.1:$h->{front}/_strangler/;
    strangler_host_ttl 2s;
END
    write_file("$h->{dir}/conf/routes.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: orders
    paths: ["/api/orders/*"]
    owner: monolith
    reads: monolith
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
$fleet    server {
        listen 127.0.0.1:$h->{mono};
        location / { return 200 "monolith\\n"; }
    }
    server {
        listen 127.0.0.1:$h->{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$h->{mono}; }
        location \@messages { proxy_pass http://127.0.0.1:$h->{mono}; }
        location /_strangler/ { strangler_api; }
    }
}
END
    return nginx_at($h->{dir});
}

sub api {
    my ($name, $method, $path, $body) = @_;
    my $res = $http->request($method, "http://127.0.0.1:$host{$name}{front}"
                             . "/_strangler/$path",
                             defined $body ? { content => $body } : {});
    my $json = eval { decode_json($res->{content}) } || {};
    return ($res->{status}, $json);
}

# GET fleet through NAME: name => host
sub fleet {
    my ($name) = @_;
    my ($st, $j) = api($name, 'GET', 'fleet');
    return {} unless $st == 200;
    return { map { $_->{name} => $_ } @{ $j->{hosts} || [] } };
}

sub pids_of {
    my ($name) = @_;
    my $master = read_file("$host{$name}{dir}/logs/nginx.pid");
    chomp $master;
    return () unless $master;
    my @workers = split ' ', qx{pgrep -P $master};
    return ($master, @workers);
}

END {
    for my $name (keys %host) {
        nginx_at($host{$name}{dir}, '-s', 'stop')
            if -e "$host{$name}{dir}/logs/nginx.pid";
    }
    kill 'KILL', $etcd_pid if $etcd_pid;
}

# -- registry -------------------------------------------------------------

ok etcd_start(), 'etcd answers on loopback';
is host_start($_), 0, "host $_ starts" for qw(h1 h2 h3);

ok eventually(sub {
        my $k = etcd_keys();
        !grep { !$k->{"/strangler/hosts/$_"} || !$k->{"/strangler/alive/$_"} }
            qw(h1 h2 h3);
    }, 10), 'each host puts a member key and a presence key';

my $keys = etcd_keys();
my $member = decode_json($keys->{'/strangler/hosts/h1'}{value});
is $member->{api}, "http://127.0.0.1:$host{h1}{front}/_strangler/",
   'the member key holds the API address';
like $member->{nginx}, qr/^\d+\.\d+\.\d+$/, '... the nginx version';
ok $member->{module} && $member->{started} && $member->{revision},
   '... the module version, started at, the revision applied';
ok !$keys->{'/strangler/hosts/h1'}{lease}, 'the member key has no lease';
ok $keys->{'/strangler/alive/h1'}{lease}, 'the presence key has one';

sleep 3;   # longer than the TTL: the leases are kept alive
ok etcd_keys()->{'/strangler/alive/h2'}, 'the lease is kept alive past its TTL';

my $f;
ok eventually(sub {
        $f = fleet('h2');
        3 == grep { ($f->{$_}{state} // '') eq 'alive'
                    && ($f->{$_}{sync} // '') eq 'synced' } qw(h1 h2 h3);
    }, 10), 'GET fleet: three hosts, alive and synced'
    or diag explain $f;
ok defined $f->{h3}{heartbeat_ago} && $f->{h3}{heartbeat_ago} <= 2,
   '... with their last heartbeat';

my ($st) = api('h1', 'PUT', 'routes/orders', '{"reads": "messages"}');
is $st, 200, 'an override through h1';
my (undef, $whole) = api('h3', 'GET', 'fleet');
ok eventually(sub {
        ($st, $whole) = api('h3', 'GET', 'fleet');
        my %h = map { $_->{name} => $_ } @{ $whole->{hosts} };
        3 == grep { $_->{sync} eq 'synced'
                    && $_->{revision} == $whole->{newest_override} }
                 values %h;
    }, 10), '... every host applied its revision, and says so'
    or diag explain $whole;

my $out = qx{$cli fleet http://127.0.0.1:$host{h1}{front}/_strangler/ 2>&1};
is $? >> 8, 0, 'strangler fleet: 0 with every host alive and synced'
    or diag $out;
like $out, qr/^NAME\s+STATE\s+SYNC\s+REVISION\s+HEARTBEAT/m,
     '... a table';
like $out, qr/^h3\s+alive\s+synced\s+\d+\s+\ds ago/m, '... a row per host';

# -- strangler plan --fleet: the registered hosts' plans added up ---------

# the orders route's requests in NAME's own plan
sub plan_requests {
    my ($name) = @_;
    my ($st, $j) = api($name, 'GET', 'plan');
    my ($r) = grep { $_->{route} eq 'orders' } @{ $j->{routes} || [] };
    return $r ? $r->{requests} : -1;
}

# `strangler plan ARGS --json`: exit status, JSON, stderr
sub cli_plan {
    my ($args) = @_;
    my $out = qx{$cli plan $args --json 2>$root/plan.err};
    my $rc = $? >> 8;
    return ($rc, eval { decode_json($out) } || {},
            read_file("$root/plan.err") // '');
}

my %sent = (h1 => 2, h2 => 3, h3 => 4);
my $got = 0;
for my $name (sort keys %sent) {
    $got += $http->get("http://127.0.0.1:$host{$name}{front}/api/orders/$_")
                 ->{status} == 200 for 1 .. $sent{$name};
}
is $got, 9, 'requests for orders: 2 to h1, 3 to h2, 4 to h3';
ok eventually(sub {
        !grep { plan_requests($_) != $sent{$_} } keys %sent;
    }, 5), '... each host\'s plan counts its own';

my $h1_api = "http://127.0.0.1:$host{h1}{front}/_strangler/";
my ($rc, $plan, $err) = cli_plan("--fleet $h1_api");
is $rc, 1, 'strangler plan --fleet: 1, nothing ready yet' or diag $err;
is $plan->{hosts}, 3, '... the plans of the three registered hosts';
is_deeply [ sort @{ $plan->{fleet}{read} || [] } ], [qw(h1 h2 h3)],
          '... by name' or diag explain $plan;
my ($orders) = grep { $_->{route} eq 'orders' } @{ $plan->{routes} || [] };
is $orders->{requests}, 9, '... their evidence summed: 2 + 3 + 4 requests'
    or diag explain $plan;
is $orders->{hosts}, 3, '... the route listed by each host';
is $orders->{evidence}{legacy}{requests} + $orders->{evidence}{new}{requests},
   9, '... each side\'s requests summed too';
is $orders->{next}, 'owner', '... judged on the sum: the owner next';
is $err, '', '... nothing on stderr';

my (undef, $given) = cli_plan(join ' ', map {
        "http://127.0.0.1:$host{$_}{front}/_strangler/" } qw(h1 h2 h3));
is_deeply [ map { [ $_->{route}, $_->{requests}, $_->{ready} ] }
                @{ $given->{routes} } ],
          [ map { [ $_->{route}, $_->{requests}, $_->{ready} ] }
                @{ $plan->{routes} } ],
          '... as if the three had been given on the command line';

($rc, undef, $err) = cli_plan("--fleet $h1_api $h1_api");
is $rc, 2, '--fleet URL and URLs: 2';
like $err, qr/--fleet URL or URLs, not both/, '... says why';

# -- a host killed: silent, then removed ----------------------------------

kill 'KILL', pids_of('h3');
unlink "$host{h3}{dir}/logs/nginx.pid";

ok eventually(sub { (fleet('h1')->{h3}{state} // '') eq 'silent' }, 10),
   'a host killed goes silent once its lease expired';
ok etcd_keys()->{'/strangler/hosts/h3'}, '... and stays a member';

($rc, $plan, $err) = cli_plan("--fleet $h1_api");
is $rc, 1, 'strangler plan --fleet with a host silent: 1' or diag $err;
is_deeply [ sort @{ $plan->{fleet}{read} || [] } ], [qw(h1 h2)],
          '... the alive hosts read' or diag explain $plan;
is_deeply $plan->{fleet}{silent}, ['h3'], '... the silent one left out';
($orders) = grep { $_->{route} eq 'orders' } @{ $plan->{routes} || [] };
is $orders->{requests}, 5, '... its evidence not counted: 2 + 3';
like $err, qr/host "h3" is silent \(its lease expired\): left out/,
     '... and said on stderr';

($st) = api('h2', 'PUT', 'routes/orders', '{"reads": "monolith"}');
is $st, 200, 'another override';
ok eventually(sub {
        my $h = fleet('h1');
        ($h->{h3}{sync} // '') eq 'behind'
            && ($h->{h1}{sync} // '') eq 'synced'
            && ($h->{h2}{sync} // '') eq 'synced';
    }, 10), '... the silent host is behind, the others synced';

$out = qx{$cli fleet http://127.0.0.1:$host{h1}{front}/_strangler/ 2>&1};
is $? >> 8, 1, 'strangler fleet: 1 with a host silent';
like $out, qr/^h3\s+silent\s+behind\s+\d+\s+-/m, '... and says which';

my $j;
($st, $j) = api('h1', 'DELETE', 'fleet/hosts/h3');
is $st, 200, 'DELETE fleet/hosts/h3' or diag explain $j;
is $j->{removed}, 'h3', '... says which';
ok !etcd_keys()->{'/strangler/hosts/h3'}, '... the member key is gone';
ok !exists fleet('h2')->{h3}, '... and GET fleet lists it no more';

($st, $j) = api('h1', 'DELETE', 'fleet/hosts/h3');
is $st, 404, 'a host not in the fleet: 404';
($st, $j) = api('h1', 'DELETE', 'fleet/hosts/a%20b');
is $st, 400, 'a bad host name: 400';
like $j->{error}, qr/not a host name/, '... says why';
($st) = api('h1', 'PUT', 'fleet/hosts/h2');
is $st, 405, 'PUT on a host: 405';
ok etcd_keys()->{'/strangler/hosts/h2'}, '... nothing changed';

# -- a clean stop: the host leaves ----------------------------------------

nginx_at($host{h2}{dir}, '-s', 'quit');
ok eventually(sub { !-e "$host{h2}{dir}/logs/nginx.pid" }, 10), 'h2 stops';
ok eventually(sub {
        my $k = etcd_keys();
        !$k->{'/strangler/hosts/h2'} && !$k->{'/strangler/alive/h2'};
    }, 5), '... and leaves the fleet: both its keys are gone';

# a reload is no leave
my ($before) = pids_of('h1');
nginx_at($host{h1}{dir}, '-s', 'reload');
sleep 1.5;
ok etcd_keys()->{'/strangler/hosts/h1'}, 'a reload keeps the member key';
ok eventually(sub { (fleet('h1')->{h1}{state} // '') eq 'alive' }, 5),
   '... and the host alive';

# -- etcd unreachable -----------------------------------------------------

kill 'KILL', $etcd_pid;
waitpid $etcd_pid, 0;
undef $etcd_pid;
($st, $j) = api('h1', 'GET', 'fleet');
is $st, 503, 'GET fleet with etcd unreachable: 503';
like $j->{error}, qr/etcd is unreachable/, '... says why';
$out = qx{$cli fleet http://127.0.0.1:$host{h1}{front}/_strangler/ 2>&1};
is $? >> 8, 2, 'strangler fleet: 2';
($rc, $plan, $err) = cli_plan("--fleet $h1_api");
is $rc, 2, 'strangler plan --fleet: 2';
like $err, qr/HTTP status 503: etcd is unreachable/, '... says why';

# -- a host without strangler_etcd: no fleet ------------------------------

is host_start('lone', 1), 0, 'a host without strangler_etcd starts';
($rc, $plan, $err) = cli_plan("--fleet http://127.0.0.1:$host{lone}{front}"
                              . "/_strangler/");
is $rc, 2, 'strangler plan --fleet on it: 2';
like $err, qr{/_strangler/fleet: HTTP status 404: no fleet: this host},
     '... says why';
like $err, qr{has no "strangler_etcd"}, '... no "strangler_etcd"';
is_deeply $plan, {}, '... and prints no plan';

done_testing();
