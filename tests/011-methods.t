# Methods: reads and writes, method filters, the force header.
use Test::Nginx::Socket;

plan tests => repeat_each() * 128;

no_root_location();
no_shuffle();

our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    strangler_force_header X-Strangler-Backend;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Route $strangler_route;
        add_header X-Reason $strangler_reason;
    }
    location @messages {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Route $strangler_route;
        add_header X-Reason $strangler_reason;
    }
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations", "/api/conversations/{id}"]
    owner: monolith
    reads: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends) unless $block->http_config;
    $block->set_value("config", $Front) unless $block->config;
    $block->set_value("user_files", $Table) unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: reads go to `reads`, writes to the owner
--- request eval
["GET /api/conversations/1", "POST /api/conversations\nhello",
 "PUT /api/conversations/1\nx", "DELETE /api/conversations/1",
 "PATCH /api/conversations/1\ny"]
--- response_body eval
["messages GET /api/conversations/1\n",
 "monolith POST /api/conversations\n",
 "monolith PUT /api/conversations/1\n",
 "monolith DELETE /api/conversations/1\n",
 "monolith PATCH /api/conversations/1\n"]
--- response_headers eval
["X-Route: conversations\nX-Reason: template",
 "X-Route: conversations\nX-Reason: exact",
 "X-Route: conversations", "X-Route: conversations",
 "X-Route: conversations"]
--- no_error_log
[error]



=== TEST 2: HEAD and OPTIONS are reads
--- request eval
["HEAD /api/conversations/1", "OPTIONS /api/conversations/1"]
--- response_body eval
["", "messages OPTIONS /api/conversations/1\n"]
--- response_headers eval
["X-Route: conversations", "X-Route: conversations"]
--- no_error_log
[error]



=== TEST 3: a method filter limits a route; others fall through to default
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: read_only
    paths: ["/api/inbox"]
    methods: [GET, HEAD]
    owner: messages
--- request eval
["GET /api/inbox", "POST /api/inbox\nx"]
--- response_body eval
["messages GET /api/inbox\n", "monolith POST /api/inbox\n"]
--- response_headers eval
["X-Route: read_only\nX-Reason: exact", "X-Route: -\nX-Reason: default"]
--- no_error_log
[error]



=== TEST 4: on one pattern, the route listing the method beats the one without
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: all_methods
    paths: ["/api/notes/{id}"]
    owner: monolith
  - name: deletes_moved
    paths: ["/api/notes/{id}"]
    methods: [DELETE]
    owner: messages
--- request eval
["DELETE /api/notes/5", "GET /api/notes/5", "PUT /api/notes/5\nz"]
--- response_body eval
["messages DELETE /api/notes/5\n", "monolith GET /api/notes/5\n",
 "monolith PUT /api/notes/5\n"]
--- response_headers eval
["X-Route: deletes_moved", "X-Route: all_methods", "X-Route: all_methods"]
--- no_error_log
[error]



=== TEST 5: a method mismatch falls through to the next kind of pattern
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: exact_get
    paths: ["/api/items/1"]
    methods: [GET]
    owner: messages
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    reads: messages
--- request eval
["GET /api/items/1", "POST /api/items/1\nq", "GET /api/items/2"]
--- response_body eval
["messages GET /api/items/1\n", "monolith POST /api/items/1\n",
 "messages GET /api/items/2\n"]
--- response_headers eval
["X-Route: exact_get\nX-Reason: exact", "X-Route: items\nX-Reason: prefix",
 "X-Route: items\nX-Reason: prefix"]
--- no_error_log
[error]



=== TEST 6: the force header pins a read
--- request
GET /api/conversations/1
--- more_headers
X-Strangler-Backend: monolith
--- response_body
monolith GET /api/conversations/1
--- response_headers
X-Route: conversations
X-Reason: force
--- no_error_log
[error]



=== TEST 7: the force header is ignored on a write, and the attempt logged
--- request
POST /api/conversations
hello
--- more_headers
X-Strangler-Backend: messages
--- response_body
monolith POST /api/conversations
--- response_headers
X-Route: conversations
X-Reason: exact
--- error_log
"X-Strangler-Backend: messages" ignored on a write: POST goes to the owner "monolith"
--- no_error_log
[error]



=== TEST 8: a force header naming no backend changes nothing
--- request
GET /api/conversations/1
--- more_headers
X-Strangler-Backend: nosuch
--- response_body
messages GET /api/conversations/1
--- response_headers
X-Reason: template
--- error_log
force header names no backend "nosuch"
--- no_error_log
[error]



=== TEST 9: without strangler_force_header the header means nothing
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
--- request
GET /api/conversations/1
--- more_headers
X-Strangler-Backend: monolith
--- response_body
messages GET /api/conversations/1
--- no_error_log
[error]



=== TEST 10: the variables in the access log
--- http_config eval
$::Backends . q{
    log_format strangler "$request_uri $strangler_route $strangler_backend "
                         "$strangler_reason $strangler_shadow";
}
--- config
    strangler_routes ../html/routes.yaml;
    access_log logs/strangler.log strangler;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location = /log {
        access_log off;
        alias logs/strangler.log;
    }
--- request eval
["GET /api/conversations/3", "POST /api/conversations\nx", "GET /other",
 "GET /log"]
--- response_body eval
["messages GET /api/conversations/3\n", "monolith POST /api/conversations\n",
 "monolith GET /other\n",
 "/api/conversations/3 conversations messages template -\n"
 . "/api/conversations conversations monolith exact -\n"
 . "/other - monolith default -\n"]
--- no_error_log
[error]



=== TEST 11: the force header pins a read on a path no route matches
--- request
GET /nowhere
--- more_headers
X-Strangler-Backend: messages
--- response_body
messages GET /nowhere
--- response_headers
X-Route: -
X-Reason: force
--- no_error_log
[error]



=== TEST 12: ... but not a write
--- request
POST /nowhere
x
--- more_headers
X-Strangler-Backend: messages
--- response_body
monolith POST /nowhere
--- response_headers
X-Route: -
X-Reason: default
--- error_log
ignored on a write: POST goes to the owner "monolith"
--- no_error_log
[error]



=== TEST 13: with if=, the force header is honoured when the condition holds
--- http_config eval
$::Backends . q{
    geo $test_network { default 0; 127.0.0.0/8 1; }
}
--- config eval
$::Front =~ s/(strangler_force_header X-Strangler-Backend)/$1 if=\$test_network/r
--- request
GET /api/conversations/1
--- more_headers
X-Strangler-Backend: monolith
--- response_body
monolith GET /api/conversations/1
--- response_headers
X-Route: conversations
X-Reason: force
--- no_error_log
[error]



=== TEST 14: ... and ignored when it does not ("0" or empty)
--- http_config eval
$::Backends . q{
    geo $test_network { default 0; 10.0.0.0/8 1; }
    map $http_x_team $team_test { default ""; qa yes; }
}
--- config eval
$::Front =~ s/strangler_force_header X-Strangler-Backend;//r . q{
    location /geo/ {
        rewrite ^/geo(/.*) $1 break;
        strangler_force_header X-Strangler-Backend if=$test_network;
        strangler;
    }
    location /team/ {
        rewrite ^/team(/.*) $1 break;
        strangler_force_header X-Strangler-Backend if=$team_test;
        strangler;
    }
}
--- request eval
["GET /geo/api/conversations/1", "GET /team/api/conversations/1",
 "GET /team/api/conversations/1"]
--- more_headers eval
["X-Strangler-Backend: monolith", "X-Strangler-Backend: monolith",
 "X-Strangler-Backend: monolith\nX-Team: qa"]
--- response_body eval
["messages GET /api/conversations/1\n", "messages GET /api/conversations/1\n",
 "monolith GET /api/conversations/1\n"]
--- response_headers eval
["X-Reason: template", "X-Reason: template", "X-Reason: force"]
--- no_error_log
[error]



=== TEST 15: a parameter other than if= is refused
--- config eval
$::Front =~ s/(strangler_force_header X-Strangler-Backend)/$1 when=1/r
--- must_die
--- error_log
invalid parameter "when=1": expected "if=CONDITION"
