# Guards (issue 12) through a real nginx with a master and 2 workers:
# routes whose new side starts failing, slows down or starts differing
# trip and send their reads back to the owner, in every worker, through a
# reload and a restart; writes are never moved; idle routes, routes below
# min_requests and short bursts do not trip; a dry run only logs; re-arm.
# Plain Test::More: one nginx must live across windows, reloads and a
# restart.  Windows are 1s; the whole script is bounded by an alarm.
use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);

use StranglerNginx;

# a bound on the whole script, whatever happens; nginx is stopped on the
# way out, even after a failure
$SIG{ALRM} = sub { die "045-guards.t: timed out\n" };
alarm 180;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = nginx_prefix();

my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());
front($front);

# accepts connections and never answers: the slow service's upstream
my $hole = IO::Socket::INET->new(Listen => 1024, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, ReuseAddr => 1) or die $!;
my $hole_port = $hole->sockport;

# owner monolith, reads messages, and a guard; shadowed when asked
sub route {
    my ($name, $guard, $shadow) = @_;
    my $text = <<"END";
  - name: $name
    paths: ["/api/$name/*"]
    owner: monolith
    reads: messages
    guard: { $guard }
END
    $text .= "    shadow: { to: monolith, compare: body }\n" if $shadow;
    return $text;
}

write_file('conf/routes.yaml', join '', <<'END',
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: plain
    paths: ["/api/plain/*"]
    owner: monolith
    reads: messages
END
    route('errors', 'error_rate: 1%, window: 1s, min_requests: 20, '
                    . 'failures: 2'),
    route('dry', 'error_rate: 1%, window: 1s, min_requests: 20, '
                 . 'failures: 2, dry_run: true'),
    route('few', 'error_rate: 1%, window: 1s, min_requests: 100000, '
                 . 'failures: 1'),
    route('idle', 'error_rate: 1%, latency_p99: 250ms, window: 1s, '
                  . 'min_requests: 1, failures: 1'),
    route('burst', 'error_rate: 1%, window: 1s, min_requests: 5, '
                   . 'failures: 3'),
    route('slow', 'latency_p99: 250ms, window: 1s, min_requests: 3, '
                  . 'failures: 1'),
    route('differs', 'mismatch_rate: 2%, window: 1s, min_requests: 10, '
                     . 'failures: 2', 1));

my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
my $user = $> == 0 ? 'user root;' : '';

# messages: ?fail=1 answers 500 (the client asks it of 1 read in 20: 5%);
# /api/slow/ waits 400 ms; ?diff=1 answers differently
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
    log_format guard '\$pid \$request_method \$uri \$args \$strangler_route '
                     '\$strangler_backend';
    strangler_zone strangler 1m;
    strangler_state state/strangler.state;
    server {
        listen 127.0.0.1:$mono;
        access_log off;
        location / { return 200 "monolith\\n"; }
        location /api/differs/ { return 200 "same\\n"; }
    }
    server {
        listen 127.0.0.1:$msgs;
        access_log off;
        location / {
            if (\$arg_fail) { return 500 "failed\\n"; }
            return 200 "messages\\n";
        }
        location /api/differs/ {
            if (\$arg_diff) { return 200 "different\\n"; }
            return 200 "same\\n";
        }
        location /api/slow/ {
            error_log logs/slow.log;    # its time-outs are on purpose
            proxy_pass http://127.0.0.1:$hole_port;
            proxy_connect_timeout 400ms;
            proxy_read_timeout 400ms;
            error_page 504 =200 \@slow;
        }
        location \@slow { return 200 "messages\\n"; }
    }
    server {
        listen 127.0.0.1:$front reuseport;
        access_log logs/access.log guard;
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith {
            proxy_pass http://127.0.0.1:$mono;
            add_header X-Backend monolith always;
        }
        location \@messages {
            proxy_pass http://127.0.0.1:$msgs;
            add_header X-Backend messages always;
        }
        location /_strangler/ { strangler_api; }
    }
}
END

my $main = $$;

END {
    local $?;
    stop() if $$ == $main && -e "$prefix/logs/nginx.pid";    # not a child
}

# which backend served: the X-Backend header
sub served {
    my $res = call(@_);
    return $res->{headers}{'x-backend'} // "none ($res->{status})";
}

# the same over one keep-alive connection: traffic, as fast as it goes
my $keepalive = HTTP::Tiny->new(timeout => 3, keep_alive => 1);

sub traffic {
    my ($method, $path, $body) = @_;
    my $res = $keepalive->request($method, "http://127.0.0.1:$front$path",
                                  defined $body ? { content => $body } : {});
    return $res->{headers}{'x-backend'} // "none ($res->{status})";
}

# 1 read in 20 fails: the new service's 5% of errors
sub fails {
    my ($n) = @_;
    return $n % 20 ? '' : '?fail=1';
}

sub guard_of {
    my ($route) = @_;
    return api_json('GET', "routes/$route")->{guard} // {};
}

# reads of a route over fresh connections: { backend => count }
sub reads {
    my ($route, $n, $args) = @_;
    my %seen;
    $seen{ served('GET', "/api/$route/x?$args") }++ for 1 .. $n;
    return \%seen;
}

# the master's children, from /proc (no ps needed)
sub worker_pids {
    # the pid file is empty for a moment while nginx writes it
    my $master = '';
    for (1 .. 50) {
        $master = read_file('logs/nginx.pid');
        last if $master =~ s/^(\d+)\s*\z/$1/;
        sleep 0.1;
    }
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @pids, $pid if $ppid == $master;
    }
    return sort @pids;
}

sub log_since {
    my ($offset) = @_;
    return substr(read_file('logs/error.log'), $offset);
}

# -- start, and the guards' state before any traffic ------------------------

is nginx(), 0, 'nginx starts with guarded routes';
my @workers;
for (1 .. 40) { @workers = worker_pids(); last if @workers == 2; sleep 0.05 }
is scalar(@workers), 2, 'two workers';

my $g = guard_of('errors');
is $g->{state}, 'inconclusive', 'before any window: inconclusive';
is_deeply $g->{limits}, { error_rate => 1, mismatch_rate => undef,
                          latency_p99_ms => undef, window_ms => 1000,
                          min_requests => 20, failures => 2 },
          'status shows the limits';
ok !exists api_json('GET', 'routes/plain')->{guard},
   'an unguarded route has no "guard" object';

# -- the slow service: three clients, each read waits 400 ms ----------------

my @slow;
for my $k (1 .. 3) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $end = time + 3.5;
        call('GET', "/api/slow/$k") while time < $end;
        exit 0;
    }
    push @slow, $pid;
}

# -- healthy traffic, then messages fails 5% of reads ----------------------

my $healthy_end = time + 1.2;
my $i = 0;
my @bad_writes;
while (time < $healthy_end) {
    $i++;
    traffic('GET', '/api/errors/x');
    traffic('GET', '/api/dry/x');
    traffic('GET', '/api/differs/x');
    traffic('GET', '/api/burst/x');
}

my $t0 = time;
my $deadline = $t0 + 2 * 1 + 1;     # window x failures + 1 s
my $burst_end = $t0 + 0.5;
my %few;
while (time < $deadline) {
    $i++;
    traffic('GET', '/api/errors/x' . fails($i));
    traffic('GET', '/api/dry/x' . fails($i));
    traffic('GET', '/api/differs/x' . ($i % 10 ? '' : '?diff=1'));
    traffic('GET', '/api/burst/x' . (time < $burst_end ? '?fail=1' : ''));
    next if $i % 2;     # fewer of these: more reads of the others
    $few{ traffic('GET', '/api/few/x?fail=1') }++;
    my $w = traffic('POST', "/api/errors/x?n=$i", 'a write');
    push @bad_writes, $w if $w ne 'monolith';
}

# the live figures of a guard that keeps watching (dry run), and metrics
my $live = guard_of('dry')->{window};
my $metrics = call('GET', '/_strangler/metrics')->{content};
ok $live->{requests} > 0 && $live->{errors} > 0
   && $live->{error_rate} > 1 && defined $live->{p99_ms}
   && $live->{verdict} eq 'fail',
   'status: the last window\'s requests, errors, error rate, p99, verdict'
    or diag explain $live;
like $metrics, qr/^strangler_guard_window_requests\{route="dry"\} [1-9]\d*$/m,
     'metrics: the last window\'s requests';
like $metrics, qr/^strangler_guard_window_error_ratio\{route="dry"\} 0\.\d{6}$/m,
     'metrics: its error ratio';
like $metrics, qr/^strangler_guard_window_p99_seconds\{route="dry"\} \d\.\d{3}$/m,
     'metrics: its p99';

my $after = reads('errors', 40, 'after=1');
is_deeply $after, { monolith => 40 },
          'within window x failures + 1 s, every read of "errors" is on '
          . 'the owner'
    or diag explain $after;

waitpid $_, 0 for @slow;

my %pids;
for (split /\n/, read_file('logs/access.log')) {
    my ($pid, $method, $uri, $args, $route, $backend) = split / /;
    next unless $route eq 'errors' && $args eq 'after=1';
    $pids{$pid}++;
    push @bad_writes, "after the trip: $backend" if $backend ne 'monolith';
}
is_deeply [ sort keys %pids ], \@workers,
          'both workers served reads of "errors" after the trip';
is_deeply \@bad_writes, [], 'every write went to the owner, all along';

my $log = read_file('logs/error.log');
like $log, qr/\[warn\] .*strangler: guard of route "errors" tripped after 2 failing windows of 1000ms: \d+ reads, \d+ errors, error rate \d+\.\d\d% over 1\.00%; its reads go back to the owner "monolith" until re-armed/,
     'the trip is logged at warn with its figures';

my $errors = api_json('GET', 'routes/errors');
is $errors->{guard}{state}, 'tripped', 'status: tripped';
is $errors->{guard}{trips}, 1, 'status: one trip';
is_deeply [ @{ $errors->{override} }{qw(by reads owner)} ],
          [ 'guard', 'monolith', undef ],
          'the trip is an override of the reads only, by "guard"';
is $errors->{effective}{owner}, 'monolith', 'the owner did not move';
my $w = $errors->{guard}{window};
ok $w && $w->{requests} >= 0 && exists $w->{error_rate}
   && exists $w->{p99_ms}, 'status: the last window\'s figures'
    or diag explain $w;

# -- latency, mismatches, dry run, bursts, idle, below min_requests ----------

is_deeply reads('slow', 10, ''), { monolith => 10 },
          'a service slowed to 400 ms trips latency_p99: 250ms';
like $log, qr/guard of route "slow" tripped after 1 failing windows of 1000ms: .*p99 \d+ms over 250ms/,
     'with its p99 in the log';

my $differs;
for (1 .. 20) {
    $differs = reads('differs', 10, '');
    last if ($differs->{monolith} // 0) == 10;
    sleep 0.1;
}
is_deeply $differs, { monolith => 10 },
          'a shadowed route whose candidate differs trips on mismatch_rate';
like read_file('logs/error.log'),
     qr/guard of route "differs" tripped .*\d+ of \d+ shadows mismatched, mismatch rate \d+\.\d\d% over 2\.00%/,
     'with the mismatches in the log';

like $log, qr/\[warn\] .*guard of route "dry" would trip \(dry run\) after 2 failing windows/,
     'the dry run logs "would trip"';
is_deeply reads('dry', 10, ''), { messages => 10 }, 'and does not act';
my $dry = api_json('GET', 'routes/dry');
is $dry->{override}, undef, 'no override';
ok $dry->{guard}{would_trips} >= 1 && $dry->{guard}{trips} == 0,
   'status counts would-trips, not trips';

is guard_of('burst')->{trips}, 0,
   'a burst of errors shorter than `failures` windows does not trip';
is_deeply reads('burst', 10, ''), { messages => 10 }, 'its reads stay';

is_deeply [ keys %few ], ['messages'],
          'a route below min_requests kept serving its failing reads';
is guard_of('few')->{state}, 'inconclusive', 'its windows are inconclusive';
is guard_of('few')->{trips}, 0, 'and it never trips';

is guard_of('idle')->{state}, 'inconclusive', 'an idle route: inconclusive';
is guard_of('idle')->{trips}, 0, 'it never trips';

# -- metrics ---------------------------------------------------------------

$metrics = call('GET', '/_strangler/metrics')->{content};
like $metrics, qr/^strangler_guard_trips_total\{route="errors"\} 1$/m,
     'metrics: strangler_guard_trips_total';
like $metrics, qr/^strangler_guard_tripped\{route="errors"\} 1$/m,
     'metrics: tripped';
like $metrics, qr/^strangler_guard_tripped\{route="idle"\} 0$/m,
     'metrics: every guarded route, tripped or not';
unlike $metrics, qr/^strangler_guard_\w+\{route="plain"\}/m,
       'no guard metrics for an unguarded route';

# -- a new override ends a trip --------------------------------------------

my $put = call('PUT', '/_strangler/routes/differs', '{"reads": "messages"}');
is $put->{status}, 200, 'a person overrides a tripped route';
is guard_of('differs')->{state} ne 'tripped', 1,
   'a new override ends the trip';

# -- reload, restart --------------------------------------------------------

is nginx('-s', 'reload'), 0, 'reload';
sleep 0.5;
is_deeply reads('errors', 20, ''), { monolith => 20 },
          'the trip survives a reload, in every worker';
is guard_of('errors')->{state}, 'tripped', 'still tripped after a reload';

stop();
is nginx(), 0, 'nginx starts again';
is_deeply reads('errors', 20, ''), { monolith => 20 },
          'the trip survives a restart (state file)';
is guard_of('errors')->{state}, 'tripped', 'still tripped after a restart';
like read_file('state/strangler.state'), qr/"by": "guard"/,
     'the state file holds the guard\'s override';

# -- re-arm ----------------------------------------------------------------

my $offset = length read_file('logs/error.log');
my $rearm = api_json('POST', 'routes/errors/guard/rearm');
is $rearm->{_status}, 200, 're-arm answers 200';
is $rearm->{override}, undef, 'the guard\'s override is gone';
is $rearm->{guard}{state} ne 'tripped', 1, 'the guard is armed again';
is_deeply reads('errors', 20, ''), { messages => 20 },
          'reads go back to the new service';
like log_since($offset),
     qr/\[notice\] .*route "errors" re-armed by 127\.0\.0\.1: override \{.*"by":"guard","via":"guard"\} -> none/,
     're-arming is logged with the client address';

my $refused = api_json('POST', 'routes/plain/guard/rearm');
is $refused->{_status}, 400, 're-arm of an unguarded route is refused';
like $refused->{error}, qr/route "plain" has no guard/, 'and says why';
is api_json('GET', 'routes/nosuch/guard/rearm')->{_status}, 405,
   're-arm is a POST';
is api_json('POST', 'routes/dry/guard/rearm')->{_status}, 200,
   're-arm of a guard that did not trip answers 200';
is api_json('GET', 'routes/dry')->{override}, undef, 'and changes nothing';

# -- after a restart and a reload, a failing service trips again ----------

# messages fails 5% of the reads of "errors" for window x failures + 1 s
sub fails_and_trips {
    my ($tag) = @_;
    my $end = time + 2 * 1 + 1;
    my @writes;
    while (time < $end) {
        $i++;
        traffic('GET', '/api/errors/x' . fails($i));
        my $w = traffic('POST', "/api/errors/x?n=$i", 'a write');
        push @writes, $w if $w ne 'monolith';
    }
    is_deeply reads('errors', 20, ''), { monolith => 20 },
              "$tag: the reads are back on the owner within window x "
              . 'failures + 1 s';
    is_deeply \@writes, [], "$tag: the writes stayed with the owner";
}

fails_and_trips('re-armed after a restart');
is api_json('POST', 'routes/errors/guard/rearm')->{override}, undef,
   're-armed again';
is nginx('-s', 'reload'), 0, 'reload';
sleep 0.5;
fails_and_trips('after a reload');
is guard_of('errors')->{trips}, 2, 'two trips since the restart';

unlike read_file('logs/error.log'), qr/\[(error|crit|alert|emerg)\]/,
       'nothing above warn in the error log';

stop();
close $hole;

done_testing();
