# strangler_ambiguous_path: a request whose raw path normalises to another
# path (encoded slashes or backslashes, dot segments, doubled slashes) is
# routed by the normalised one, while proxy_pass without a URI forwards
# the raw one.  "reject" (the default) answers 400, "normalize" forwards
# the routed path, "off" forwards the raw path as nginx does.  The
# backends answer with the request line they got.
use Test::Nginx::Socket;

plan tests => repeat_each() * 62;

no_root_location();
no_shuffle();

# monolith (port 1) owns users; messages (port 2) owns conversations.
# Shadows to the monolith are logged into error.log, where a block finds
# them.
our $Backends = <<'_EOC_';
    log_format seen escape=none
        'shadow-seen $request_method $request_uri shadow=$http_x_strangler_shadow';

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        access_log logs/error.log seen;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
  - name: conversations
    paths: ["/api/conversations/*"]
    owner: messages
    shadow: { to: monolith, writes: dry-run, dry_run_header: X-Dry-Run }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", ($block->config // '') . $Front);
    $block->set_value("user_files", $Routes);
});

run_tests();

__DATA__

=== TEST 1: reject by default: encoded slashes that climb into another route
--- request
DELETE /api/users/7/..%2F..%2Fconversations/1
--- error_code: 400
--- error_log
strangler: ambiguous path "/api/users/7/..%2F..%2Fconversations/1" rejected: it would be routed as "/api/conversations/1" (strangler_ambiguous_path)
--- no_error_log
[error]
shadow-seen



=== TEST 2: reject: dot segments, doubled slashes, encoded slashes and backslashes
--- request eval
[ "GET /api/users/7/../../conversations/1",
  "GET /api//conversations/1",
  "GET /api/conversations/./1",
  "POST /api/conversations%2F1\nx",
  "GET /api/conversations/1%5C..%5C2",
  "GET /api/conversations/1\\..\\2" ]
--- error_code eval
[ (400) x 6 ]
--- no_error_log
[error]
shadow-seen



=== TEST 3: reject leaves unambiguous paths alone, encoded letters and query too
--- request eval
[ "GET /api/conversations/1",
  "GET /api/%63onversations/%31?next=%2F..%2Fusers",
  "GET /api/users/caf%C3%A9" ]
--- response_body eval
[ "messages GET /api/conversations/1\n",
  "messages GET /api/%63onversations/%31?next=%2F..%2Fusers\n",
  "monolith GET /api/users/caf%C3%A9\n" ]
--- no_error_log
[error]



=== TEST 4: normalize: the backend gets the path that was routed, with the query
--- config
    strangler_ambiguous_path normalize;
--- request eval
[ "DELETE /api/users/7/..%2F..%2Fconversations/1?force=1",
  "GET /api//users/./7",
  "GET /api/users/a%20b/../7%2Fx" ]
--- response_body eval
[ "messages DELETE /api/conversations/1?force=1\n",
  "monolith GET /api/users/7\n",
  "monolith GET /api/users/7/x\n" ]
--- no_error_log
[error]



=== TEST 5: normalize: the shadow copy gets the routed path too
--- config
    strangler_ambiguous_path normalize;
--- request
PUT /api/users/..%2Fconversations/9
x
--- response_body
messages PUT /api/conversations/9
--- wait: 0.3
--- error_log
shadow-seen PUT /api/conversations/9 shadow=1
--- no_error_log
[error]



=== TEST 6: normalize still refuses a backslash: nginx does not take it for a slash
--- config
    strangler_ambiguous_path normalize;
--- request eval
[ "GET /api/conversations/1%5C..%5C..%5Cusers%5C7",
  "GET /api//conversations/1\\x" ]
--- error_code eval
[ 400, 400 ]
--- error_log
, and has a backslash (strangler_ambiguous_path)
--- no_error_log
[error]



=== TEST 7: off: the raw path goes through, as plain proxy_pass sends it
--- config
    strangler_ambiguous_path off;
--- request
DELETE /api/users/7/..%2F..%2Fconversations/1
--- response_body
messages DELETE /api/users/7/..%2F..%2Fconversations/1
--- no_error_log
[error]



=== TEST 8: after an internal redirect the proxy sends $uri, which was routed
--- config
    location /old/ { try_files /nonexistent /api/conversations/1; }
--- request
GET /old//x/../y
--- response_body
messages GET /api/conversations/1
--- no_error_log
[error]



=== TEST 9: the mode is inherited and can be set per location
--- config
    strangler_ambiguous_path off;
    location /strict/ {
        strangler_ambiguous_path reject;
        strangler;
    }
--- request eval
[ "GET /api//users/1", "GET /strict//x" ]
--- error_code eval
[ 200, 400 ]
--- no_error_log
[error]



=== TEST 10: an unknown mode is refused
--- config
    strangler_ambiguous_path sometimes;
--- must_die
--- error_log
invalid value "sometimes"
