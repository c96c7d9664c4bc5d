# A change of a route's owner is a handoff: the route's new writes are
# held while the old owner's writes in flight drain, so that at no instant
# do two backends process writes of one route.  Proved from the backends'
# own logs: each backend is slow (300 ms a write) and logs when each write
# started and ended; several clients write without pause through one
# nginx with two workers while the owner moves back and forth (PUT owner,
# DELETE, rollback).  No write of one backend may overlap a write of the
# other, no client write fails, none is lost or served twice.  Also: a
# drain that times out (a write hung at the old owner) aborts and leaves
# the owner; reads are never held; a write over `hold` gets 503; a worker
# killed while it drives a handoff does not leave the writes held; reloads
# whose new table moves the owner are handoffs too.
#
# Plain Test::More: nginx with a master and two workers, Perl backends.
use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Fcntl qw(:flock);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $cli = $ENV{STRANGLER_CLI};

my $prefix = tempdir(CLEANUP => !$ENV{STRANGLER_KEEP});
mkdir "$prefix/$_" for qw(conf logs);

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

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

my %port = map { $_ => free_port() } qw(front monolith messages);
my @kids;

# a slow backend: a write takes 300 ms (X-Hang: N, N seconds); it logs
# "id start end" once the write ends, just before it answers
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
        my ($hang) = $head =~ /^X-Hang:\s*([\d.]+)/mi;
        my $write = $method ne 'GET' && $method ne 'HEAD';
        my $start = time;
        sleep($hang // 0.3) if $write;
        my $end = time;
        if ($write) {
            open my $fh, '>>', "$prefix/logs/$name.writes"
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

sub table {
    my ($owner) = @_;
    return <<"END";
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: orders
    paths: [/orders/*]
    owner: $owner
    handoff: { drain: 2s, hold: 64 }
  - name: other
    paths: [/other/*]
    owner: monolith
END
}

sub config {
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 512; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler 1m;
    strangler_handoff drain=3s hold=1024;
    server {
        listen 127.0.0.1:$port{front};
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith {
            proxy_pass http://127.0.0.1:$port{monolith};
        }
        location \@messages {
            proxy_pass http://127.0.0.1:$port{messages};
        }
        location /_strangler/ { strangler_api; }
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

sub wait_port {
    my ($port) = @_;
    for (1 .. 100) {
        return 1 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        sleep 0.05;
    }
    return 0;
}

END {
    if ($prefix && -e "$prefix/logs/nginx.pid") {
        nginx('-s', 'stop');
        for (1 .. 100) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
    }
    kill 'KILL', @kids if @kids;
}

my $http = HTTP::Tiny->new(timeout => 15);

sub api {
    my ($method, $path, $body) = @_;
    my $res = $http->request($method,
                             "http://127.0.0.1:$port{front}/_strangler/$path",
                             defined $body ? { content => $body } : {});
    return ($res->{status}, eval { decode_json($res->{content}) } || {},
            $res->{content});
}

sub owner {
    my (undef, $j) = api('GET', 'routes/orders');
    return $j->{effective}{owner} // '';
}

sub request {
    my ($method, $path, %h) = @_;
    my $res = $http->request($method, "http://127.0.0.1:$port{front}$path",
                             { headers => \%h,
                               $method eq 'GET' ? () : (content => 'x=1') });
    return ($res->{status}, $res->{content}, $res->{headers});
}

# writers: each writes without pause until told to stop; "id status body"
sub writers {
    my ($n, $tag) = @_;
    unlink "$prefix/stop";
    my @pids;
    for my $k (1 .. $n) {
        my $pid = fork // die $!;
        if ($pid) { push @pids, $pid; next }
        # a connection each: a reload closes idle keep-alive connections
        my $h = HTTP::Tiny->new(timeout => 20, keep_alive => 0);
        open my $out, '>', "$prefix/logs/client-$tag-$k" or die $!;
        for (my $i = 1; !-e "$prefix/stop"; $i++) {
            my $id = "$tag-$k-$i";
            my $t0 = time;
            my $res = $h->request('POST',
                                  "http://127.0.0.1:$port{front}/orders/$i",
                                  { headers => { 'X-Req-Id' => $id },
                                    content => "n=$i" });
            my $body = $res->{content} // '';
            chomp $body;
            syswrite $out, sprintf("%s\t%s\t%s\t%.3f\n", $id, $res->{status},
                                   $body, time - $t0);
        }
        close $out;
        POSIX::_exit(0);
    }
    return sub {
        write_file('stop', '');
        waitpid($_, 0) for @pids;
    };
}

# the oracle, over the backends' logs and the clients' answers
sub check_writes {
    my ($tag, $what) = @_;
    my (%sent, @problems, @writes, %seen, $slowest);

    for my $f (glob "$prefix/logs/client-$tag-*") {
        open my $fh, '<', $f or die;
        while (<$fh>) {
            chomp;
            my ($id, $status, $body, $took) = split /\t/, $_, 4;
            $sent{$id} = [$status, $body];
            $slowest = $took if !defined $slowest || $took > $slowest;
            push @problems, "write $id: $status $body"
                unless $status == 200
                       && $body =~ /^(monolith|messages) \Q$id\E$/;
        }
    }

    for my $b (qw(monolith messages)) {
        for (split /\n/, read_file("logs/$b.writes")) {
            my ($id, $start, $end) = split /\t/;
            next unless $id =~ /^\Q$tag\E-/;
            push @writes, [$b, $id, $start, $end];
            $seen{$id}++;
        }
    }

    for my $id (sort keys %sent) {
        my $n = $seen{$id} // 0;
        push @problems, "write $id reached $n backends" unless $n == 1;
        next unless $n == 1 && $sent{$id}[0] == 200;
        my ($b) = $sent{$id}[1] =~ /^(\S+)/;
        my ($w) = grep { $_->[1] eq $id } @writes;
        push @problems, "write $id answered by $b, served by $w->[0]"
            if $w->[0] ne $b;
    }

    # the timing rule: no write of one backend overlaps one of another
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
    return ($mono, $msgs, $slowest);
}


backend($_) for qw(monolith messages);
config();
write_file('conf/routes.yaml', table('monolith'));

if ($cli) {
    my $check = `$cli check $prefix/conf/routes.yaml 2>&1`;
    is($?, 0, 'strangler check accepts handoff') or diag($check);
}

is(nginx(), 0, 'nginx starts') or diag(read_file('logs/error.log'));
wait_port($port{$_}) for qw(front monolith messages);


# 1. the owner moves back and forth under continuous writes -------------------

{
    my $stop = writers(8, 'move');
    my (@results, @bad);
    sleep 0.7;

    my @moves = (
        [PUT => 'routes/orders', '{"owner": "messages"}', 'messages'],
        [PUT => 'routes/orders', '{"owner": "monolith"}', 'monolith'],
        [PUT => 'routes/orders', '{"owner": "messages"}', 'messages'],
        [POST => 'routes/orders/rollback', undef, 'monolith'],
        [PUT => 'routes/orders', '{"owner": "messages"}', 'messages'],
        [DELETE => 'routes/orders', undef, 'monolith'],
        [PUT => 'routes/orders', '{"owner": "messages"}', 'messages'],
        [PUT => 'routes/orders', '{"owner": "monolith"}', 'monolith'],
    );

    for my $m (@moves) {
        my ($method, $path, $body, $to) = @$m;
        my $t0 = time;
        my ($st, $j, $raw) = api($method, $path, $body);
        my $h = $j->{handoff} || {};
        push @results, sprintf("%s %s: %s %s in %.0f ms", $method, $path,
                               $st, encode_json($h), 1000 * (time - $t0));
        push @bad, $results[-1]
            unless $st == 200 && ($h->{result} // '') eq 'moved'
                   && $h->{to} eq $to && defined $h->{drained_ms}
                   && defined $h->{in_flight_at_start}
                   && defined $h->{held};
        sleep 0.4 + rand 0.4;
    }

    $stop->();

    ok(!@bad, scalar(@moves) . ' owner changes through the API, each a '
              . 'handoff that moved') or diag(join "\n", @bad);
    note($_) for @results;

    my ($mono, $msgs, $slowest) = check_writes('move', 'owner moved 8 times');
    ok($mono > 20 && $msgs > 20, 'both owners served writes');

    # held at most as long as the old owner's longest write (300 ms), plus
    # its own 300 ms, plus a margin for a machine shared with other work
    ok($slowest < 0.9, "the slowest write took $slowest s");

    my (undef, $j) = api('GET', 'status');
    my ($route) = grep { $_->{name} eq 'orders' } @{ $j->{routes} || [] };
    ok($route && !$route->{handoff}, 'no handoff left in the status');

    my (undef, undef, $metrics) = api('GET', 'metrics');
    like($metrics, qr/^strangler_handoffs_total\{result="moved"\} 8$/m,
         'metrics count the handoffs');
    like($metrics, qr/^strangler_handoff_drain_seconds_count 8$/m,
         'and their drain times');
    like($metrics,
         qr/^strangler_writes_in_flight\{route="orders",
            backend="monolith"\}\ 0$/mx,
         'no write is in flight once the clients are done');
}


# 2. a write hung at the old owner: the drain times out, nothing moves --------

{
    my $hung = fork // die $!;
    if (!$hung) {
        request('POST', '/orders/hung', 'X-Req-Id' => 'hung-1',
                'X-Hang' => 3.5);
        POSIX::_exit(0);
    }
    sleep 0.3;

    my $stop = writers(3, 'hung');
    my $reader = fork // die $!;
    if (!$reader) {
        # reads during the drain are never held
        sleep 0.5;
        my $t0 = time;
        my ($st) = request('GET', '/orders/r', 'X-Req-Id' => 'read-1');
        write_file('read', sprintf("%s %.3f", $st, time - $t0));
        POSIX::_exit(0);
    }

    my $t0 = time;
    my ($st, $j) = api('PUT', 'routes/orders', '{"owner": "messages"}');
    my $took = time - $t0;
    waitpid($reader, 0);

    is($st, 504, 'a drain that does not end in time: 504');
    is($j->{handoff}{result}, 'timed_out', 'the handoff timed out');
    is($j->{handoff}{in_flight}, 1, 'with the hung write still running');
    ok($took >= 1.9 && $took < 3, sprintf('after the route\'s drain: 2s '
                                          . '(%.2f s)', $took));
    is(owner(), 'monolith', 'the owner stays');

    my ($rst, $rtime) = split ' ', read_file('read');
    ok($rst == 200 && $rtime < 0.25, "a read during the drain is not held "
                                     . "($rst in $rtime s)");

    sleep 0.6;
    $stop->();
    waitpid($hung, 0);
    check_writes('hung', 'writes held by an aborted handoff');
    my $msgs = () = read_file('logs/messages.writes') =~ /^hung-/mg;
    is($msgs, 0, 'none of them went to the new owner');
}


# 3. over `hold`: 503 with Retry-After ----------------------------------------

{
    my $hung = fork // die $!;
    if (!$hung) {
        request('POST', '/orders/hung', 'X-Req-Id' => 'hold-hung',
                'X-Hang' => 1.5);
        POSIX::_exit(0);
    }
    sleep 0.2;

    my $mover = fork // die $!;
    if (!$mover) {
        my ($st) = api('PUT', 'routes/orders', '{"owner": "messages"}');
        write_file('mover', $st);
        POSIX::_exit(0);
    }
    sleep 0.2;

    my (undef, $j) = api('GET', 'routes/orders');
    is($j->{handoff}{state}, 'draining', 'the status shows the drain');
    is($j->{handoff}{in_flight}, 1, 'with the write it waits for');

    my ($st2) = api('PUT', 'routes/orders', '{"owner": "monolith"}');
    is($st2, 409, 'a second owner change while one drains: 409');

    # hold: 64; the writes wait in the background
    my @pids;
    for my $i (1 .. 70) {
        my $pid = fork // die $!;
        if (!$pid) {
            my ($s, undef, $h) = request('POST', "/orders/$i",
                                         'X-Req-Id' => "hold-$i");
            write_file("hold-$i", "$s " . ($h->{'retry-after'} // '-'));
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids, $mover, $hung;

    my %by;
    $by{ read_file("hold-$_") }++ for 1 .. 70;
    is($by{'503 1'}, 6, '6 writes over hold: 503 with Retry-After: 1')
        or diag(explain \%by);
    is($by{'200 -'}, 64, 'the 64 held went on');
    is(read_file('mover'), 200, 'and the owner moved');
    is(owner(), 'messages', 'to messages');
    my $moved = () = read_file('logs/messages.writes') =~ /^hold-\d+\t/mg;
    is($moved, 64, 'the held writes went to the new owner');
}


# 4. a worker killed while it drives a handoff --------------------------------

{
    my $hung = fork // die $!;
    if (!$hung) {
        request('POST', '/orders/hung', 'X-Req-Id' => 'kill-hung',
                'X-Hang' => 1);
        POSIX::_exit(0);
    }
    sleep 0.2;

    my $mover = fork // die $!;
    if (!$mover) {
        api('PUT', 'routes/orders', '{"owner": "monolith"}');
        POSIX::_exit(0);
    }
    sleep 0.2;

    my (undef, $j) = api('GET', 'routes/orders');
    my $pid = $j->{handoff}{pid};
    ok($pid, "a worker drives the handoff (pid " . ($pid // '-') . ")");
    kill 'KILL', $pid if $pid;
    waitpid($_, 0) for $mover, $hung;

    my $t0 = time;
    my ($st, $body) = request('POST', '/orders/after-kill',
                              'X-Req-Id' => 'kill-after');
    is($st, 200, 'a write after the kill is served');
    ok(time - $t0 < 1.5, 'and not held for long');

    (undef, $j) = api('GET', 'routes/orders');
    ok(!$j->{handoff}, 'the abandoned handoff is gone from the status');

    # (the mover's client may have sent its PUT again to the other worker)
    my $other = owner() eq 'monolith' ? 'messages' : 'monolith';
    my ($st2, $j2) = api('PUT', 'routes/orders', qq({"owner": "$other"}));
    is($st2, 200, 'the next owner change works');
    is($j2->{handoff}{result}, 'moved', 'as a handoff')
        or diag(encode_json($j2));
    like(read_file('logs/error.log'), qr/was abandoned by process \Q$pid\E/,
         'the abandoned handoff is logged') if $pid;
}


# 5. reloads whose table moves the owner -------------------------------------

{
    my ($st) = api('DELETE', 'routes/orders');
    is($st, 200, 'the override goes: the table says who owns');
    is(owner(), 'monolith', 'monolith');

    my $stop = writers(8, 'reload');
    sleep 0.7;

    my @owners = qw(messages monolith messages monolith);
    for my $to (@owners) {
        write_file('conf/routes.yaml', table($to));
        nginx('-s', 'reload');
        sleep 1.2;
    }

    $stop->();
    is(owner(), 'monolith', 'after 4 reloads the table\'s owner');

    my ($mono, $msgs) = check_writes('reload', 'owner moved by 4 reloads');
    ok($mono > 10 && $msgs > 10, 'both owners served writes');
    my $log = read_file('logs/error.log');
    my $done = () = $log =~ /handoff from "\w+" to "\w+" of the reload done/g;
    is($done, 4, 'each reload\'s handoff is logged');
}

unlike(read_file('logs/error.log') =~ s/^.*exited on signal 9\n//mgr,
       qr/\[(?:alert|emerg|crit)\]/,
       'no alert in the error log');

done_testing();
