# Which route next (issue 23): traffic with known properties through two
# real nginx (two hosts of one fleet, same table), then `GET plan` and
# `strangler plan`: a route that agrees is ready to move its reads, one
# with a real difference is not, one with only noise is, a failing new
# side and a guard trip are named, the owner moves only once the reads
# have been on the new side for `quiet` and shadowed writes agree; the
# order; the sum over two hosts; the command's exit codes.  Plain
# Test::More: two nginx must live for the whole script.
use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

$SIG{ALRM} = sub { die "096-plan.t: timed out\n" };
alarm 120;

my $top = dirname(dirname(abs_path(__FILE__)));
my $cli = $ENV{STRANGLER_CLI} || "$top/build/strangler";
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $user = $> == 0 ? 'user root;' : '';
my $load = join '', map { "load_module $_;\n" } split ' ', $modules;

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

my $routes = <<'END';
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
readiness: { min_compared: 5, quiet: 2s, max_latency_ratio: 50 }
routes:
  - name: same          # agrees: ready to move its reads
    paths: ["/api/same/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: calm          # the same, with more traffic
    paths: ["/api/calm/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: differs       # $.total differs
    paths: ["/api/differs/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: noisy         # $.ts differs, on the monolith's own side too
    paths: ["/api/noisy/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json, noise: 100 }
  - name: failing       # the new side answers 500
    paths: ["/api/failing/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: status }
    readiness: { max_differences: 1 }
  - name: guarded       # reads moved, the new side fails: the guard trips
    paths: ["/api/guarded/*"]
    owner: monolith
    reads: messages
    shadow: { to: messages, sample: 100, compare: status }
    guard: { error_rate: 1%, window: 1s, min_requests: 3, failures: 1 }
    readiness: { quiet: 1h, max_differences: 5, max_error_ratio: 1000 }
  - name: moved         # reads moved by the API: the owner is next
    paths: ["/api/moved/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: writes        # reads moved, shadowed writes differ
    paths: ["/api/writes/*"]
    owner: monolith
    reads: messages
    shadow: { to: messages, sample: 100, compare: json, writes: dry-run,
              dry_run_header: X-Dry-Run }
    readiness: { max_differences: 5, quiet: 0 }
  - name: fresh         # nothing yet, a new service named: start shadowing
    paths: ["/api/fresh/*"]
    owner: monolith
    shadow: { to: messages, sample: 0 }
  - name: alone         # no new service to shadow to
    paths: ["/api/alone/*"]
    owner: monolith
  - name: fleet         # 3 copies on each host: 6 in the fleet
    paths: ["/api/fleet/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: done          # owned: not in the plan
    paths: ["/api/done/*"]
    owner: messages
END

# one host: a front, the monolith and the messages service
sub host {
    my $prefix = tempdir(CLEANUP => 1);
    my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());

    mkdir "$prefix/$_" for qw(conf logs);
    write_file("$prefix/conf/routes.yaml", $routes);
    write_file("$prefix/conf/nginx.conf", <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; accept_mutex off; }
http {
    strangler_zone strangler 2m;
    default_type application/json;
    access_log off;
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 '{"total":10,"id":1}'; }
        location /api/noisy/ { return 200 '{"ts":"\$request_id","n":1}'; }
    }
    server {
        listen 127.0.0.1:$msgs;
        location / { return 200 '{"total":10,"id":1}'; }
        location /api/differs/ { return 200 '{"total":11,"id":1}'; }
        location /api/noisy/ { return 200 '{"ts":"\$request_id","n":1}'; }
        location /api/failing/ { return 500 '{"total":10,"id":1}'; }
        location /api/guarded/ { return 500 '{"error":1}'; }
        location /api/writes/ {
            if (\$http_x_dry_run) { return 200 '{"created":2}'; }
            return 200 '{"total":10,"id":1}';
        }
    }
    server {
        listen 127.0.0.1:$front reuseport;
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$mono; }
        location \@messages { proxy_pass http://127.0.0.1:$msgs; }
        location /_strangler/ { strangler_api; }
    }
}
END

    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$prefix/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf');
    open STDERR, '>&', $saved or die $!;

    return { prefix => $prefix, port => $front, rc => $rc };
}

my @hosts = (host(), host());
my $main = $$;

END {
    local $?;
    return unless $$ == $main;
    for my $h (@hosts) {
        system($nginx, '-p', "$h->{prefix}/", '-c', 'conf/nginx.conf',
               '-s', 'quit') if -e "$h->{prefix}/logs/nginx.pid";
    }
}

is $_->{rc}, 0, "nginx on port $_->{port} starts" for @hosts;

my $http = HTTP::Tiny->new(timeout => 5, keep_alive => 0);

sub call {
    my ($h, $method, $path, $body) = @_;
    return $http->request($method, "http://127.0.0.1:$h->{port}$path",
                          defined $body ? { content => $body } : {});
}

sub plan_of {
    my ($h) = @_;
    my $res = call($h, 'GET', '/_strangler/plan?limit=1000');
    is $res->{status}, 200, 'GET plan answers 200';
    like $res->{headers}{'content-type'}, qr{^application/json},
         'as JSON';
    my $plan = decode_json($res->{content});
    return $plan, { map { $_->{route} => $_ } @{ $plan->{routes} } };
}

sub codes {
    my ($r) = @_;
    return join ' ', map { $_->{code} } @{ $r->{reasons} };
}

sub text_of {
    my ($r, $code) = @_;
    my ($reason) = grep { $_->{code} eq $code } @{ $r->{reasons} };
    return $reason ? $reason->{text} : '';
}

# runs the command: its exit status and what it printed
sub run_cli {
    my @args = @_;
    my $out = qx{$cli plan @args 2>&1};
    return ($? >> 8, $out);
}

my ($a, $b) = @hosts;
my $api_a = "http://127.0.0.1:$a->{port}/_strangler/";
my $api_b = "http://127.0.0.1:$b->{port}/_strangler";

# -- before any traffic ------------------------------------------------------

my ($plan, $by) = plan_of($a);
is_deeply [sort keys %{ $plan->{routes}[0] }],
          [qw(evidence next overridden readiness ready reasons requests
              route stage)],
          'a route of the plan: route, stage, next, ready, reasons, '
          . 'requests, readiness, evidence';
ok !exists $by->{done}, 'an owned route is not in the plan';
is $by->{same}{stage}, 'shadowing', 'a shadowed route: shadowing';
is $by->{same}{next}, 'reads', '... its next step: reads';
is codes($by->{same}), 'too_few_compared', '... not ready: too few compared';
is text_of($by->{same}, 'too_few_compared'), '0 compared of 5',
   '... in words and figures';
is_deeply [@{ $by->{fresh} }{qw(stage next ready)}],
          ['legacy', 'shadow', JSON::PP::true],
          'a route with a new service named and no shadow: ready to shadow';
is codes($by->{alone}), 'no_new_side',
   'a route without a new service: not ready to shadow';
is $by->{failing}{readiness}{max_differences}, 1,
   'a route\'s own readiness key replaces the table\'s';
is $by->{failing}{readiness}{min_compared}, 5,
   '... and the others are the table\'s';

# -- traffic -----------------------------------------------------------------

# the guard judges 1 s windows: its route's reads fail until it trips
my $end = time + 5;
while (time < $end) {
    call($a, 'GET', '/api/guarded/x') for 1 .. 4;
    last if decode_json(call($a, 'GET', '/_strangler/routes/guarded')
                        ->{content})->{stage} eq 'shadowing';
    sleep 0.1;
}

my %reads = (same => 6, calm => 9, differs => 6, noisy => 7, failing => 6,
             moved => 6, writes => 6);
for my $route (sort keys %reads) {
    call($a, 'GET', "/api/$route/$_") for 1 .. $reads{$route};
}
call($a, 'POST', "/api/writes/$_", 'w') for 1 .. 3;
call($a, 'GET', "/api/fleet/$_") for 1 .. 3;
call($b, 'GET', "/api/fleet/$_") for 1 .. 3;

# the shadows end after the answers; the guard judges 1 s windows
my $t0 = time;
for (1 .. 60) {
    ($plan, $by) = plan_of($a);
    last if $by->{same}{evidence}{compared} >= 6
            && $by->{writes}{evidence}{writes}{compared} >= 3;
    sleep 0.1;
}

# the reads of "moved" go to the new side now
my $put = $http->request('PUT',
                         "http://127.0.0.1:$a->{port}/_strangler/routes/moved",
                         { content => '{"reads": "messages"}',
                           headers => { 'Content-Type' =>
                                        'application/json' } });
is $put->{status}, 200, 'the reads of a route move (PUT routes/NAME)';
$t0 = time;
($plan, $by) = plan_of($a);

# -- the verdicts, while the moved reads are not quiet yet -------------------

ok $by->{same}{ready}, 'a route whose new side agrees: ready'
    or diag explain $by->{same};
is $by->{same}{evidence}{compared}, 6, '... on 6 compared copies';
is $by->{same}{requests}, 6, '... and 6 requests';

is $by->{differs}{ready}, JSON::PP::false, 'a real difference: not ready';
like text_of($by->{differs}, 'differences'),
     qr/^\$\.total differs in 100\.0% of copies, noise 0\.0%$/,
     '... the field, how often, and its noise';
like text_of($by->{differs}, 'not_quiet'),
     qr/^\$\.total first differed \d+ s ago, quiet is 2 s$/,
     '... and the difference is new';

ok $by->{noisy}{ready}, 'differences that are only noise: ready'
    or diag explain $by->{noisy};

is $by->{failing}{ready}, JSON::PP::false, 'a failing new side: not ready';
is text_of($by->{failing}, 'errors'), 'new side 5xx 100.0% vs legacy 0.0%',
   '... its 5xx share against the legacy side\'s';

is $by->{guarded}{stage}, 'shadowing',
   'a tripped guard sent the reads back: shadowing'
    or diag call($a, 'GET', '/_strangler/routes/guarded')->{content},
            `grep -i guard $a->{prefix}/logs/error.log | tail -5`;
like text_of($by->{guarded}, 'guard_tripped'),
     qr/^guard tripped \d+ s ago$/, '... and the trip is named';

is $by->{moved}{next}, 'owner', 'reads moved: the owner is next'
    or diag explain $by->{moved};
like text_of($by->{moved}, 'reads_not_moved'),
     qr/^reads on the new side for [01] s of 2 s$/,
     '... not before the reads have been there for quiet';

is $by->{writes}{next}, 'owner', 'reads moved with dry-run writes: owner';
like text_of($by->{writes}, 'write_differences'),
     qr/^shadowed writes \(dry-run\) differ in 3 of 3 copies$/,
     '... never while shadowed writes differ';

is codes($by->{fleet}), 'too_few_compared', 'one host alone: too few';

# -- quiet: 2 s later --------------------------------------------------------

sleep 2.2 - (time - $t0) if time - $t0 < 2.2;
($plan, $by) = plan_of($a);

ok $by->{moved}{ready}, 'the reads quiet for 2 s: ready to move the owner'
    or diag explain $by->{moved};
is codes($by->{differs}), 'differences',
   'a difference 2 s old: no longer new, still a difference';
like text_of($by->{guarded}, 'guard_tripped'), qr/^guard tripped \d+ s ago$/,
     'a route\'s own quiet (1h) keeps the trip in the reasons';

my @order = map { $_->{route} } @{ $plan->{routes} };
is_deeply [@order[0 .. 4]], [qw(same noisy calm moved fresh)],
          'ready first: reads before owners before shadows, least traffic '
          . 'first'
    or diag explain \@order;
ok !(grep { $_->{ready} } @{ $plan->{routes} }[5 .. $#order]),
   'then the routes not ready';
is $plan->{ready}, 5, '"ready" counts them';

# -- pages -------------------------------------------------------------------

my $page = decode_json(call($a, 'GET', '/_strangler/plan?offset=2&limit=3')
                       ->{content});
is_deeply [map { $_->{route} } @{ $page->{routes} }], [@order[2 .. 4]],
          'plan?offset=2&limit=3: a page of the plan';
is_deeply [@$page{qw(total ready offset limit next_offset)}],
          [scalar @order, 5, 2, 3, 5], '... total, ready, and where next';
is scalar @{ decode_json(call($a, 'GET', '/_strangler/plan')->{content})
             ->{routes} }, 10, 'plan: the first 10 by default';
$page = decode_json(call($a, 'GET', '/_strangler/plan?order=table&limit=1000')
                    ->{content});
is_deeply [map { $_->{route} } @{ $page->{routes} }],
          [qw(same calm differs noisy failing guarded moved writes fresh
              alone fleet)],
          'plan?order=table: in table order';
is $page->{next_offset}, undef, '... and no next page';
for my $bad ('limit=0', 'limit=1001', 'limit=x', 'offset=-1',
             'order=random') {
    my $res = call($a, 'GET', "/_strangler/plan?$bad");
    is $res->{status}, 400, "plan?$bad: 400";
    my ($name) = $bad =~ /^(\w+)/;
    is eval { decode_json($res->{content})->{error} } =~ /^"$name"/, 1,
       '... with a JSON error naming it';
}

# -- strangler plan ----------------------------------------------------------

my ($rc, $out) = run_cli('--route', 'fleet', $api_a);
is $rc, 1, 'strangler plan: exit 1 when nothing is ready';
like $out, qr/^fleet\s+shadowing\s+reads\s+no\s+3\n
              \ \ too_few_compared:\ 3\ compared\ of\ 5$/mx,
     '... the table says why';

($rc, $out) = run_cli('--json', '--route', 'fleet', $api_a, $api_b);
is $rc, 0, 'two hosts: exit 0, the route is ready';
my $sum = decode_json($out);
is $sum->{routes}[0]{ready}, JSON::PP::true, '... 3 + 3 copies of 5 needed';
is $sum->{routes}[0]{evidence}{compared}, 6, '... compared added up';
is $sum->{routes}[0]{requests}, 6, '... requests added up';
is $sum->{routes}[0]{hosts}, 2, '... from two hosts';

($rc, $out) = run_cli($api_a);
is $rc, 0, 'every route of one host: exit 0';
like $out, qr/\A ROUTE \s+ STAGE \s+ NEXT \s+ READY \s+ REQUESTS\n
              same \s+ shadowing \s+ reads \s+ yes \s+ 6\n/x,
     '... a table, the first route ready first';
like $out, qr/^differs\s+shadowing\s+reads\s+no\s+6\n
              \ \ differences:\ \$\.total\ differs/mx,
     '... with the reasons of the others';

($rc, $out) = run_cli('--json', $api_a);
is_deeply [map { $_->{route} } @{ decode_json($out)->{routes} }], \@order,
          'the command orders as GET plan does';

($rc, $out) = run_cli("${api_a}nothing/");
is $rc, 2, 'a URL without a plan: exit 2';
like $out, qr/HTTP status 404/, '... saying why';

($rc, $out) = run_cli("http://127.0.0.1:$a->{port}/api/same/");
is $rc, 2, 'a URL that answers something else: exit 2';
like $out, qr/not a plan/, '... saying why';

($rc, $out) = run_cli('http://127.0.0.1:' . free_port() . '/_strangler/');
is $rc, 2, 'a host that does not answer: exit 2';

($rc, $out) = run_cli();
is $rc, 2, 'no URL: exit 2';

# -- the block in the table --------------------------------------------------

my $dir = tempdir(CLEANUP => 1);
write_file("$dir/bad.yaml", <<'END');
version: 1
default: monolith
backends: { monolith: {} }
readiness: { min_compared: 5, quite: 2s }
routes:
  - name: r
    paths: [/r]
    readiness: { max_error_ratio: -1 }
END
$out = qx{$cli check $dir/bad.yaml 2>&1};
is $? >> 8, 1, 'strangler check refuses a bad readiness block';
like $out, qr/bad\.yaml:4:31: unknown key "quite" in readiness/,
     '... an unknown key, where it is';
like $out,
     qr/bad\.yaml:8:35: route "r": readiness\.max_error_ratio must be a num/,
     '... a bad value, where it is';

done_testing();
