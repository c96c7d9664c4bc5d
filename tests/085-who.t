# Who made a change and why: the user auth_basic checked, a variable the
# operator names (strangler_api_user), or the client address, never a
# client's own X-Forwarded-For or Authorization header unless nginx
# checked them; a reason in the body or as ?reason=; the history says
# all of it, and bad history queries get a 4xx.
use Test::Nginx::Socket 'no_plan';

repeat_each(1);
no_root_location();
no_shuffle();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages\n"; }
    }
_EOC_

our $Backends = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

our $Files = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    reads: monolith
>>> htpasswd
alice:{PLAIN}secret
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Backends . $block->config);
    $block->set_value("user_files", $Files);
});

run_tests();

__DATA__

=== TEST 1: under auth_basic, the user it checked
--- config
    location /_strangler/ {
        auth_basic "strangler";
        auth_basic_user_file ../html/htpasswd;
        strangler_api;
    }
--- request eval
[
"PUT /_strangler/routes/conversations
{\"reads\": \"monolith\", \"reason\": \"INC-4711 5xx spike\"}",
"GET /_strangler/history",
]
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- response_body_like eval
[
'"override": \{\s+"reads": "monolith",\s+"by": "alice",\s+"via": "api",'
. '\s+"reason": "INC-4711 5xx spike",'
. '\s+"at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"',
'\{\s*"history": \[\s*\{\s*"id": 1,\s*"at": "[-0-9T:]+Z",'
. '\s*"route": "conversations",\s*"table": "[^"]+",\s*"host": "[^"]+",'
. '\s*"via": "api",\s*"result": "applied",\s*"changes": \{\s*"reads": '
. '\{\s*"from": null,\s*"to": "monolith"\s*\}\s*\},\s*"by": "alice",'
. '\s*"reason": "INC-4711 5xx spike"\s*\}\s*\],\s*"next": null\s*\}',
]
--- no_error_log
[error]



=== TEST 2: ... and the log names the user too
--- config
    location /_strangler/ {
        auth_basic "strangler";
        auth_basic_user_file ../html/htpasswd;
        strangler_api;
    }
--- request
POST /_strangler/routes/conversations/rollback
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- error_log
rolled back by alice: override none
--- no_error_log
[error]



=== TEST 3: without auth_basic, a client's Authorization header is no user
--- config
    location /_strangler/ { strangler_api; }
--- request
POST /_strangler/routes/conversations/rollback
--- more_headers
Authorization: Basic bWFsbG9yeTp4
--- response_body_like
"override": \{\s+"reads": "monolith",\s+"by": "127\.0\.0\.1",
--- no_error_log
[error]



=== TEST 4: strangler_api_user names a variable (an SSO proxy's header)
--- config
    location /_strangler/ {
        strangler_api_user $http_x_sso_user;
        strangler_api;
    }
--- request eval
[
"PUT /_strangler/routes/conversations
{\"reads\": \"monolith\"}",
"DELETE /_strangler/routes/conversations",
]
--- more_headers eval
["X-SSO-User: bob\@example.com", ""]
--- response_body_like eval
[
'"by": "bob\@example\.com",\s+"via": "api",',
'"override": null',
]
--- no_error_log
[error]



=== TEST 5: a spoofed X-Forwarded-For is not believed
--- config
    location /_strangler/ { strangler_api; }
--- request
PUT /_strangler/routes/conversations
{"reads": "monolith"}
--- more_headers
X-Forwarded-For: 6.6.6.6
--- response_body_like
"by": "127\.0\.0\.1",
--- no_error_log
[error]



=== TEST 6: ... unless realip vouches for the proxy that set it
--- config
    location /_strangler/ {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        strangler_api;
    }
--- request
PUT /_strangler/routes/conversations
{"reads": "monolith"}
--- more_headers
X-Forwarded-For: 10.1.2.3
--- response_body_like
"by": "10\.1\.2\.3",
--- no_error_log
[error]



=== TEST 7: ?reason= on a rollback, decoded
--- config
    location /_strangler/ { strangler_api; }
--- request
POST /_strangler/routes/conversations/rollback?reason=INC-4711%3A+5xx%20spike
--- response_body_like
"reason": "INC-4711: 5xx spike",
--- error_log
rolled back by 127.0.0.1
--- no_error_log
[error]



=== TEST 8: a bad reason is refused and changes nothing
--- config
    location /_strangler/ { strangler_api; }
--- request eval
[
"PUT /_strangler/routes/conversations
{\"reads\": \"monolith\", \"reason\": 42}",
"PUT /_strangler/routes/conversations
{\"reads\": \"monolith\", \"reason\": \"" . ("x" x 300) . "\"}",
"PUT /_strangler/routes/conversations
{\"reads\": \"monolith\", \"reason\": \"a\\nb\"}",
"POST /_strangler/routes/conversations/rollback?reason=%FF%FE",
"POST /_strangler/routes/conversations/rollback?reason=a%0Ab",
"GET /_strangler/routes/conversations",
"GET /_strangler/history",
]
--- error_code eval
[400, 400, 400, 400, 400, 200, 200]
--- response_body_like eval
[
'"error": "\\\\"reason\\\\" must be a string"',
'"error": "\\\\"reason\\\\" is over 256 bytes"',
'"error": "\\\\"reason\\\\" must not hold control characters"',
'"error": "\\\\"reason\\\\" must be UTF-8 text"',
'"error": "\\\\"reason\\\\" must not hold control characters"',
'"override": null',
'\A\{\s*"history": \[\],\s*"next": null\s*\}\s*\z',
]
--- no_error_log
[error]



=== TEST 9: the history pages, filters, and refuses bad queries
--- config
    location /_strangler/ { strangler_api; }
--- request eval
[
"PUT /_strangler/routes/conversations
{\"owner\": \"monolith\", \"reason\": \"one\"}",
"PUT /_strangler/routes/items
{\"reads\": \"messages\", \"reason\": \"two\"}",
"POST /_strangler/routes/conversations/rollback?reason=three",
"DELETE /_strangler/routes/conversations?reason=four",
"GET /_strangler/history?limit=2",
"GET /_strangler/history?limit=2&before=3",
"GET /_strangler/history?route=items",
"GET /_strangler/history?since=2000-01-01T00:00:00Z&limit=1",
"GET /_strangler/history?since=4000000000",
"GET /_strangler/history?limit=0",
"GET /_strangler/history?limit=x",
"GET /_strangler/history?since=yesterday",
"GET /_strangler/history?before=-1",
"GET /_strangler/history?route=nosuch",
]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 400, 400, 400, 400, 404]
--- response_body_like eval
[
'"reason": "one"',
'"reason": "two"',
'"result": "rolled back"',
'"override": null',
'\A\{\s*"history": \[\s*\{\s*"id": 4,.*"reason": "four"\s*\},\s*\{\s*"id": 3,'
. '.*"reason": "three"\s*\}\s*\],\s*"next": 3\s*\}\s*\z',
'\A\{\s*"history": \[\s*\{\s*"id": 2,.*"reason": "two"\s*\},\s*\{\s*"id": 1,'
. '.*"reason": "one"\s*\}\s*\],\s*"next": null\s*\}\s*\z',
'\A\{\s*"history": \[\s*\{\s*"id": 2,\s*"at": "[^"]+",\s*"route": "items",'
. '[^\]]*\],\s*"next": null\s*\}\s*\z',
'\A\{\s*"history": \[\s*\{\s*"id": 4,[^\]]*\],\s*"next": 4\s*\}\s*\z',
'\A\{\s*"history": \[\],\s*"next": null\s*\}\s*\z',
'"error": "\\\\"limit\\\\" must be a number from 1 to 256"',
'"error": "\\\\"limit\\\\" must be a number from 1 to 256"',
'"error": "\\\\"since\\\\" must be a UTC time',
'"error": "\\\\"before\\\\" must be an entry',
'"error": "no route \\\\"nosuch\\\\"',
]
--- no_error_log
[error]
