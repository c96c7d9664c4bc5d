# Metrics an SRE can sum: shadow requests (sent, dropped) apart from the
# copies' final outcomes, which table and build each host runs, each
# route's stage, and the override's targets as labels.
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_root_location();
no_shuffle();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 '{"a": 1}'; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 '{"a": 2}'; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location /_strangler/ { strangler_api; }
_EOC_

our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: monolith
    shadow: { to: messages, sample: 100, compare: json }
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    reads: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig);
    $block->set_value("config", $Config);
    $block->set_value("user_files", $Routes);
});

run_tests();

__DATA__

=== TEST 1: shadow requests and copies' outcomes are two metrics
--- request eval
[
"GET /api/conversations/1",
"GET /_strangler/metrics",
]
--- wait: 0.5
--- response_body_like eval
[
'"a": 1',
'(?m)^# TYPE strangler_shadow_requests_total counter\n'
. 'strangler_shadow_requests_total\{route="conversations",result="sent"\} 1\n'
. 'strangler_shadow_requests_total\{route="conversations",'
. 'result="dropped"\} 0\n'
. '(?s:.*)^# TYPE strangler_shadow_total counter\n'
. '(?:strangler_shadow_total\{route="conversations",'
. 'outcome="(?:timed_out|matched|failed|not_compared)"\} 0\n'
. '|strangler_shadow_total\{route="conversations",'
. 'outcome="mismatched"\} 1\n){5}'
. 'strangler_shadow_total\{route="items"',
]
--- no_error_log
[error]



=== TEST 2: which build and table the host runs, each route's stage
--- request
GET /_strangler/metrics
--- response_body_like eval
'(?m)^strangler_build_info\{version="\d+\.\d+\.\d+",nginx="1\.\d+\.\d+"\} 1$'
. '(?s:.*)^strangler_table_info\{file="[^"]+/routes\.yaml",'
. 'sha256="[0-9a-f]{64}"\} 1$'
. '(?s:.*)^strangler_route_stage\{route="conversations",stage="shadowing"\} 1\n'
. 'strangler_route_stage\{route="items",stage="reads"\} 1$'
--- no_error_log
[error]



=== TEST 3: the override's targets are labels
--- request eval
[
"PUT /_strangler/routes/items
{\"reads\": \"monolith\"}",
"GET /_strangler/metrics",
]
--- response_body_like eval
[
'"reads": "monolith"',
'(?m)^strangler_override\{route="conversations",reads="",owner="",'
. 'pending=""\} 0\n'
. 'strangler_override\{route="items",reads="monolith",owner="",'
. 'pending=""\} 1$'
. '(?s:.*)^strangler_route_stage\{route="items",stage="legacy"\} 1$',
]
--- no_error_log
[error]
