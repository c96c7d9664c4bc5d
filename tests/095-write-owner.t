# The owner rule, end to end, as a property: generated route tables
# (splits, sticky keys, shadows with dry-run writes, method filters),
# generated requests (every method, unknown tokens too; force headers,
# sticky keys; bodies with Content-Length, chunked or none; HTTP/1.0, 1.1
# and 2; ambiguous paths) through a real nginx, with runtime overrides and
# rollbacks through the API between them.  Every backend logs what it
# receives, and:
#
#   - a write reaches at most one backend as itself (not as a shadow copy),
#     and that backend is its owner (the table's, or an override's);
#   - a write reaching any other backend is a shadow copy that carries the
#     route's dry-run marker, and only on a route that dry-runs writes;
#   - a rollback leaves the table's owner as the effective owner;
#   - a rejected ambiguous path reaches no backend;
#   - after the requests, batches of concurrent writes to one route with
#     owner changes between and during them (PUT owner, rollback, DELETE:
#     handoffs): every write is answered by the one backend it reached,
#     and no write at one backend overlaps a write of the route at
#     another (the timing rule, from the backends' own logs).
#
# Bounded: a fixed number of tables and requests (well under a minute).
# The seed is printed; STRANGLER_PROP_SEED=N replays a run, and
# STRANGLER_PROP_TABLES=N runs more tables.  Plain Test::More: the tables
# change between runs of one nginx each.
use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

use StranglerNginx;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $cli = $ENV{STRANGLER_CLI};
my $seed = $ENV{STRANGLER_PROP_SEED} // (time() ^ $$) & 0x7fffffff;
my $ntables = $ENV{STRANGLER_PROP_TABLES} || 24;
my $nrequests = 60;

srand($seed);
note("seed $seed (replay: STRANGLER_PROP_SEED=$seed)");

my $prefix = nginx_prefix();

# HTTP/2 when both this nginx (the ASan and 1.26 builds have no
# http_v2_module) and curl have it
my $curl_h2 = `curl --version 2>/dev/null` =~ /\bHTTP2\b/
              && `$nginx -V 2>&1` =~ /--with-http_v2_module/;

# the method overrides frameworks honour (headers, and ?_method=): a read
# carrying one is a write (the table's default `method_override` list)
my @override_headers = qw(X-HTTP-Method-Override X-HTTP-Method
                          X-Method-Override);
my $override_arg = 1;
# ... and `_method` as the frameworks read it: encoded, bracketed, after
# a ';', bare (W: a write method)
my @override_args = qw(_method=W _METHOD=W %5Fmethod=W %5fmethod=W
                       _method[]=W _method%5B%5D=W _method[x]=W
                       x=1;_method=W _method);

my @backends = qw(b0 b1 b2);
my @dry_headers = qw(X-Dry-Run X-Shadow-Dry X-Test-Write);
# markers the proxy removes or rewrites: a table with one is refused
my @refused = qw(Connection Keep-Alive Host Expect Content-Length TE
                 Transfer-Encoding Upgrade Proxy-Connection Trailer);
my @known = qw(GET HEAD OPTIONS POST PUT PATCH DELETE);
my @writes = qw(POST PUT PATCH DELETE PROPFIND PROPPATCH MKCOL COPY MOVE
                LOCK UNLOCK FOO PURGE BREW M-SEARCH TRACE CONNECT);
my @reads = qw(GET HEAD OPTIONS);

my %port = map { $_ => free_port() } qw(front h2 b0 b1 b2);

sub pick { return $_[int rand @_] }
sub chance { return rand() < $_[0] }
sub is_write { return !grep { $_ eq $_[0] } @reads }

# whether a request is a write: by its method, or a method override
sub is_write_request {
    my ($q) = @_;
    return is_write($q->{method}) || $q->{override};
}


# a route table -------------------------------------------------------------

# Route i lives under /rI/: its patterns are among the exact /rI/x, the
# template /rI/{id}, the prefix /rI/p/* and the regex ^/rI/re/[0-9]+$, so
# the route a request matches is known without a matcher of our own.
sub gen_table {
    my %t = (default => pick(@backends), mode => pick(qw(reject normalize off)),
             routes => []);

    for my $i (0 .. int rand 5) {
        my %r = (name => "r$i");
        my @forms = grep { chance(0.5) } qw(exact template prefix regex);
        @forms = (pick(qw(exact template prefix regex))) unless @forms;
        $r{forms} = \@forms;
        $r{owner} = pick(@backends) if chance(0.8);
        my $owner = $r{owner} // $t{default};

        if (chance(0.3)) {
            my @two = grep { $_ ne pick(@backends) } @backends;
            @two = @backends[0, 1] if @two < 2;
            $r{split} = { map { $_ => 1 + int rand 9 } @two[0, 1] };
            $r{sticky} = pick('header:X-User', 'cookie:uid', 'arg:user', 'ip')
                if chance(0.7);
        } elsif (chance(0.5)) {
            $r{reads} = pick(@backends);
        }

        if (chance(0.25)) {
            my @m = grep { chance(0.4) } @known;
            $r{methods} = @m ? \@m : ['POST'];
        }

        if (chance(0.7)) {
            my @sides = $r{split} ? keys %{ $r{split} } : ($r{reads} // $owner);
            my $other = grep { $_ ne $owner } @sides;
            my %s = (sample => pick(100, 100, 50, 0),
                     compare => pick(qw(off status body json)));
            if (!$other || chance(0.5)) {
                $s{to} = pick(grep { $_ ne $owner } @backends);
            }
            if (chance(0.7)) {
                $s{writes} = 'dry-run';
                $s{dry_run_header} = pick(@dry_headers);
            }
            $r{shadow} = \%s;
        }

        push @{ $t{routes} }, \%r;
    }

    return \%t;
}

sub table_yaml {
    my ($t) = @_;
    my $y = "version: 1\ndefault: $t->{default}\n"
          . "backends: { b0: {}, b1: {}, b2: {} }\nroutes:\n";
    for my $r (@{ $t->{routes} }) {
        my ($n) = $r->{name} =~ /(\d+)/;
        my %pattern = (exact => "/r$n/x", template => "/r$n/{id}",
                       prefix => "/r$n/p/*",
                       regex => "\"~ ^/r$n/re/[0-9]+\$\"");
        $y .= "  - name: $r->{name}\n    paths:\n";
        $y .= "      - $pattern{$_}\n" for @{ $r->{forms} };
        $y .= "    owner: $r->{owner}\n" if $r->{owner};
        $y .= "    reads: $r->{reads}\n" if $r->{reads};
        $y .= "    reads: { " . join(', ', map { "$_: $r->{split}{$_}" }
                                          sort keys %{ $r->{split} })
              . " }\n" if $r->{split};
        $y .= "    sticky: \"$r->{sticky}\"\n" if $r->{sticky};
        $y .= "    methods: [" . join(', ', @{ $r->{methods} }) . "]\n"
            if $r->{methods};
        if (my $s = $r->{shadow}) {
            $y .= "    shadow:\n";
            $y .= "      $_: $s->{$_}\n"
                for grep { defined $s->{$_} }
                    qw(to sample compare writes dry_run_header);
        }
    }
    return $y;
}

sub config {
    my ($t) = @_;
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    my $servers = join '', map { <<"END" } @backends;
    server {
        listen 127.0.0.1:$port{$_};
        access_log logs/$_.log seen;
        location / { return 200 "$_ \$request_method\\n"; }
    }
END
    my $locations = join '', map {
        "        location \@$_ { proxy_pass http://127.0.0.1:$port{$_}; }\n"
    } @backends;
    my $dry = join '\t', map { '$http_' . lc(s/-/_/gr) } @dry_headers;
    my $h2_listen = $curl_h2 ? "listen 127.0.0.1:$port{h2} http2;" : '';

    write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler 1m;
    log_format seen escape=json
        '\$http_x_req_id\\t\$request_method\\t\$http_x_strangler_shadow\\t$dry'
        '\\t\$msec\\t\$request_time';
$servers
    server {
        listen 127.0.0.1:$port{front};
        $h2_listen
        strangler_routes routes.yaml;
        strangler_force_header X-Strangler-Backend;
        strangler_ambiguous_path $t->{mode};
        location / { strangler; }
$locations
        location /_strangler/ { strangler_api; }
    }
}
END
}

# nginx with the table; the ports again when another process took one
sub start {
    my ($t) = @_;
    my $rc;
    for (1 .. 3) {
        $rc = nginx();
        last if $rc == 0
                || read_file('logs/error.log') !~ /Address already in use/;
        %port = map { $_ => free_port() } keys %port;
        config($t);
    }
    return $rc;
}

END { stop('stop') if $prefix && -e "$prefix/logs/nginx.pid" }

sub wait_port {
    my ($port) = @_;
    for (1 .. 100) {
        return 1 if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        sleep 0.05;
    }
    return 0;
}


# requests -------------------------------------------------------------------

# the path a request is routed by, and the raw path it is sent with
sub gen_path {
    my ($t) = @_;
    my ($route, $path);

    if (@{ $t->{routes} } && chance(0.85)) {
        my $i = int rand @{ $t->{routes} };
        my $r = $t->{routes}[$i];
        my $form = pick(@{ $r->{forms} });
        my ($n) = $r->{name} =~ /(\d+)/;
        $path = $form eq 'exact' ? "/r$n/x"
              : $form eq 'template' ? "/r$n/t" . int(rand 1000)
              : $form eq 'prefix' ? "/r$n/p/" . int(rand 1000) . "/y"
              : "/r$n/re/" . int(rand 1000);
        $route = $i;
    } else {
        $path = pick('/none/' . int(rand 1000), '/', '/r9/x');
    }

    my $raw = $path;
    my $ambiguous = 0;

    if ($path ne '/' && chance(0.12)) {
        $ambiguous = 1;
        $raw = pick("/$path", '/zz/..%2F' . substr($path, 1),
                    '/zz/../' . substr($path, 1),
                    $path =~ s{^(/[^/]+)/}{$1/./}r);
    }

    return ($route, $path, $raw, $ambiguous);
}

sub gen_request {
    my ($t, $id) = @_;
    my ($route, $path, $raw, $ambiguous) = gen_path($t);
    my %q = (id => $id, route => $route, path => $path, raw => $raw,
             ambiguous => $ambiguous,
             method => chance(0.3) ? pick(@reads) : pick(@writes),
             proto => ($curl_h2 && chance(0.2)) ? 'h2'
                      : pick('1.0', '1.1', '1.1'),
             headers => ["X-Req-Id: $id"]);

    my $h = $q{headers};
    push @$h, 'X-Strangler-Backend: ' . pick(@backends, 'nope')
        if chance(0.25);
    push @$h, 'X-User: u' . int(rand 50) if chance(0.4);
    push @$h, 'Cookie: uid=c' . int(rand 50) if chance(0.3);
    push @$h, pick(@dry_headers) . ': 1' if chance(0.1);
    if (@override_headers && chance(0.2)) {
        push @$h, pick(@override_headers) . ': ' . pick(@writes);
        $q{override} = 1;
    }
    my @args;
    push @args, 'user=a' . int(rand 50) if chance(0.3);
    if ($override_arg && chance(0.1)) {
        my $w = pick(@writes);
        push @args, pick(@override_args) =~ s/W$/$w/r;
        $q{override} = 1;
    }
    $q{raw} .= '?' . join('&', @args) if @args;

    $q{body} = chance(0.5) ? 'x' x (1 + int rand 300) : undef;
    $q{framing} = !defined $q{body} ? 'none'
                : ($q{proto} ne '1.0' && chance(0.4)) ? 'chunked' : 'length';
    # curl sends no body with HEAD
    $q{framing} = 'none' if $q{method} eq 'HEAD' && $q{proto} eq 'h2';
    return \%q;
}

# status and body, by hand: every method token and framing as generated
sub send_h1 {
    my ($q) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port{front}",
                                  Timeout => 3) or return (0, '');
    my $req = "$q->{method} $q->{raw} HTTP/$q->{proto}\r\n"
            . "Host: localhost\r\nConnection: close\r\n"
            . join('', map { "$_\r\n" } @{ $q->{headers} });

    if ($q->{framing} eq 'length') {
        $req .= 'Content-Length: ' . length($q->{body}) . "\r\n\r\n"
              . $q->{body};
    } elsif ($q->{framing} eq 'chunked') {
        my $b = $q->{body};
        my $half = int(length($b) / 2) || length($b);
        $req .= "Transfer-Encoding: chunked\r\n\r\n";
        for my $part (substr($b, 0, $half), substr($b, $half)) {
            $req .= sprintf("%x\r\n%s\r\n", length $part, $part)
                if length $part;
        }
        $req .= "0\r\n\r\n";
    } else {
        $req .= "\r\n";
    }

    print $s $req;

    my ($res, $sel) = ('', IO::Select->new($s));
    my $deadline = time + 5;
    while (time < $deadline && $sel->can_read($deadline - time)) {
        last unless sysread($s, $res, 65536, length $res);
    }
    close $s;

    my ($status) = $res =~ m{\AHTTP/1\.\d (\d{3})};
    my ($body) = $res =~ /\r\n\r\n(.*)\z/s;
    return ($status // 0, $body // '');
}

sub send_h2 {
    my ($q) = @_;
    my @cmd = ('curl', '-s', '-g', '--http2-prior-knowledge', '--path-as-is',
               '-m', '5', '-o', "$prefix/h2.body", '-w', '%{http_code}');
    push @cmd, map { ('-H', $_) } @{ $q->{headers} };

    if ($q->{method} eq 'HEAD') {
        push @cmd, '-I';
    } else {
        push @cmd, '-X', $q->{method};
    }

    my $stdin;
    if ($q->{framing} ne 'none') {
        write_file('h2.in', $q->{body});
        if ($q->{framing} eq 'length') {
            push @cmd, '--data-binary', "\@$prefix/h2.in";
        } else {
            # no length: the body streams in DATA frames
            push @cmd, '-T', '-';
            $stdin = "$prefix/h2.in";
        }
    }

    push @cmd, "http://127.0.0.1:$port{h2}$q->{raw}";
    unlink "$prefix/h2.body";

    my $out;
    {
        open my $saved, '<&', \*STDIN or die $!;
        open STDIN, '<', $stdin // '/dev/null' or die $!;
        open my $p, '-|', @cmd or die "curl: $!";
        local $/;
        $out = <$p>;
        close $p;
        open STDIN, '<&', $saved or die $!;
    }

    return ($out // 0, read_file('h2.body'));
}


# the API, and the owner it must leave ----------------------------------------

my $http = HTTP::Tiny->new(timeout => 3);

sub api {
    my ($method, $path, $body) = @_;
    my $res = $http->request($method,
                             "http://127.0.0.1:$port{front}/_strangler/$path",
                             defined $body ? { content => $body } : {});
    return ($res->{status}, eval { decode_json($res->{content}) });
}

# a random API call on a random route; the model of the overrides follows
sub gen_api_call {
    my ($t, $ov, $fail) = @_;
    my $r = pick(@{ $t->{routes} });
    my $name = $r->{name};
    my $table_owner = $r->{owner} // $t->{default};
    my $what = pick(qw(owner owner reads sample drop-owner delete rollback
                       rollback));

    if ($what eq 'rollback') {
        my ($st, $j) = api('POST', "routes/$name/rollback");
        $ov->{$name} = {};
        my $eff = $j && $j->{effective} ? $j->{effective} : {};
        my ($owner, $reads) = map { $_ // '' } @$eff{qw(owner reads)};
        $fail->("rollback of $name: $st, effective owner \"$owner\" and "
                . "reads \"$reads\", the table's owner is \"$table_owner\"")
            unless $st == 200 && $owner eq $table_owner
                   && $reads eq $table_owner;
        return "rollback $name";
    }

    if ($what eq 'delete') {
        my ($st) = api('DELETE', "routes/$name");
        $ov->{$name} = {};
        $fail->("DELETE $name: $st") unless $st == 200;
        return "delete $name";
    }

    my $body = $what eq 'owner' ? { owner => pick(@backends) }
             : $what eq 'reads' ? { reads => pick(@backends) }
             : $what eq 'drop-owner' ? { owner => undef }
             : { shadow_sample => pick(0, 50, 100) };
    my ($st, $j) = api('PUT', "routes/$name", encode_json($body));

    if ($st == 200) {
        $ov->{$name}{owner} = $body->{owner} if exists $body->{owner};
    } elsif (!($st == 400 && $what eq 'sample' && !$r->{shadow})) {
        $fail->("PUT $name " . encode_json($body) . ": $st");
    }

    return "PUT $name " . encode_json($body);
}

# a write path of a route and a write method it takes; () when none
sub write_target {
    my ($t, $i) = @_;
    my $r = $t->{routes}[$i];
    my @m = $r->{methods} ? grep { is_write($_) } @{ $r->{methods} }
                          : qw(POST PUT PATCH DELETE);
    return () unless @m;
    my ($n) = $r->{name} =~ /(\d+)/;
    my $form = pick(@{ $r->{forms} });
    my $path = $form eq 'exact' ? "/r$n/x"
             : $form eq 'template' ? "/r$n/t1"
             : $form eq 'prefix' ? "/r$n/p/1/y"
             : "/r$n/re/1";
    return (pick(@m), $path);
}

# batches of concurrent writes to one route, the owner moved between and
# during them; "id status body" lines from the clients
sub write_batches {
    my ($t, $ov, $fail, $calls) = @_;
    my @routes = grep { write_target($t, $_) } 0 .. $#{ $t->{routes} };
    return () unless @routes;
    my $i = pick(@routes);
    my $name = $t->{routes}[$i]{name};
    my @ids;

    for my $batch (1 .. 2) {
        my @pids;
        for my $k (1 .. 4) {
            my ($method, $path) = write_target($t, $i);
            my @mine = map { "batch-$batch-$k-$_" } 1 .. 6;
            push @ids, @mine;
            my $pid = fork // die $!;
            if ($pid) { push @pids, $pid; next }
            my $h = HTTP::Tiny->new(timeout => 10);
            open my $out, '>', "$prefix/logs/batch-$batch-$k" or die $!;
            for my $id (@mine) {
                my $res = $h->request($method,
                                      "http://127.0.0.1:$port{front}$path",
                                      { headers => { 'X-Req-Id' => $id },
                                        content => 'x' });
                syswrite $out, "$id\t$res->{status}\t$res->{content}";
            }
            POSIX::_exit(0);
        }
        for (1 .. 2) {
            sleep 0.02;
            my $what = pick(qw(owner owner rollback delete));
            my ($st, $j) = $what eq 'rollback'
                ? api('POST', "routes/$name/rollback")
                : $what eq 'delete' ? api('DELETE', "routes/$name")
                : api('PUT', "routes/$name",
                      encode_json({ owner => pick(@backends) }));
            push @$calls, "during batch $batch: $what $name: $st";
            $fail->("during batch $batch: $what $name: $st")
                unless $st == 200;
        }
        waitpid($_, 0) for @pids;
        # between batches too
        push @$calls, "between batches: " . gen_api_call($t, $ov, $fail);
    }

    # the model no longer knows this route's override: ask
    my (undef, $j) = api('GET', "routes/$name");
    $ov->{$name} = {};
    $ov->{$name}{owner} = $j->{override}{owner}
        if $j && $j->{override} && $j->{override}{owner};

    my %answer;
    for my $f (glob "$prefix/logs/batch-*") {
        for (split /\n/, read_file("logs/" . ($f =~ s{.*/}{}r))) {
            my ($id, $st, $body) = split /\t/, $_, 3;
            $answer{$id} = [$st, $body // ''];
        }
        unlink $f;
    }
    $fail->("batch write $_: no answer") for grep { !$answer{$_} } @ids;
    return ($name, \%answer);
}

sub owner_of {
    my ($t, $ov, $q) = @_;
    return $t->{default} unless defined $q->{route};
    my $r = $t->{routes}[$q->{route}];
    return $t->{default}
        if $r->{methods} && !grep { $_ eq $q->{method} } @{ $r->{methods} };
    return $ov->{ $r->{name} }{owner} // $r->{owner} // $t->{default};
}


# a run ------------------------------------------------------------------------

my ($requests, $copies, $write_copies, $writes_seen, $violations,
    $batch_writes) = (0, 0, 0, 0, 0, 0);
my %by_proto;
my $t0 = time;

for my $n (1 .. $ntables) {
    my $t = gen_table();
    my $yaml = table_yaml($t);
    my @problems;
    my $fail = sub { push @problems, $_[0] };

    unlink "$prefix/logs/$_.log" for @backends, 'error';
    config($t);

    # now and then, first the same table with a marker the proxy drops
    my ($dry) = grep { $_->{shadow} && $_->{shadow}{dry_run_header} }
                @{ $t->{routes} };
    if ($dry && chance(0.2)) {
        my $name = $dry->{shadow}{dry_run_header};
        $dry->{shadow}{dry_run_header} = pick(@refused);
        write_file('conf/routes.yaml', table_yaml($t));
        unlink "$prefix/logs/stderr.log";
        # -e stderr: an nginx built from source would also write the
        # refusal to its default error log, the one checked below
        isnt(nginx('-e', 'stderr', '-t'), 0,
             "table $n with dry_run_header: "
             . "$dry->{shadow}{dry_run_header} is refused");
        my $header = $dry->{shadow}{dry_run_header};
        like(read_file('logs/stderr.log'),
             qr/route "$dry->{name}": shadow\.dry_run_header "\Q$header\E"/,
             'naming the route and the header');
        $dry->{shadow}{dry_run_header} = $name;
    }

    write_file('conf/routes.yaml', $yaml);

    if ($cli) {
        my $check = `$cli check $prefix/conf/routes.yaml 2>&1`;
        is($?, 0, "table $n is valid") or diag($check, $yaml);
    }

    is(start($t), 0, "table $n: nginx starts")
        or diag(read_file('logs/error.log'), $yaml), next;
    wait_port($port{front});

    my (%ov, @sent, @calls);

    for my $i (1 .. $nrequests) {
        if (chance(0.12)) {
            push @calls, "before request $i: " . gen_api_call($t, \%ov, $fail);
        }

        my $q = gen_request($t, "$n-$i");
        $q->{owner} = owner_of($t, \%ov, $q);
        ($q->{status}, $q->{body_got}) = $q->{proto} eq 'h2' ? send_h2($q)
                                                             : send_h1($q);
        push @sent, $q;
        $requests++;

        # what the client saw: a backend's answer to a write is the owner's
        if (is_write_request($q) && $q->{body_got} =~ /\A(b\d) /
            && $1 ne $q->{owner})
        {
            $fail->("request $q->{id}: the write was answered by $1, "
                    . "the owner is $q->{owner}");
        }
    }

    my ($batch_route, $batch) = write_batches($t, \%ov, $fail, \@calls);
    $batch_writes += keys %{ $batch || {} };

    # shadows run on their own: wait until the logs stand still
    my $last = -1;
    for (1 .. 50) {
        sleep 0.1;
        my $size = 0;
        $size += -s "$prefix/logs/$_.log" // 0 for @backends;
        last if $size == $last;
        $last = $size;
    }

    stop('stop');

    my %by_id = map { $_->{id} => $_ } @sent;
    my (%arrived, @timed);

    for my $b (@backends) {
        for my $line (split /\n/, read_file("logs/$b.log")) {
            my ($id, $method, $shadow, @dry) = split /\t/, $line, -1;
            my ($msec, $rt) = splice @dry, -2;

            if ($batch && $batch->{$id}) {
                next if $shadow eq '1';
                push @{ $arrived{$id} }, $b;
                push @timed, [$b, $id, $msec - $rt, $msec];
                my ($st, $body) = @{ $batch->{$id} };
                $fail->("batch write $id: $st \"$body\", reached $b")
                    unless $st == 200 && $body =~ /\A\Q$b\E /;
                next;
            }

            my $q = $by_id{$id} or next;
            my %dry = map { $dry_headers[$_] => $dry[$_] // '' }
                      0 .. $#dry_headers;
            push @{ $arrived{$id} }, "$b $method shadow=$shadow";
            $by_proto{$q->{proto}}++;
            $copies++ if $shadow eq '1';
            $write_copies++ if $shadow eq '1' && is_write_request($q);

            $fail->("request $id ($q->{raw}) rejected as ambiguous, yet "
                    . "$b got it") if $q->{ambiguous} && $t->{mode} eq 'reject';

            next unless is_write_request($q);
            $writes_seen++;

            my $route = defined $q->{route} ? $t->{routes}[$q->{route}] : undef;
            my $marker = $route && $route->{shadow}
                         ? $route->{shadow}{dry_run_header} : undef;

            if ($shadow eq '1') {
                $fail->("request $id: a $method copy reached its owner $b")
                    if $b eq $q->{owner};
                $fail->("request $id: a $method copy reached $b without "
                        . "the dry-run marker (owner $q->{owner})")
                    unless $marker && $dry{$marker} eq '1';
            } elsif ($b ne $q->{owner}) {
                $fail->("request $id: $method reached $b, a non-owner, "
                        . "unmarked (owner $q->{owner})");
            }
        }
    }

    for my $id (sort keys %{ $batch || {} }) {
        my $n = @{ $arrived{$id} || [] };
        $fail->("batch write $id reached $n backends") unless $n == 1;
    }

    # the timing rule: a route's writes at one backend never overlap its
    # writes at another
    my (%last_end, %last_id);
    for my $w (sort { $a->[2] <=> $b->[2] } @timed) {
        my ($b, $id, $start, $end) = @$w;
        for my $o (grep { $_ ne $b } keys %last_end) {
            $fail->(sprintf("route $batch_route: write $id began at $b at "
                            . "%.3f while write $last_id{$o} ran at $o "
                            . "until %.3f", $start, $last_end{$o}))
                if $last_end{$o} > $start;
        }
        if (!defined $last_end{$b} || $end > $last_end{$b}) {
            ($last_end{$b}, $last_id{$b}) = ($end, $id);
        }
    }

    for my $q (@sent) {
        next unless is_write_request($q);
        my $primaries = grep { !/shadow=1$/ } @{ $arrived{$q->{id}} || [] };
        $fail->("request $q->{id}: the $q->{method} reached $primaries "
                . "backends as itself") if $primaries > 1;
    }

    my $log = read_file('logs/error.log');
    $fail->("error.log: $1")
        if $log =~ /^(.*\[(?:error|crit|alert|emerg)\].*)$/m
           || $log =~ /^(.*exited on signal.*)$/m;

    $violations += @problems;
    ok(!@problems, "table $n: the owner rule held over $nrequests requests")
        or diag(join("\n", "seed $seed (replay: STRANGLER_PROP_SEED=$seed)",
                     @problems[0 .. ($#problems < 9 ? $#problems : 9)],
                     "table:", $yaml, "mode: $t->{mode}", "API calls:", @calls,
                     "requests:",
                     map { "$_->{id} $_->{proto} $_->{method} $_->{raw} "
                           . "[$_->{framing}] -> $_->{status}, owner "
                           . "$_->{owner}: "
                           . join(', ', @{ $arrived{$_->{id}} || [] }) }
                     @sent));
}

ok($writes_seen > $ntables * 10, "writes reached backends ($writes_seen)");
ok($batch_writes > $ntables * 10, "concurrent batch writes with owner "
                                  . "changes ($batch_writes)");
ok($write_copies > 0, "dry-run write copies reached backends "
                     . "($write_copies)");
ok($by_proto{$_}, ($_ eq 'h2' ? 'HTTP/2' : "HTTP/$_")
                  . " requests reached backends ($by_proto{$_})")
    for '1.0', '1.1', $curl_h2 ? 'h2' : ();
note(sprintf('%d requests, %d shadow copies (%d of writes), %d violations '
             . 'in %.1f s', $requests, $copies, $write_copies, $violations,
             time - $t0));
diag("seed $seed (replay: STRANGLER_PROP_SEED=$seed)") if $violations;

done_testing();
