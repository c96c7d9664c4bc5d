# A handoff across the fleet (issue 19): two nginx hosts share a real etcd
# and the same two slow backends (300 ms a write, each logs when each
# write started and ended).  Clients write without pause through both
# hosts while the owner moves back and forth through one host's API:
# every member holds the route's writes and acknowledges once its own
# writes at the old owner are done, the owner is committed in one
# transaction, and every host releases to the new owner.  From the
# backends' logs: no write of one backend overlaps one of the other, no
# client write fails, none is lost or served twice.  Then a third host
# gone silent (stopped, still a member) blocks a handoff until its
# deadline (504, naming it, the owner unchanged everywhere), and once an
# operator removes it (DELETE fleet/hosts/NAME) the owner moves.
#
# Plain Test::More: several nginx, etcd and Perl backends live across
# the steps.
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Fcntl qw(:flock);
use Time::HiRes qw(sleep time);

use StranglerNginx qw(free_port write_file read_file nginx_at);

$SIG{ALRM} = sub { die "089-fleet-handoff.t: timed out\n" };
alarm 240;

my $etcd_bin = $ENV{ETCD_BINARY} || '/usr/bin/etcd';
plan skip_all => "no $etcd_bin (apt-get install etcd-server)"
    unless -x $etcd_bin;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $servroot = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
make_path($servroot);
my $root = File::Spec->rel2abs(tempdir('fho-XXXX', DIR => $servroot,
                                       CLEANUP => !$ENV{STRANGLER_KEEP}));
mkdir "$root/logs";
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

my %port = map { $_ => free_port() } qw(monolith messages client peer);
my @kids;
my $etcd_pid;

# -- the backends, shared by every host ------------------------------------

sub backend {
    my ($name) = @_;
    my $l = IO::Socket::INET->new(Listen => 256, ReuseAddr => 1,
                                  LocalAddr => "127.0.0.1:$port{$name}")
        or die "listen $name: $!";
    my $pid = fork // die $!;
    if ($pid) {
        close $l;
        push @kids, $pid;
        return;
    }
    $SIG{CHLD} = 'IGNORE';
    while (1) {
        my $c = $l->accept or next;
        my $kid = fork;
        if (!defined $kid || $kid) { close $c; next }
        close $l;
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) {
            sysread($c, $buf, 4096, length $buf) or POSIX::_exit(0);
        }
        my ($head, $body) = split /\r\n\r\n/, $buf, 2;
        my ($method) = $head =~ /\A(\S+)/;
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        while (defined $len && length($body) < $len) {
            sysread($c, $body, 4096, length $body) or last;
        }
        my ($id) = $head =~ /^X-Req-Id:\s*(\S+)/mi;
        my $write = $method ne 'GET' && $method ne 'HEAD';
        my $start = time;
        sleep 0.3 if $write;
        my $end = time;
        if ($write) {
            open my $fh, '>>', "$root/logs/$name.writes"
                or POSIX::_exit(1);
            flock($fh, LOCK_EX);
            syswrite $fh, sprintf("%s\t%.6f\t%.6f\n", $id // '-', $start,
                                  $end);
            close $fh;
        }
        my $out = "$name " . ($id // '-') . "\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($out)
                 . "\r\nConnection: close\r\n\r\n$out";
        close $c;
        POSIX::_exit(0);
    }
}

# -- etcd ----------------------------------------------------------------

sub etcd_start {
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
        die "exec $etcd_bin: $!";
    }
    return eventually(sub {
        $http->post("http://127.0.0.1:$port{client}/v3/kv/range",
                    { content => '{"key":"AA=="}' })->{status} == 200;
    }, 20);
}

# -- hosts -----------------------------------------------------------------

my %host;

sub host_start {
    my ($name) = @_;
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
    handoff: { drain: 3s, hold: 64 }
END
    write_file("$h->{dir}/conf/nginx.conf", <<"END");
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
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:$port{client};
    strangler_host_name $name;
    strangler_host_ttl 2s;
    server {
        listen 127.0.0.1:$h->{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith {
            proxy_pass http://127.0.0.1:$port{monolith};
            proxy_read_timeout 30s;
        }
        location \@messages {
            proxy_pass http://127.0.0.1:$port{messages};
            proxy_read_timeout 30s;
        }
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

sub owner {
    my ($name) = @_;
    my (undef, $j) = api($name, 'GET', 'routes/orders');
    return $j->{effective}{owner} // '';
}

sub pids_of {
    my ($name) = @_;
    my $master = read_file("$host{$name}{dir}/logs/nginx.pid");
    chomp $master;
    return () unless $master;
    return ($master, split ' ', qx{pgrep -P $master});
}

# writers through each host named; "id status body took" per line
sub writers {
    my ($tag, @through) = @_;
    unlink "$root/stop";
    my @pids;
    my $k = 0;
    for my $name (@through) {
        $k++;
        my $pid = fork // die $!;
        if ($pid) { push @pids, $pid; next }
        my $h = HTTP::Tiny->new(timeout => 20, keep_alive => 0);
        open my $out, '>', "$root/logs/client-$tag-$k" or die $!;
        for (my $i = 1; !-e "$root/stop"; $i++) {
            my $id = "$tag-$k-$i";
            my $res = $h->request('POST', "http://127.0.0.1:"
                                  . "$host{$name}{front}/orders/$i",
                                  { headers => { 'X-Req-Id' => $id },
                                    content => "n=$i" });
            my $body = $res->{content} // '';
            chomp $body;
            syswrite $out, "$id\t$res->{status}\t$body\n";
        }
        close $out;
        POSIX::_exit(0);
    }
    return sub {
        write_file("$root/stop", '');
        waitpid($_, 0) for @pids;
    };
}

# the oracle over the backends' logs and the clients' answers
sub check_writes {
    my ($tag, $what) = @_;
    my (%sent, @problems, @writes, %seen);

    for my $f (glob "$root/logs/client-$tag-*") {
        open my $fh, '<', $f or die;
        while (<$fh>) {
            chomp;
            my ($id, $status, $body) = split /\t/, $_, 3;
            $sent{$id} = [$status, $body];
            push @problems, "write $id: $status $body"
                unless $status == 200
                       && $body =~ /^(monolith|messages) \Q$id\E$/;
        }
    }

    for my $b (qw(monolith messages)) {
        for (split /\n/, read_file("$root/logs/$b.writes")) {
            my ($id, $start, $end) = split /\t/;
            next unless $id =~ /^\Q$tag\E-/;
            push @writes, [$b, $id, $start, $end];
            $seen{$id}++;
        }
    }

    for my $id (sort keys %sent) {
        my $n = $seen{$id} // 0;
        push @problems, "write $id reached $n backends" unless $n == 1;
    }

    @writes = sort { $a->[2] <=> $b->[2] } @writes;
    my %last_end = (monolith => 0, messages => 0);
    my %last_id;
    for my $w (@writes) {
        my ($b, $id, $start, $end) = @$w;
        for my $o (grep { $_ ne $b } keys %last_end) {
            push @problems, sprintf("%s write %s began at %.3f while %s "
                                    . "write %s ran until %.3f", $b, $id,
                                    $start, $o, $last_id{$o}, $last_end{$o})
                if $last_end{$o} > $start;
        }
        if ($end > $last_end{$b}) {
            $last_end{$b} = $end;
            $last_id{$b} = $id;
        }
    }

    my ($mono, $msgs) = (0, 0);
    for (@writes) { $_->[0] eq 'monolith' ? $mono++ : $msgs++ }

    ok(!@problems, "$what: " . scalar(keys %sent) . " writes, $mono at "
                   . "monolith and $msgs at messages, none overlapping, "
                   . "failed, lost or served twice")
        or diag(join "\n", @problems[0 .. ($#problems < 14 ? $#problems
                                                           : 14)]);
    return ($mono, $msgs);
}

END {
    for my $name (keys %host) {
        my @p = pids_of($name);
        kill 'CONT', @p if @p;
        nginx_at($host{$name}{dir}, '-s', 'stop')
            if -e "$host{$name}{dir}/logs/nginx.pid";
    }
    kill 'KILL', $etcd_pid if $etcd_pid;
    kill 'KILL', @kids if @kids;
}

# -- 1. the owner moves under writes through two hosts ---------------------

backend($_) for qw(monolith messages);
ok etcd_start(), 'etcd answers';
is host_start($_), 0, "host $_ starts" for qw(a b);
ok eventually(sub {
        my (undef, $f) = api('a', 'GET', 'fleet');
        2 == grep { $_->{state} eq 'alive' } @{ $f->{hosts} || [] };
    }, 10), 'both hosts are members, alive';

{
    my $stop = writers('move', qw(a a a a b b b b));
    sleep 0.8;
    my @bad;

    for my $to (qw(messages monolith messages monolith)) {
        my ($st, $j) = api('a', 'PUT', 'routes/orders',
                           qq({"owner": "$to"}));
        push @bad, "PUT owner $to: $st " . encode_json($j)
            unless $st == 200 && ($j->{handoff}{result} // '') eq 'moved';
        push @bad, "host b's owner is not $to"
            unless eventually(sub { owner('b') eq $to }, 5);
        sleep 0.8;
    }

    $stop->();
    ok !@bad, 'four owner moves through host a, each a fleet handoff'
        or diag join "\n", @bad;
    my ($mono, $msgs) = check_writes('move', 'writes through two hosts');
    ok $mono && $msgs, '... both backends took writes';
}

like read_file("$host{b}{dir}/logs/error.log"),
     qr/fleet handoff \S+ from "monolith" to "messages": this host holds/,
     'host b held the route\'s writes';
like read_file("$host{b}{dir}/logs/error.log"),
     qr/fleet handoff \S+ acknowledged/, '... and acknowledged';

# -- 2. a silent member blocks the handoff until its deadline -------------

is host_start('c'), 0, 'host c starts';
ok eventually(sub {
        my (undef, $f) = api('a', 'GET', 'fleet');
        3 == grep { $_->{state} eq 'alive' } @{ $f->{hosts} || [] };
    }, 10), '... and is a member';
kill 'STOP', pids_of('c');
ok eventually(sub {
        my (undef, $f) = api('a', 'GET', 'fleet');
        grep { $_->{name} eq 'c' && $_->{state} eq 'silent' }
            @{ $f->{hosts} || [] };
    }, 10), 'host c stopped: silent, still a member';

# a call in a child process; the returned sub waits for [status, json]
my $bgn = 0;
sub bg {
    my ($code) = @_;
    my $file = "$root/bg-" . ++$bgn;
    my $pid = fork // die $!;
    if ($pid == 0) {
        my ($st, $j) = $code->();
        write_file($file, encode_json([$st, $j]));
        POSIX::_exit(0);
    }
    return sub {
        waitpid $pid, 0;
        return @{ decode_json(read_file($file) || '[0, {}]') };
    };
}

sub post {
    my ($name) = @_;
    my $res = $http->request('POST', "http://127.0.0.1:$host{$name}{front}"
                             . '/orders/1', { content => 'x' });
    return ($res->{status}, { body => $res->{content} });
}

my $t0 = time;
my $put = bg(sub { api('a', 'PUT', 'routes/orders',
                       '{"owner": "messages"}') });

# a host that joins during the handoff holds too
is host_start('d'), 0, 'host d starts during the handoff';
ok eventually(sub {
        read_file("$host{d}{dir}/logs/error.log")
            =~ /fleet handoff \S+ from "monolith" to "messages": this host/
    }, 5), '... sees it in its first read and holds the route\'s writes';
my $t1 = time;
my ($wst, $wj) = post('d');
is $wst, 200, '... a write through it is held, not refused';
like $wj->{body}, qr/^monolith/, '... and goes to the owner that stays';
ok time - $t1 > 0.5, '... once the handoff ended';

my ($st, $j) = $put->();
my $took = time - $t0;
is $st, 504, 'an owner move waits for the silent member: 504'
    or diag explain $j;
is_deeply $j->{handoff}{waiting_for}, ['c'], '... naming it';
ok $took >= 2.5, sprintf('... at the deadline (%.1fs)', $took);
is owner('a'), 'monolith', '... the owner stays, on host a';
is owner('b'), 'monolith', '... and on host b';
($wst, $wj) = post('b');
is $wst, 200, '... and host b\'s writes flow again, to it';
like $wj->{body}, qr/^monolith/, '... at monolith';

($st) = api('b', 'DELETE', 'fleet/hosts/c');
is $st, 200, 'an operator removes the silent host';
($st, $j) = api('a', 'PUT', 'routes/orders', '{"owner": "messages"}');
is $st, 200, 'the owner moves then' or diag explain $j;
is $j->{handoff}{result}, 'moved', '... a handoff';
ok eventually(sub { owner('b') eq 'messages' }, 5), '... on host b too';

# -- 3. etcd lost during a handoff ----------------------------------------

kill 'STOP', pids_of('b');
ok eventually(sub {
        my (undef, $f) = api('a', 'GET', 'fleet');
        grep { $_->{name} eq 'b' && $_->{state} eq 'silent' }
            @{ $f->{hosts} || [] };
    }, 10), 'host b stopped: silent';
$put = bg(sub { api('a', 'PUT', 'routes/orders', '{"owner": "monolith"}') });
ok eventually(sub {
        read_file("$host{a}{dir}/logs/error.log")
            =~ /fleet handoff \S+ from "messages" to "monolith": this host/
    }, 5), 'a handoff waits for it';
my $write = bg(sub { post('a') });
sleep 0.5;
kill 'KILL', $etcd_pid;
waitpid $etcd_pid, 0;
undef $etcd_pid;
($st, $j) = $put->();
is $st, 503, 'etcd lost during the handoff: 503' or diag explain $j;
($wst, $wj) = $write->();
is $wst, 200, '... the held write goes on';
like $wj->{body}, qr/^messages/, '... to the owner last committed';
kill 'CONT', pids_of('b');

# -- 4. etcd unreachable: no owner change starts ---------------------------

($st, $j) = api('a', 'PUT', 'routes/orders', '{"owner": "monolith"}');
is $st, 503, 'etcd unreachable: no owner change starts (503)'
    or diag explain $j;
is owner('a'), 'messages', '... the owner stays';
($wst, $wj) = post('a');
is $wst, 200, '... and writes flow, to it';
like $wj->{body}, qr/^messages/, '... at messages';

# a rollback always works (break-glass): this host's handoff, then local
($st, $j) = api('a', 'POST', 'routes/orders/rollback?reason=INC-1');
is $st, 200, 'a rollback of the owner with etcd down: 200 (break-glass)'
    or diag explain $j;
is $j->{handoff}{result}, 'moved', '... a handoff on this host';
is $j->{pending}, 'etcd', '... pending for etcd';
is owner('a'), 'monolith', '... the owner is back on the table\'s';

done_testing();
