# Runtime ignore rules (PUT routes/NAME/ignore) across `nginx -s reload`
# and a restart: every worker applies them after a reload (the zone keeps
# them), and a new nginx reads them back from the state file.  Plain
# Test::More, as 043: one nginx across reloads.
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
