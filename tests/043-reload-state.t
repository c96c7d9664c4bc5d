# Overrides across `nginx -s reload` and restarts, the state file on disk,
# and the status JSON and Prometheus metrics parsed in full.  Plain
# Test::More: Test::Nginx restarts nginx for every block, and this needs
# one nginx across reloads.
use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);

use StranglerNginx;

my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = nginx_prefix();

my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());
front($front);

# the table: conversations, then the routes named
sub table {
    my @extra = @_;
    my $routes = join '', map { <<"END" } @extra;
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
$routes
END
}

sub config {
    my ($zone_size) = @_;
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
    strangler_state state/strangler.state;
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 "monolith\\n"; }
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
        location /_strangler/ { strangler_api; }
    }
}
END
}

sub get {
    my $res = call('GET', '/api/conversations/1');
    return $res->{success} ? $res->{content} : "failed: $res->{status}";
}

# every worker serves the expected backend
sub settles_on {
    my ($want) = @_;
    for (1 .. 50) {
        my $all = 1;
        for (1 .. 10) { $all = 0 if get() ne $want }
        return 1 if $all;
        sleep 0.1;
    }
    return 0;
}

sub saved_overrides {
    my $state = eval { decode_json(read_file('state/strangler.state')) };
    return { map { $_->{route} => $_ } @{ $state->{overrides} || [] } };
}

# a Prometheus text exposition: { "name{labels}" => value }, or dies
sub parse_metrics {
    my ($text) = @_;
    my (%value, %type);
    for my $line (split /\n/, $text) {
        next if $line =~ /^# HELP \w+ .+$/;
        if ($line =~ /^# TYPE (\w+) (counter|gauge|histogram)$/) {
            $type{$1} = $2;
            next;
        }
        $line =~ /^(\w+)(\{(?:\w+="[^"]*")(?:,\w+="[^"]*")*\})? (\S+)$/
            or die "not a sample line: $line\n";
        my ($name, $labels, $v) = ($1, $2 // '', $3);
        (my $family = $name) =~ s/_(bucket|sum|count)$//;
        die "no TYPE before $name\n" unless $type{$name} || $type{$family};
        die "not a number: $line\n" unless $v =~ /^(?:[0-9.]+|\+Inf)$/;
        $value{"$name$labels"} = $v;
    }
    return \%value;
}

write_file('conf/routes.yaml', table(qw(orders users)));
config('1m');

is nginx(), 0, 'nginx starts';
like read_file('logs/error.log'), qr/strangler_state ".*" does not exist yet/,
     'a first start without a state file';

# -- counters, the status JSON and the metrics, parsed ----------------------

call('GET', "/api/conversations/$_") for 1 .. 25;
call('POST', "/api/conversations/$_", 'x') for 1 .. 5;
call('GET', '/elsewhere') for 1 .. 3;

# the requests each backend's counters hold, over every route
sub counted {
    my ($st) = @_;
    my $n = 0;
    for my $c (map { $_->{counters}{backends} }
               @{ $st->{routes} || [] }, $st->{default} || ())
    {
        $n += $_->{requests} for values %{ $c || {} };
    }
    return $n;
}

# A request is counted in the log phase, which nginx runs after the
# response went out: the status, read on a new connection that the other
# worker may accept, can come before the last request is counted.  Wait
# until the 33 are; the counts are checked exactly below.
my $status;
for (1 .. 50) {
    $status = api_json('GET', 'status');
    last if counted($status) >= 33;
    sleep 0.1;
}
my ($conv) = grep { $_->{name} eq 'conversations' } @{ $status->{routes} };
is $status->{table}{sha256}, do {
    require Digest::SHA;
    Digest::SHA::sha256_hex(read_file('conf/routes.yaml'));
}, 'status: the table checksum is the file\'s sha256';
is $conv->{counters}{backends}{messages}{requests}, 25,
   'status: 25 reads counted for messages, over both workers';
is $conv->{counters}{backends}{monolith}{responses}{'2xx'}, 5,
   'status: 5 writes answered 2xx by the monolith';
is $status->{default}{counters}{backends}{monolith}{requests}, 3,
   'status: 3 requests for the default';

my $metrics = call('GET', '/_strangler/metrics');
my $m = eval { parse_metrics($metrics->{content}) };
ok $m, 'metrics parse as Prometheus text' or diag $@;
my $series = '{route="conversations",backend="messages"}';
is $m->{"strangler_requests_total$series"}, 25, 'metrics: requests';
my @buckets = map {
    $m->{'strangler_upstream_response_seconds_bucket'
         . qq({route="conversations",backend="messages",le="$_"})}
} qw(0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf);
is scalar(grep { defined } @buckets), 12, 'metrics: 12 buckets';
is_deeply [ sort { $a <=> $b } @buckets ], \@buckets,
          'metrics: the buckets are cumulative';
is $buckets[-1], $m->{"strangler_upstream_response_seconds_count$series"},
   'metrics: the +Inf bucket holds every timed response';

# -- overrides, concurrent changes, the state file -------------------------

is api_json('PUT', 'routes/conversations', '{"reads": "monolith"}')
       ->{effective}{reads}, 'monolith', 'override the reads';
ok settles_on("monolith\n"), 'every worker serves the override';

# concurrent changes from several clients: the file ends with all of them
my @kids;
for my $route (qw(orders users)) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $res = call('POST', "/_strangler/routes/$route/rollback");
        exit($res->{status} == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
for my $pid (@kids) {
    waitpid($pid, 0);
    is $?, 0, 'a concurrent rollback answers 200';
}

my $saved = saved_overrides();
is $saved->{conversations}{reads}, 'monolith', 'the state file has the reads';
is $saved->{orders}{reads}, 'monolith', 'and one concurrent rollback';
is $saved->{users}{reads}, 'monolith', 'and the other';
ok !-e "$prefix/state/strangler.state.tmp", 'no temporary file is left';

# -- reload ----------------------------------------------------------------

is reload(), 0, 'reload with the same table';
ok settles_on("monolith\n"), 'the override survives the reload';
is api_json('GET', 'routes/conversations')->{counters}{backends}{messages}
       {requests}, 25, 'and so do the counters';

write_file('conf/routes.yaml', table(qw(orders)));
is reload(), 0, 'reload with a table without "users"';
ok settles_on("monolith\n"), 'the override of a route still there stays';
like read_file('logs/error.log'),
     qr/\[notice\] .*route "users" of ".*routes\.yaml" no longer exists, its override is kept/,
     'the override of the route gone is kept, orphaned, with a notice';
for (1 .. 20) { last if saved_overrides()->{users}{orphaned_at}; sleep 0.1 }
ok saved_overrides()->{users}{orphaned_at},
   'the state file keeps it, with the time it was orphaned';
is api_json('DELETE', 'routes/users')->{orphaned}, JSON::PP::true,
   'DELETE drops the orphaned override';
for (1 .. 20) { last unless saved_overrides()->{users}; sleep 0.1 }
ok !saved_overrides()->{users}, 'and it is dropped from the state file';
ok saved_overrides()->{orders}, 'the others stay in the state file';

# -- restart: the state file is read back ------------------------------------

stop();
is nginx(), 0, 'nginx starts again';
ok settles_on("monolith\n"), 'a restart does not undo the override';
is api_json('GET', 'routes/orders')->{override}{reads}, 'monolith',
   'nor the rollback';

# a reload that resizes the zone makes a new zone: from the state file
config('2m');
is reload(), 0, 'reload with a larger zone';
ok settles_on("monolith\n"), 'the new zone starts from the state file';

is api_json('DELETE', 'routes/conversations')->{override}, undef,
   'delete the override';
ok settles_on("messages\n"), 'every worker serves the table again';

# -- a corrupt state file stops nginx with the reason ----------------------

stop();
write_file('state/strangler.state', "{\"version\": 1, \"overrides\": [}\n");
my $rc = nginx();
isnt $rc, 0, 'nginx refuses to start with a corrupt state file';
is $rc & 127, 0, 'without crashing';
like read_file('logs/stderr.log'),
     qr/\[emerg\] strangler_state ".*strangler\.state" is corrupt: line 1, column \d+: /,
     'and says which file, where, and why';

stop() if -e "$prefix/logs/nginx.pid";

done_testing();
