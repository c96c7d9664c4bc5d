# Runtime ignore rules (PUT routes/NAME/ignore) across `nginx -s reload`
# and a restart: every worker applies them after a reload (the zone keeps
# them), and a new nginx reads them back from the state file.  Plain
# Test::More, as 043: one nginx across reloads.
use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep);

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
my $prefix = tempdir(CLEANUP => 1);

mkdir "$prefix/$_" for qw(conf logs state);
chmod 0777, "$prefix/state";    # workers may run as another user

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    return $port;
}

my ($front, $mono, $msgs) = (free_port(), free_port(), free_port());

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

write_file('conf/routes.yaml', <<'END');
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: json }
END

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
    default_type application/json;
    strangler_zone strangler $zone_size;
    strangler_state state/strangler.state;
    server {
        listen 127.0.0.1:$mono;
        location / { return 200 '{"ts":"\$request_id","total":10}'; }
    }
    server {
        listen 127.0.0.1:$msgs;
        location / { return 200 '{"ts":"\$request_id","total":11}'; }
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

# runs the nginx binary; what it prints goes to logs/stderr.log
sub nginx {
    my @args = @_;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>>', "$prefix/logs/stderr.log" or die $!;
    my $rc = system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf', @args);
    open STDERR, '>&', $saved or die $!;
    return $rc;
}

sub stop {
    nginx('-s', 'quit');
    for (1 .. 100) { last unless -e "$prefix/logs/nginx.pid"; sleep 0.05 }
}

sub reload {
    my $rc = nginx('-s', 'reload');
    sleep 0.5;      # the new workers start, the old ones leave
    return $rc;
}

my $http = HTTP::Tiny->new(timeout => 3);

sub call {
    my ($method, $path, $body) = @_;
    return $http->request($method, "http://127.0.0.1:$front$path",
                          defined $body ? { content => $body } : {});
}

sub api_json {
    my ($method, $path, $body) = @_;
    my $res = call($method, "/_strangler/$path", $body);
    return eval { decode_json($res->{content}) } // { status => $res->{status} };
}

# the route's shadow outcomes after n more requests (each worker serves some)
sub outcomes_after {
    my ($n) = @_;
    call('GET', "/api/items/$_") for 1 .. $n;
    sleep 0.5;
    return api_json('GET', 'routes/items')->{counters}{shadow};
}

config('1m');
is nginx(), 0, 'nginx starts';

my $before = outcomes_after(10);
is $before->{mismatched}, 10, 'without rules every request mismatches';

is_deeply api_json('PUT', 'routes/items/ignore',
                   '{"add": ["$.ts", "$.total"]}')->{runtime_ignore},
          ['$.ts', '$.total'], 'two rules added';

my $after = outcomes_after(10);
is $after->{matched} - $before->{matched}, 10,
   'every worker applies them at once';

is reload(), 0, 'reload';
is_deeply api_json('GET', 'routes/items')->{runtime_ignore},
          ['$.ts', '$.total'], 'the rules survive the reload';
my $reloaded = outcomes_after(10);
is $reloaded->{matched} - $after->{matched}, 10,
   'and the new workers apply them';

stop();
my $state = eval { decode_json(read_file('state/strangler.state')) } || {};
is_deeply [ map { @{ $_->{paths} } } @{ $state->{ignore} || [] } ],
          ['$.ts', '$.total'], 'the state file has them';

is nginx(), 0, 'nginx starts again';
is_deeply api_json('GET', 'routes/items')->{runtime_ignore},
          ['$.ts', '$.total'], 'the rules are read back from the state file';
my $restarted = outcomes_after(10);
is $restarted->{matched}, 10, 'and applied';

is_deeply api_json('PUT', 'routes/items/ignore',
                   '{"remove": ["$.ts", "$.total"]}')->{runtime_ignore},
          [], 'removed';
ok !exists api_json('GET', 'routes/items')->{runtime_ignore},
   'status shows none';
$state = eval { decode_json(read_file('state/strangler.state')) } || {};
ok !exists $state->{ignore}, 'the state file has none';

stop();

done_testing();
