# State that must not be lost or leak, across reloads of one nginx with a
# master process: the zone gives back the blocks of routes no table has
# any more, a full zone is said once with the size it needs, overrides of
# routes gone from the table are kept (orphaned) and come back with them,
# and a change the state file cannot hold is not applied.  Plain
# Test::More, like 043-reload-state.t: this needs one nginx across reloads.
use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep);

use StranglerNginx;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = nginx_prefix();

my ($front, $mono, $msgs, $nowhere)
    = (free_port(), free_port(), free_port(), free_port());
front($front);

# "conversations", then $n routes named "${stem}1".."${stem}$n", then $raw
sub table {
    my ($stem, $n, $raw) = @_;
    $raw //= '';
    my $routes = join '', map { <<"END" } map { "$stem$_" } 1 .. $n;
  - name: $_
    paths: ["/api/$_/*"]
    owner: monolith
    reads: messages
END
    return <<"END";
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
$routes$raw
END
}

sub config {
    my ($zone_size, $state, $http) = @_;
    $http //= '';
    $state //= 'strangler_state state/strangler.state;';
    my $load = join '', map { "load_module $_;\n" } split ' ', $modules;
    my $user = $> == 0 ? 'user root;' : '';
    write_file('conf/nginx.conf', <<"END");
$load
$user
master_process on;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 64; accept_mutex off; }
http {
    access_log off;
    strangler_zone strangler $zone_size;
    $state
    $http
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 "monolith\\n"; }
        location /slow/ { root $prefix; rewrite ^ /big break; limit_rate 4k; }
    }
    server {
        listen 127.0.0.1:$msgs;
        location / { return 200 "messages\\n"; }
    }
    server {
        listen 127.0.0.1:$front;
        strangler_routes routes.yaml;
        location / { strangler; }
        location \@monolith { proxy_pass http://127.0.0.1:$mono; }
        location \@messages { proxy_pass http://127.0.0.1:$msgs; }
        location \@nowhere { proxy_pass http://127.0.0.1:$nowhere; }
        location /_strangler/ { strangler_api; }
    }
}
END
}

sub master_pid {
    my $pid = read_file('logs/nginx.pid');
    chomp $pid;
    return $pid;
}

# the pids of the master's children
sub workers {
    my $master = master_pid() or return ();
    return grep {
        my $stat = read_file_abs("/proc/$_/stat");
        $stat =~ /^\d+ \(.*?\) \S (\d+)/ && $1 == $master;
    } map { m{/proc/(\d+)$} ? $1 : () } glob '/proc/[0-9]*';
}

sub read_file_abs {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}

my $http = HTTP::Tiny->new(timeout => 3);

sub get {
    my ($path) = @_;
    my $res = call('GET', $path);
    return $res->{success} ? $res->{content} : "failed: $res->{status}";
}

# every worker serves the expected backend
sub settles_on {
    my ($path, $want) = @_;
    for (1 .. 50) {
        my $all = 1;
        for (1 .. 10) { $all = 0 if get($path) ne $want }
        return 1 if $all;
        sleep 0.1;
    }
    return 0;
}

sub saved_overrides {
    my $state = eval { decode_json(read_file('state/strangler.state')) };
    return { map { $_->{route} => $_ } @{ $state->{overrides} || [] } };
}

sub metric {
    my ($name) = @_;
    my $text = call('GET', '/_strangler/metrics')->{content} // '';
    return $text =~ /^\Q$name\E (\S+)$/m ? $1 : undef;
}

my $log_seen = 0;

# what the error log gained since the last call
sub new_log {
    my $log = read_file('logs/error.log');
    my $new = substr $log, $log_seen;
    $log_seen = length $log;
    return $new;
}


# -- "too small" says the size needed ----------------------------------------

write_file('conf/routes.yaml', table('big', 500));
config('64k');

isnt nginx(), 0, 'nginx refuses a zone too small for 500 routes';
my ($need) = read_file('logs/stderr.log')
    =~ /strangler_zone "strangler" is too small for the routes and guards of ".*routes\.yaml": it needs at least (\d+)k/;
ok $need, 'and says the size it needs' or diag read_file('logs/stderr.log');

config("${need}k");
is nginx('-t'), 0, "nginx -t accepts the size it named (${need}k)";
is nginx(), 0, "nginx starts with the size it named (${need}k)";
is get('/api/big500/x'), "messages\n", 'and serves the last route';
stop();

config('16k');
isnt nginx('-t'), 0, 'a zone under 8 pages is refused';
like read_file('logs/stderr.log'),
     qr/zone "strangler" is too small: it needs at least \d+k/,
     'with the size it needs';


# -- renaming 500 routes across 20 reloads in a 1 MiB zone ----------------------

unlink "$prefix/state/strangler.state";
write_file('conf/routes.yaml', table('g0r', 500));
config('1m');
is nginx(), 0, 'nginx starts with 500 routes in a 1 MiB zone';
new_log();

my @used;
my $renames_ok = 1;
for my $gen (1 .. 20) {
    write_file('conf/routes.yaml', table("g${gen}r", 500));
    if (reload(workers()) != 0) {
        $renames_ok = 0;
        diag "reload $gen failed";
        last;
    }

    # the counters of the renamed routes work in every worker
    get("/api/g${gen}r$_/x") for 1 .. 10;
    my $route = api_json('GET', "routes/g${gen}r1");
    my $n = $route->{counters}{backends}{messages}{requests} // 0;
    if ($n != 1) {
        $renames_ok = 0;
        diag "reload $gen: g${gen}r1 counted $n requests";
        diag new_log();
        last;
    }
    push @used, api_json('GET', 'status')->{zone_use}{used_bytes};
}
ok $renames_ok, '20 reloads renaming 500 routes each, counters counted';
my $log = new_log();
unlike $log, qr/too small|is full|ngx_slab_alloc/,
       'the zone never fills up';
like $log, qr/strangler_zone "strangler": \d+ blocks of routes no table has are freed/,
     'the blocks of the routes renamed away are freed';
diag 'zone use across 20 renames (KiB): '
     . join ' ', map { defined $_ ? int($_ / 1024) : '?' } @used;
ok @used == 20 && (sort { $b <=> $a } @used)[0] < 1024 * 1024,
   'the use stays under the zone size';
is metric('strangler_zone_alloc_failures_total'), 0,
   'metrics: no allocation failed';
ok metric('strangler_zone_reclaimed_total') >= 19 * 500,
   'metrics: the blocks freed are counted';

stop();


# -- a full zone is said once, with the size needed, and counted ---------------

# the routes' blocks fit, the counters of every backend do not
unlink "$prefix/state/strangler.state";
write_file('conf/routes.yaml', table('full', 100));
config('64k', '');
is nginx(), 0, 'nginx starts with 100 routes in 64k';
new_log();
for my $i (1 .. 100) { get("/api/full$i/x"); call('POST', "/api/full$i/x") }
$log = new_log();
my @full = $log =~ /(strangler_zone "strangler" is full.*)/g;
is scalar(@full), 1, 'a full zone is logged once' or diag $log;
like $full[0] // '', qr/it needs at least \d+k/, 'with the size it needs';
unlike $log, qr/ngx_slab_alloc\(\) failed/, 'nginx\'s own message is not';
ok metric('strangler_zone_alloc_failures_total') > 0,
   'metrics: the failed allocations are counted';
stop();



# -- an override outlives a reload without its route ----------------------------

unlink "$prefix/state/strangler.state";
write_file('conf/routes.yaml', table('o', 2));
config('1m');
is nginx(), 0, 'nginx starts with routes o1 and o2';
is api_json('PUT', 'routes/o1', '{"reads": "monolith"}')->{_status}, 200,
   'o1 reads overridden to the monolith';
ok settles_on('/api/o1/x', "monolith\n"), 'every worker serves it';

write_file('conf/routes.yaml', table('o', 0, <<'END'));
  - name: o2
    paths: ["/api/o2/*"]
    owner: monolith
    reads: messages
END
is reload(workers()), 0, 'a reload with a table without o1';
for (1 .. 20) { last if saved_overrides()->{o1}{orphaned_at}; sleep 0.1 }
ok saved_overrides()->{o1}{orphaned_at}, 'the state file keeps it, orphaned';
my $orphans = api_json('GET', 'status')->{orphaned};
is_deeply [ map { $_->{route} } @$orphans ], ['o1'],
          'status shows it as orphaned';
is $orphans->[0]{override}{reads}, 'monolith', 'with its override';

stop();
is nginx(), 0, 'a restart without o1';
is api_json('GET', 'status')->{orphaned}[0]{route}, 'o1',
   'the orphaned override is read back from the state file';

write_file('conf/routes.yaml', table('o', 2));
is reload(workers()), 0, 'a reload with o1 back';
ok settles_on('/api/o1/x', "monolith\n"), 'its override applies again';
like read_file('logs/error.log'),
     qr/route "o1" of ".*" is back, its override applies again/,
     'with a notice';
for (1 .. 20) { last unless saved_overrides()->{o1}{orphaned_at}; sleep 0.1 }
ok !saved_overrides()->{o1}{orphaned_at}, 'and is no longer orphaned';
is_deeply api_json('GET', 'status')->{orphaned}, [], 'status: no orphans';


# -- a change the state file cannot hold is not applied -------------------------

# the state directory becomes a file: the file cannot be written, even by root
rename "$prefix/state", "$prefix/state.away" or die $!;
write_file('state', "not a directory\n");

my $res = api_json('PUT', 'routes/o2', '{"reads": "monolith"}');
is $res->{_status}, 503, 'a change that cannot be written: 503';
like $res->{error}, qr/writing ".*strangler\.state" failed: nothing changed/,
     'saying nothing changed';
is api_json('GET', 'routes/o2')->{override}, undef, 'the override is not set';
ok settles_on('/api/o2/x', "messages\n"), 'no worker applies it';
is api_json('DELETE', 'routes/o1')->{_status}, 503,
   'a DELETE that cannot be written: 503';
ok settles_on('/api/o1/x', "monolith\n"), 'and the override stays';

unlink "$prefix/state";
rename "$prefix/state.away", "$prefix/state" or die $!;
is api_json('PUT', 'routes/o2', '{"reads": "monolith"}')->{_status}, 200,
   'once the file can be written, the change applies';
ok settles_on('/api/o2/x', "monolith\n"), 'in every worker';
is saved_overrides()->{o2}{reads}, 'monolith', 'and is in the state file';

# two changes at once from clients of both workers: both written, both applied
my @kids;
for my $i (1 .. 6) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $route = $i % 2 ? 'o1' : 'o2';
        my $res = call('PUT', "/_strangler/routes/$route",
                       qq({"shadow_sample": null, "owner": ) .
                       ($i % 2 ? '"monolith"' : '"messages"') . '}');
        exit($res->{status} == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $ok = 0;
for my $pid (@kids) { waitpid($pid, 0); $ok++ if $? == 0 }
is $ok, 6, 'six concurrent changes all answer 200';
is saved_overrides()->{o1}{owner}, 'monolith', 'the state file has one';
is saved_overrides()->{o2}{owner}, 'messages', 'and the other';
is api_json('GET', 'routes/o2')->{override}{owner}, 'messages',
   'as the zone does';

stop();
is nginx(), 0, 'a restart';
is api_json('GET', 'routes/o2')->{override}{reads}, 'monolith',
   'keeps what was written';
stop();

# -- every shadow sent ends in exactly one outcome ------------------------------

write_file('big', 'x' x (1024 * 1024));
unlink "$prefix/state/strangler.state";
write_file('conf/routes.yaml', table('s', 0, <<'END'));
  - name: slow
    paths: ["/slow/*"]
    owner: monolith
    shadow: { to: messages, sample: 100 }
  - name: lost
    paths: ["/lost/*"]
    owner: monolith
    shadow: { to: nowhere, sample: 100 }
  - name: blind
    paths: ["/blind/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: "off" }
END
write_file('conf/routes.yaml',
           read_file('conf/routes.yaml') =~ s/(messages: \{\})/$1, nowhere: {}/r);
config('1m', '', 'strangler_shadow_timeout 2s;');
is nginx(), 0, 'nginx starts with shadowed routes';

# clients that read the start of a slow response and go away
for (1 .. 6) {
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$front",
                                     Timeout => 3) or die $!;
    print $sock "GET /slow/$_ HTTP/1.1\r\nHost: x\r\n\r\n";
    my $got = '';
    while ($got !~ /\r\n\r\n/) {
        sysread $sock, $got, 4096, length $got or last;
    }
    close $sock;
}
get("/lost/$_") for 1 .. 4;
get("/blind/$_") for 1 .. 3;
sleep 3;        # every shadow ends or times out

my %outcome;
for my $route (qw(slow lost blind)) {
    $outcome{$route} = api_json('GET', "routes/$route")->{counters}{shadow};
}
diag 'shadow outcomes: ' . encode_json(\%outcome);
is $outcome{slow}{sent}, 6, 'the 6 copies of aborted requests are sent';
is $outcome{slow}{failed}, 6, 'and counted as failed: no comparison';
is $outcome{lost}{mismatched}, 4,
   'copies to a backend down: a 502 that does not match';
is $outcome{blind}{not_compared}, 3, 'copies with compare: off are counted';
for my $route (qw(slow lost blind)) {
    my $o = $outcome{$route};
    is $o->{sent}, $o->{matched} + $o->{mismatched} + $o->{timed_out}
                   + $o->{failed} + $o->{not_compared},
       "$route: sent = matched + mismatched + timed_out + failed "
       . '+ not_compared';
}
stop();

done_testing();
