# A partitioned host (issue 19): its etcd traffic goes through a proxy the
# test can freeze, its clients are still served.  Default mode: a handoff
# waits for it, alive or silent, and aborts at its deadline (504, the
# owner stays everywhere), while the partitioned host keeps serving its
# writes.  strangler_fence on: the partitioned host holds, then refuses,
# its writes once it has not renewed its lease for half, then all, of its
# TTL, and the fleet commits the handoff without it once its lease
# expired.  Plain Test::More: etcd, a proxy and four nginx.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

use StranglerNginx qw(free_port write_file read_file nginx_at);

$SIG{ALRM} = sub { die "091-fleet-fence.t: timed out\n" };
alarm 180;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = File::Spec->rel2abs(tempdir('fence-XXXX', DIR => $servroot,
                                       CLEANUP => 1));
my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 0);

sub eventually {
    my ($cond, $secs) = @_;
    my $end = time + ($secs || 10);
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->() ? 1 : 0;
}

my %port = map { $_ => free_port() } qw(client peer monolith messages);
my (@kids, @proxies, $etcd_pid);

# the backends answer at once, with their name
for my $name (qw(monolith messages)) {
    my $pid = fork // die $!;
    if ($pid == 0) {
        my $l = IO::Socket::INET->new(Listen => 64, ReuseAddr => 1,
                                      LocalAddr => "127.0.0.1:$port{$name}")
            or die $!;
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $l->accept) {
            my $buf = '';
            sysread($c, $buf, 65536);
            print $c "HTTP/1.1 200 OK\r\nContent-Length: "
                     . (length($name) + 1) . "\r\nConnection: close\r\n\r\n"
                     . "$name\n";
            close $c;
        }
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

$etcd_pid = fork // die $!;
if ($etcd_pid == 0) {
    open STDOUT, '>>', "$root/etcd.log" or die $!;
    open STDERR, '>&', \*STDOUT or die $!;
    exec $etcd_bin, '--name', 'e1', '--data-dir', "$root/etcd",
        '--listen-client-urls', "http://127.0.0.1:$port{client}",
        '--advertise-client-urls', "http://127.0.0.1:$port{client}",
        '--listen-peer-urls', "http://127.0.0.1:$port{peer}",
        '--initial-advertise-peer-urls', "http://127.0.0.1:$port{peer}",
        '--initial-cluster', "e1=http://127.0.0.1:$port{peer}",
        '--heartbeat-interval', 50, '--election-timeout', 500;
    die "exec: $!";
}

# a TCP proxy to etcd in a process group of its own: STOP freezes it,
# and with it every connection through it (a partition), CONT ends it
sub proxy {
    my $listen = free_port();
    my $pid = fork // die $!;
    if ($pid == 0) {
        setpgrp(0, 0);
        my $l = IO::Socket::INET->new(Listen => 64, ReuseAddr => 1,
                                      LocalAddr => "127.0.0.1:$listen")
            or die $!;
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $l->accept) {
            my $kid = fork;
            if (!defined $kid || $kid) { close $c; next }
            my $u = IO::Socket::INET->new("127.0.0.1:$port{client}")
                or POSIX::_exit(0);
            my $sel = IO::Select->new($c, $u);
            while (my @r = $sel->can_read) {
                for my $from (@r) {
                    my $to = $from == $c ? $u : $c;
                    my $n = sysread($from, my $buf, 65536);
                    POSIX::_exit(0) unless $n;
                    syswrite($to, $buf);
                }
            }
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    push @proxies, $pid;
    return ($pid, $listen);
}

my %host;

sub host_start {
    my ($name, $etcd_port, $prefix, $fence) = @_;
    my $h = $host{$name} = { dir => "$root/nginx-$name",
                             front => free_port() };
    make_path("$h->{dir}/$_") for qw(conf logs state);
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    write_file("$h->{dir}/conf/routes.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: orders
    paths: [/orders/*]
    owner: monolith
    handoff: { drain: 4s }
END
    write_file("$h->{dir}/conf/nginx.conf", <<"END");
$load
$user
master_process on;
worker_processes 1;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 128; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:$etcd_port prefix=$prefix;
    strangler_host_name $name;
    strangler_host_ttl 2s;
    strangler_fence $fence;
    server {
        listen 127.0.0.1:$h->{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$port{monolith}; }
        location \@messages { proxy_pass http://127.0.0.1:$port{messages}; }
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
    return ($res->{status}, eval { decode_json($res->{content}) } || {});
}

sub owner {
    my (undef, $j) = api($_[0], 'GET', 'routes/orders');
    return $j->{effective}{owner} // '';
}

sub post {
    my ($name) = @_;
    my $t0 = time;
    my $res = $http->request('POST', "http://127.0.0.1:$host{$name}{front}"
                             . '/orders/1', { content => 'x' });
    return ($res->{status}, $res->{content} // '', time - $t0);
}

sub alive_hosts {
    my ($name) = @_;
    my (undef, $f) = api($name, 'GET', 'fleet');
    return { map { $_->{name} => $_->{state} } @{ $f->{hosts} || [] } };
}

END {
    kill 'CONT', -$_ for @proxies;
    for my $name (keys %host) {
        nginx_at($host{$name}{dir}, '-s', 'stop')
            if -e "$host{$name}{dir}/logs/nginx.pid";
    }
    kill 'KILL', -$_ for @proxies;
    kill 'KILL', $etcd_pid, @kids;
}

ok eventually(sub {
        $http->post("http://127.0.0.1:$port{client}/v3/kv/range",
                    { content => '{"key":"AA=="}' })->{status} == 200;
    }, 20), 'etcd answers';

# -- default: a partitioned host blocks owner changes, serves writes ------

my ($p1, $p1port) = proxy();
is host_start('a1', $port{client}, '/p1/', 'off'), 0, 'host a1 starts';
is host_start('b1', $p1port, '/p1/', 'off'), 0,
   'host b1 starts, its etcd behind a proxy';
ok eventually(sub { keys %{ alive_hosts('a1') } == 2 }, 10),
   'both are members';

kill 'STOP', -$p1;
ok eventually(sub { (alive_hosts('a1')->{b1} // '') eq 'silent' }, 10),
   'b1 partitioned from etcd: silent';

my ($st, $j) = api('a1', 'PUT', 'routes/orders', '{"owner": "messages"}');
is $st, 504, 'default mode: the handoff waits for it and aborts: 504'
    or diag explain $j;
is_deeply $j->{handoff}{waiting_for}, ['b1'], '... waiting for b1';
is owner('a1'), 'monolith', '... the owner stays on a1';
is owner('b1'), 'monolith', '... and on b1';
my ($code, $body) = post('b1');
is $code, 200, 'b1 still serves its clients\' writes';
is $body, "monolith\n", '... at the owner, as every host';
kill 'CONT', -$p1;

# -- strangler_fence on: it stops its writes, the fleet goes on ----------

my ($p2, $p2port) = proxy();
is host_start('a2', $port{client}, '/p2/', 'on'), 0, 'host a2 starts (fence)';
is host_start('b2', $p2port, '/p2/', 'on'), 0, 'host b2 starts (fence)';
ok eventually(sub { keys %{ alive_hosts('a2') } == 2 }, 10),
   'both are members';
($code, $body) = post('b2');
is $code, 200, 'b2 serves writes while it renews its lease';

# renewed every TTL/3: 0 to 0.67 s before the partition; 1.2 s later it
# is between half the TTL (hold) and the TTL (refuse)
kill 'STOP', -$p2;
sleep 1.2;
my $took;
($code, $body, $took) = post('b2');
ok $took > 0.1, sprintf('past half its TTL, b2 holds a write (%.1fs)',
                        $took);
is $code, 503, '... then refuses it, past the TTL';

($st, $j) = api('a2', 'PUT', 'routes/orders', '{"owner": "messages"}');
is $st, 200, 'strict mode: the handoff goes on without b2 once its lease '
             . 'expired' or diag explain $j;
is $j->{handoff}{result}, 'moved', '... moved';
is owner('a2'), 'messages', '... the owner is messages on a2';
($code, $body) = post('b2');
is $code, 503, 'b2 writes nowhere meanwhile';

kill 'CONT', -$p2;
ok eventually(sub { owner('b2') eq 'messages' }, 15),
   'b2 back: it learns the new owner';
ok eventually(sub { my ($c, $b) = post('b2'); $c == 200 && $b eq "messages\n" },
              10), '... and writes there again';

done_testing();
