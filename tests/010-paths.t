# Path forms and their precedence: exact, template, regex, prefix, default.
use Test::Nginx::Socket;

plan tests => repeat_each() * 139;

no_root_location();
no_shuffle();

# two backends that say who they are, what they got, and the body they read
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

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends) unless $block->http_config;
    $block->set_value("config", $Front) unless $block->config;
});

run_tests();

__DATA__

=== TEST 1: an exact path
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: list
    paths: [/api/conversations]
    reads: messages
--- request
GET /api/conversations
--- response_body
messages GET /api/conversations
--- response_headers
X-Route: list
X-Reason: exact
--- no_error_log
[error]



=== TEST 2: exact paths do not match below themselves
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: list
    paths: [/api/conversations]
    reads: messages
--- request
GET /api/conversations/1
--- response_body
monolith GET /api/conversations/1
--- response_headers
X-Route: -
X-Reason: default
--- no_error_log
[error]



=== TEST 3: a template matches exactly one segment
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: one
    paths: ["/api/conversations/{id}"]
    reads: messages
--- request eval
["GET /api/conversations/42", "GET /api/conversations/42/messages"]
--- response_body eval
["messages GET /api/conversations/42\n",
 "monolith GET /api/conversations/42/messages\n"]
--- response_headers eval
["X-Route: one\nX-Reason: template", "X-Route: -\nX-Reason: default"]
--- no_error_log
[error]



=== TEST 4: a trailing * is a prefix, which does not match its parent
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: sub
    paths: ["/api/conversations/{id}/*"]
    reads: messages
--- request eval
["GET /api/conversations/7/messages/3", "GET /api/conversations/7/",
 "GET /api/conversations/7"]
--- response_body eval
["messages GET /api/conversations/7/messages/3\n",
 "messages GET /api/conversations/7/\n",
 "monolith GET /api/conversations/7\n"]
--- response_headers eval
["X-Route: sub\nX-Reason: prefix", "X-Route: sub\nX-Reason: prefix",
 "X-Route: -\nX-Reason: default"]
--- no_error_log
[error]



=== TEST 5: a regex, and "~*" ignores case
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: inbox
    paths: ["~ ^/api/users/[0-9]+/inbox$", "~* ^/legacy/INBOX$"]
    reads: messages
--- request eval
["GET /api/users/12/inbox", "GET /api/users/ab/inbox",
 "GET /Legacy/Inbox"]
--- response_body eval
["messages GET /api/users/12/inbox\n",
 "monolith GET /api/users/ab/inbox\n",
 "messages GET /Legacy/Inbox\n"]
--- response_headers eval
["X-Route: inbox\nX-Reason: regex", "X-Route: -\nX-Reason: default",
 "X-Route: inbox\nX-Reason: regex"]
--- no_error_log
[error]



=== TEST 6: exact beats template beats regex beats prefix
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: wide
    paths: ["/api/*"]
  - name: re
    paths: ["~ ^/api/[a-z]+/[0-9]+$"]
    reads: messages
  - name: tpl
    paths: ["/api/things/{id}"]
  - name: lit
    paths: ["/api/things/1"]
    reads: messages
--- request eval
["GET /api/things/1", "GET /api/things/2", "GET /api/other/3",
 "GET /api/other/x"]
--- response_body eval
["messages GET /api/things/1\n", "monolith GET /api/things/2\n",
 "messages GET /api/other/3\n", "monolith GET /api/other/x\n"]
--- response_headers eval
["X-Route: lit\nX-Reason: exact", "X-Route: tpl\nX-Reason: template",
 "X-Route: re\nX-Reason: regex", "X-Route: wide\nX-Reason: prefix"]
--- no_error_log
[error]



=== TEST 7: between templates, a literal segment first wins
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: late_literal
    paths: ["/a/{y}/c"]
  - name: early_literal
    paths: ["/a/b/{x}"]
    reads: messages
--- request eval
["GET /a/b/c", "GET /a/z/c"]
--- response_body eval
["messages GET /a/b/c\n", "monolith GET /a/z/c\n"]
--- response_headers eval
["X-Route: early_literal", "X-Route: late_literal"]
--- no_error_log
[error]



=== TEST 8: regexes match in file order
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: first
    paths: ["~ ^/r/[0-9]+"]
    reads: messages
  - name: second
    paths: ["~ ^/r/1"]
--- request
GET /r/123
--- response_body
messages GET /r/123
--- response_headers
X-Route: first
X-Reason: regex
--- no_error_log
[error]



=== TEST 9: the longest prefix wins
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: api
    paths: ["/api/*"]
  - name: v2
    paths: ["/api/v2/*"]
    reads: messages
--- request eval
["GET /api/v2/x/y", "GET /api/v1/x"]
--- response_body eval
["messages GET /api/v2/x/y\n", "monolith GET /api/v1/x\n"]
--- response_headers eval
["X-Route: v2", "X-Route: api"]
--- no_error_log
[error]



=== TEST 10: a regex carves an endpoint out of a broad prefix
--- user_files
>>> routes.yaml
version: 1
default: messages
backends: { monolith: {}, messages: {} }
routes:
  - name: everything_new
    paths: ["/*"]
    reads: messages
    owner: messages
  - name: reports_stay
    paths: ["~ ^/reports/[0-9]+\\.pdf$"]
    owner: monolith
--- request eval
["GET /reports/2024.pdf", "GET /reports/2024.csv"]
--- response_body eval
["monolith GET /reports/2024.pdf\n", "messages GET /reports/2024.csv\n"]
--- response_headers eval
["X-Route: reports_stay", "X-Route: everything_new"]
--- no_error_log
[error]



=== TEST 11: a trailing slash is part of an exact path
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: slash
    paths: ["/api/inbox/"]
    reads: messages
--- request eval
["GET /api/inbox/", "GET /api/inbox"]
--- response_body eval
["messages GET /api/inbox/\n", "monolith GET /api/inbox\n"]
--- response_headers eval
["X-Route: slash", "X-Route: -"]
--- no_error_log
[error]



=== TEST 12: the query string is ignored for matching and passed on
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: list
    paths: [/api/conversations]
    reads: messages
--- request
GET /api/conversations?page=2&q=/api/x
--- response_body
messages GET /api/conversations?page=2&q=/api/x
--- response_headers
X-Route: list
X-Reason: exact
--- no_error_log
[error]



=== TEST 13: matching sees the path after nginx decodes and normalises it
--- http_config eval
"strangler_ambiguous_path normalize;\n" . $::Backends
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: one
    paths: ["/api/conversations/{id}"]
    reads: messages
--- request eval
["GET /api/conversation%73/9", "GET /api/inbox/../conversations/9",
 "GET //api//conversations/9"]
--- response_body_like eval
["^messages GET /api/conversation%73/9\$",
 "^messages GET /api/conversations/9\$",
 "^messages GET /api/conversations/9\$"]
--- response_headers eval
["X-Route: one", "X-Route: one", "X-Route: one"]
--- no_error_log
[error]



=== TEST 14: the root path and a catch-all prefix
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: home
    paths: [/]
    reads: messages
  - name: rest
    paths: ["/*"]
--- request eval
["GET /", "GET /anything"]
--- response_body eval
["messages GET /\n", "monolith GET /anything\n"]
--- response_headers eval
["X-Route: home\nX-Reason: exact", "X-Route: rest\nX-Reason: prefix"]
--- no_error_log
[error]



=== TEST 15: a backend's location can be named in the table
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends:
  monolith: {}
  messages: { location: "@messages_v2" }
routes:
  - name: list
    paths: [/api/conversations]
    reads: messages
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages_v2 {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Route $strangler_route;
        add_header X-Reason $strangler_reason;
    }
--- request
GET /api/conversations
--- response_body
messages GET /api/conversations
--- response_headers
X-Route: list
X-Reason: exact
--- no_error_log
[error]
