# strangler_etcd's configuration: what nginx refuses at start, and that a
# host whose etcd is not there yet starts and serves (the overrides of the
# state file, none here) and says so in its status.  The fleet itself,
# with a real etcd: tests/080-fleet.t.
use Test::Nginx::Socket 'no_plan';

no_root_location();
no_shuffle();

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
    location /_strangler/ { strangler_api; }
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: inbox
    paths: [/inbox]
    reads: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("config", $Front) unless $block->config;
    $block->set_value("user_files", $Table) unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: strangler_etcd needs a zone
--- http_config
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
--- must_die
--- error_log
"strangler_etcd" needs a "strangler_zone"



=== TEST 2: no TLS
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379;
--- must_die
--- error_log
etcd endpoint "https://127.0.0.1:2379": TLS is not supported



=== TEST 3: an endpoint is needed, the prefix is not enough
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd prefix=/fleet/;
--- must_die
--- error_log
"strangler_etcd" needs at least one endpoint



=== TEST 4: an invalid endpoint
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:99999;
--- must_die
--- error_log
invalid etcd endpoint "http://127.0.0.1:99999"



=== TEST 5: twice
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:2379;
    strangler_etcd 127.0.0.1:2379;
--- must_die
--- error_log
"strangler_etcd" directive is duplicate



=== TEST 6: etcd not there: nginx serves, the status says so
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1 prefix=/fleet/;
--- request eval
["GET /inbox", "GET /_strangler/status"]
--- response_body_like eval
["messages",
 qr{"fleet":\s*\{\s*"endpoints":\s*\[\s*"127\.0\.0\.1:\d+"\s*\],
    \s*"endpoint":\s*"127\.0\.0\.1:\d+",\s*"prefix":\s*"/fleet/",
    \s*"connected":\s*false,}x]
--- no_error_log
[crit]



=== TEST 7: etcd not there: a change answers 503 and changes nothing
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- request eval
["PUT /_strangler/routes/inbox\n{\"reads\": \"monolith\"}", "GET /inbox"]
--- error_code eval
[503, 200]
--- response_body_like eval
[qr/"error":\s*"etcd is unreachable: nothing changed"/, "messages"]
