# The API: status, metrics, one route, explain, every bad call, access
# control, and the configurations nginx -t refuses.
use Test::Nginx::Socket;

# blocks change the zone (counters, overrides): each runs once
repeat_each(1);

plan tests => repeat_each() * 240;

no_root_location();
no_shuffle();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Reason $strangler_reason;
    }
    location @messages {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Reason $strangler_reason;
    }
    location /_strangler/ {
        allow 127.0.0.1;
        deny all;
        strangler_api;
    }
    location /_denied/ {
        deny all;
        strangler_api;
    }
_EOC_

our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: [/api/conversations, "/api/conversations/{id}"]
    owner: monolith
    reads: messages
    shadow: { to: monolith, sample: 0 }
  - name: users
    paths: ["/api/users/*"]
    methods: [GET, POST]
    reads: { messages: 10, monolith: 90 }
    sticky: header:X-User
_EOC_

# a whole Prometheus text format 0.0.4 exposition, line by line
our $Name = '[a-zA-Z_][a-zA-Z0-9_]*';
our $Prometheus = "\\A(?:(?:# HELP $Name [^\\n]+"
    . "|# TYPE $Name (?:counter|gauge|histogram)"
    . "|$Name(?:\\{$Name=\"[^\"\\n]*\"(?:,$Name=\"[^\"\\n]*\")*\\})?"
    . ' (?:[0-9]+(?:\.[0-9]+)?|\+Inf))\n)+\z';

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("user_files", $Routes)
        unless defined $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: status: the table, every route, the default
--- request
GET /_strangler/status
--- response_headers
Content-Type: application/json
--- response_body_like chomp
\A\{
  "table": \{
    "file": "/[^"]*/html/routes\.yaml",
    "sha256": "[0-9a-f]{64}",
    "loaded": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    "loaded_unix": \d+,
    "backends": \[
      "monolith",
      "messages"
    \]
  \},
  "zone": "strangler",
  "state_file": null,
  "routes_total": 2,
  "routes": \[
    \{
      "name": "conversations",
      "stage": "reads",
      "split": false,
      "paths": \[
        "/api/conversations",
        "/api/conversations/\{id\}"
      \],
      "methods": null,
      "configured": \{
        "owner": "monolith",
        "reads": "messages",
        "shadow": \{
          "to": "monolith",
          "sample": 0\.0
        \}
      \},
      "effective": \{
        "owner": "monolith",
        "reads": "messages",
        "shadow_sample": 0\.0
      \},
      "override": null,
      "counters": \{
        "backends": \{\},
        "shadow": \{
          "sent": 0,
          "dropped": 0,
          "timed_out": 0,
          "matched": 0,
          "mismatched": 0,
          "failed": 0,
          "not_compared": 0
        \},
        "shadow_skipped": \{
          "upgrade": 0,
          "connect": 0
        \}
      \}
    \},
    \{
      "name": "users",
.*
      "methods": \[
        "GET",
        "POST"
      \],
      "configured": \{
        "owner": "monolith",
        "reads": \{
          "messages": 10,
          "monolith": 90
        \},
        "shadow": null
      \},
.*
  "default": \{
    "name": "-",
    "backend": "monolith",
.*
  "orphaned": \[\],
  "zone_use": \{
    "size_bytes": \d+,
    "used_bytes": \d+,
    "alloc_failures": 0,
    "reclaimed_blocks": 0
  \},
  "shadow": \{
    "slots_per_worker": \d+,
    "in_flight": 0,
    "high_water": 0,
    "diff_log_dropped": 0
  \},
  "capture": null
\}\n\z
--- no_error_log
[error]



=== TEST 2: counters add up, per route and backend, and for the default
--- request eval
[
"GET /api/conversations/1",
"GET /api/conversations/2",
"HEAD /api/conversations",
"POST /api/conversations\nhello",
"DELETE /api/conversations/1",
"GET /api/conversations/404",
"GET /elsewhere",
"GET /_strangler/status",
]
--- response_body_like eval
[
"messages", "messages", "", "monolith", "monolith", "messages", "monolith",
'(?s)"name": "conversations".*?"counters": \{\s+"backends": \{'
. '(?=.*?"messages": \{\s+"requests": 4,\s+"responses": \{\s+"1xx": 0,'
. '\s+"2xx": 4,)'
. '(?=.*?"monolith": \{\s+"requests": 2,)'
. '.*"default": \{.*"monolith": \{\s+"requests": 1,'
. '.*"upstream_time": \{\s+"count": 1,'
]
--- no_error_log
[error]



=== TEST 3: metrics: Prometheus text format, series per route and backend
--- request eval
[
"GET /api/conversations/1",
"GET /api/conversations/2",
"POST /api/conversations\nhello",
"GET /_strangler/metrics",
"GET /_strangler/metrics",
"GET /_strangler/metrics",
]
--- response_headers eval
[
"", "", "",
"Content-Type: text/plain; version=0.0.4; charset=utf-8",
"", "",
]
--- response_body_like eval
[
"messages", "messages", "monolith",
$::Prometheus,
'(?m)^# TYPE strangler_requests_total counter$'
. '(?s:.*)^strangler_requests_total\{route="conversations",'
. 'backend="messages"\} 2$'
. '(?s:.*)^strangler_responses_total\{route="conversations",'
. 'backend="monolith",code="2xx"\} 1$',
'(?m)^# TYPE strangler_upstream_response_seconds histogram$'
. '(?s:.*)^strangler_upstream_response_seconds_bucket\{route="conversations",'
. 'backend="messages",le="\+Inf"\} 2$'
. '(?s:.*)^strangler_upstream_response_seconds_count\{route="conversations",'
. 'backend="messages"\} 2$'
. '(?s:.*)^strangler_shadow_requests_total\{route="conversations",'
. 'result="sent"\} 0$'
. '(?s:.*)^strangler_shadow_total\{route="conversations",'
. 'outcome="matched"\} 0$'
. '(?s:.*)^strangler_override\{route="conversations",reads="",owner="",'
. 'pending=""\} 0$',
]
--- no_error_log
[error]



=== TEST 4: one route
--- request
GET /_strangler/routes/users
--- response_body_like
\A\{\n  "name": "users",.*"effective": \{\s+"owner": "monolith",\s+"reads": \{\s+"messages": 10,\s+"monolith": 90\s+\},\s+"shadow_sample": null\s+\},\s+"override": null,
--- no_error_log
[error]



=== TEST 5: HEAD on status: headers only
--- request
HEAD /_strangler/status
--- response_headers
Content-Type: application/json
--- response_body
--- no_error_log
[error]



=== TEST 6: explain a read
--- request
GET /_strangler/explain?method=GET&path=/api/conversations/7
--- response_body
{
  "method": "GET",
  "path": "/api/conversations/7",
  "route": "conversations",
  "rule": "template",
  "backend": "messages",
  "location": "@messages",
  "reason": "template",
  "write": false,
  "override": false,
  "random": false,
  "shadow": null,
  "method_override": null
}
--- no_error_log
[error]



=== TEST 7: explain a write, an unmatched path, a URL-encoded path
--- request eval
[
"GET /_strangler/explain?method=DELETE&path=/api/conversations/7",
"GET /_strangler/explain?path=/nowhere",
"GET /_strangler/explain?path=%2Fapi%2Fconversations",
]
--- response_body_like eval
[
'"backend": "monolith",\s+"location": "@monolith",\s+"reason": "template",'
. '\s+"write": true,',
'"route": "-",\s+"rule": "default",\s+"backend": "monolith",'
. '.*"reason": "default",',
'"path": "/api/conversations",\s+"route": "conversations",'
. '\s+"rule": "exact",',
]
--- no_error_log
[error]



=== TEST 8: explain a weighted split: random without the sticky key
--- request eval
[
"GET /_strangler/explain?path=/api/users/1",
"GET /_strangler/explain?path=/api/users/1&header=X-User:42",
]
--- response_body_like eval
[
'"rule": "prefix",.*"reason": "split",.*"random": true,',
'"rule": "prefix",.*"reason": "split",.*"random": false,',
]
--- no_error_log
[error]



=== TEST 9: explain under live overrides, and the shadow
--- request eval
[
'PUT /_strangler/routes/conversations
{"shadow_sample": 25}',
"GET /_strangler/explain?path=/api/conversations/1",
'PUT /_strangler/routes/conversations
{"reads": "monolith"}',
"GET /_strangler/explain?path=/api/conversations/1",
]
--- response_body_like eval
[
'"override": \{\s+"shadow_sample": 25\.0,'
. '\s+"by": "127\.0\.0\.1",\s+"via": "api",\s+"at": "[-0-9T:]+Z"\s+\}',
'"backend": "messages",.*"reason": "template",.*"override": true,'
. '.*"shadow": \{\s+"to": "monolith",\s+"sample": 25\.0\s+\}',
'"override": \{\s+"reads": "monolith",\s+"shadow_sample": 25\.0,',
'"backend": "monolith",.*"reason": "override",.*"override": true,'
. '.*"shadow": null',
]
--- no_error_log
[error]



=== TEST 10: a change is logged with the client and both values
--- request
PUT /_strangler/routes/conversations
{"reads": "monolith"}
--- response_body_like
"override": \{\s+"reads": "monolith",
--- error_log eval
qr/\[notice\] .*strangler: route "conversations" overridden by 127\.0\.0\.1: override none -> \{"reads":"monolith","by":"127\.0\.0\.1","via":"api"\}, client: 127\.0\.0\.1/
--- no_error_log
[error]



=== TEST 11: a rollback is logged with the client and both values
--- request
POST /_strangler/routes/conversations/rollback
--- response_body_like chomp
\A\{\s+"rollback": \{\s+"result": "rolled back",\s+"changed": \{\s+"reads": \{\s+"from": "messages",\s+"to": "monolith"\s+\}\s+\}\s+\},\s+"name": "conversations",.*"override": \{\s+"reads": "monolith",\s+"by"
--- error_log eval
qr/\[notice\] .*strangler: route "conversations" rolled back by 127\.0\.0\.1: override none -> \{"reads":"monolith","by":"127\.0\.0\.1","via":"api"\}/
--- no_error_log
[error]



=== TEST 12: a rollback drops every override: the shadow's sample too
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"shadow_sample\": 25}",
  "POST /_strangler/routes/conversations/rollback" ]
--- response_body_like eval
[ '"override": \{\s+"shadow_sample": 25\.0,',
  '\A\{\s+"rollback": \{\s+"result": "rolled back",\s+"changed": \{\s+'
  . '"reads": \{\s+"from": "messages",\s+"to": "monolith"\s+\},\s+'
  . '"shadow_sample": \{\s+"from": 25\.0,\s+"to": 0\.0\s+\}\s+\}\s+\},'
  . '.*"override": \{\s+"reads": "monolith",\s+"by"' ]
--- no_error_log
[error]



=== TEST 13: a rollback pins a split's reads to the owner
--- request eval
[ "POST /_strangler/routes/users/rollback",
  "GET /api/users/1", "GET /api/users/2", "GET /api/users/3",
  "POST /_strangler/routes/users/rollback" ]
--- response_body_like eval
[ '\A\{\s+"rollback": \{\s+"result": "rolled back",\s+"changed": \{\s+'
  . '"reads": \{\s+"from": \{\s+"messages": 10,\s+"monolith": 90\s+\},\s+'
  . '"to": "monolith"\s+\}\s+\}\s+\},',
  "\\Amonolith GET ", "\\Amonolith GET ", "\\Amonolith GET ",
  '\A\{\s+"rollback": \{\s+"result": "nothing to roll back",\s+'
  . '"changed": \{\}\s+\},' ]
--- no_error_log
[error]



=== TEST 14: nothing to roll back: said and logged; the owner stays
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: orders
    paths: ["/api/orders/*"]
    owner: messages
--- request
POST /_strangler/routes/orders/rollback
--- response_body_like chomp
\A\{\s+"rollback": \{\s+"result": "nothing to roll back",\s+"changed": \{\}\s+\},\s+"name": "orders",.*"effective": \{\s+"owner": "messages",\s+"reads": "messages",.*"override": null,
--- error_log eval
qr/\[notice\] .*strangler: route "orders": nothing to roll back for 127\.0\.0\.1: reads are on the owner "messages"/
--- no_error_log
[error]



=== TEST 15: unknown route
--- request
PUT /_strangler/routes/nope
{"reads": "monolith"}
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body_like chomp
\A\{\n  "error": "no route \\"nope\\" in \\"[^"]*routes\.yaml\\""\n\}\n\z
--- no_error_log
[error]



=== TEST 16: unknown backend, malformed JSON, unknown field: 400
--- request eval
[
'PUT /_strangler/routes/conversations
{"reads": "mono"}',
'PUT /_strangler/routes/conversations
{"reads": "monolith",',
'PUT /_strangler/routes/conversations
{"reads": "monolith", "colour": "red"}',
'PUT /_strangler/routes/conversations
["monolith"]',
'PUT /_strangler/routes/conversations
{}',
'PUT /_strangler/routes/conversations
{"reads": "monolith", "reads": "messages"}',
"GET /_strangler/routes/conversations",
]
--- error_code eval
[400, 400, 400, 400, 400, 400, 200]
--- response_body_like eval
[
'"error": "\\\\"reads\\\\": unknown backend \\\\"mono\\\\""',
'"error": "malformed JSON: line 1, column \d+: ',
'"error": "unknown field \\\\"colour\\\\": expected ',
'"error": "the body must be a JSON object"',
'"error": "nothing to change: ',
'"error": "malformed JSON: .*duplicate',
'"override": null,',
]
--- no_error_log
[error]



=== TEST 17: the owner rule: no split, no writes field, sample bounds
--- request eval
[
'PUT /_strangler/routes/conversations
{"reads": {"messages": 50, "monolith": 50}}',
'PUT /_strangler/routes/conversations
{"writes": "messages"}',
'PUT /_strangler/routes/conversations
{"shadow_sample": 100.5}',
'PUT /_strangler/routes/users
{"shadow_sample": 5}',
'PUT /_strangler/routes/conversations
{"owner": 7}',
"GET /_strangler/routes/conversations",
]
--- error_code eval
[400, 400, 400, 400, 400, 200]
--- response_body_like eval
[
'"error": "\\\\"reads\\\\" must name one backend: an override does not split traffic"',
'"error": "writes always go to the owner: set \\\\"owner\\\\" to move them"',
'"error": "\\\\"shadow_sample\\\\" must be a number from 0 to 100 or null"',
'"error": "route \\\\"users\\\\" has no shadow to sample"',
'"error": "\\\\"owner\\\\" must be a backend name or null"',
'"override": null,',
]
--- no_error_log
[error]



=== TEST 18: wrong method: 405 with Allow
--- request eval
[
"POST /_strangler/routes/conversations",
"DELETE /_strangler/status",
"GET /_strangler/routes/conversations/rollback",
]
--- error_code eval
[405, 405, 405]
--- response_headers eval
[
"Allow: GET, HEAD, PUT, DELETE",
"Allow: GET, HEAD",
"Allow: POST",
]
--- response_body_like eval
[
'"error": "POST is not allowed on \\\\"routes/conversations\\\\": use GET, HEAD, PUT, DELETE"',
'"error": "DELETE is not allowed',
'"error": "GET is not allowed',
]
--- no_error_log
[error]



=== TEST 19: a body over the limit: 413, by length or once read
--- request eval
[
"PUT /_strangler/routes/conversations\n{\"reads\": \"" . ("m" x 5000) . "\"}",
"GET /_strangler/routes/conversations",
]
--- error_code eval
[413, 200]
--- response_body_like eval
[
'"error": "the body is over 4096 bytes"',
'"override": null,',
]
--- no_error_log
[error]



=== TEST 20: a chunked body over the limit
--- raw_request eval
"PUT /_strangler/routes/conversations HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
1400\r
" . ("m" x 5120) . "\r
0\r
\r
"
--- error_code: 413
--- response_body_like
"error": "the body is over 4096 bytes"
--- no_error_log
[error]



=== TEST 21: unknown API calls and a bad explain
--- request eval
[
"GET /_strangler/",
"GET /_strangler/routes",
"GET /_strangler/routes/",
"GET /_strangler/explain?method=GET",
"GET /_strangler/explain?path=/x&colour=red",
"GET /_strangler/explain?path=/x&header=nocolon",
]
--- error_code eval
[404, 404, 404, 400, 400, 400]
--- response_body_like eval
[
'"error": "no such API call: \\\\"\\\\""',
'"error": "no such API call: \\\\"routes\\\\""',
'"error": "no such API call: \\\\"routes/\\\\""',
'"error": "explain needs path=/..."',
'"error": "unknown parameter \\\\"colour\\\\"',
'"error": "header=\\\\"nocolon\\\\": expected Name:value',
]
--- no_error_log
[error]



=== TEST 22: a denied client gets 403
--- request
GET /_denied/status
--- error_code: 403
--- response_body_like chomp
403 Forbidden
--- error_log
access forbidden by rule



=== TEST 23: nginx -t: the API needs a route table in scope
--- config
    location /_strangler/ { strangler_api; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"strangler_api" needs a route table: no "strangler_routes" applies to it/



=== TEST 24: nginx -t: the API needs a zone
--- http_config
--- config
    strangler_routes ../html/routes.yaml;
    location /_strangler/ { strangler_api; }
--- must_die
--- error_log eval
qr/\[emerg\] .*"strangler_api" needs a "strangler_zone" in the http block/



=== TEST 25: nginx -t: a duplicate zone
--- http_config
    strangler_zone strangler 1m;
    strangler_zone other 1m;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"strangler_zone" directive is duplicate/



=== TEST 26: nginx -t: a zone too small, a bad size
--- http_config
    strangler_zone strangler 4k;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*zone "strangler" is too small/



=== TEST 27: the API in a location without a trailing slash
--- config
    strangler_routes ../html/routes.yaml;
    location /_strangler { strangler_api; }
--- request
GET /_strangler/routes/conversations
--- response_body_like
"name": "conversations",
--- no_error_log
[error]



=== TEST 28: a route name that is not UTF-8: 404 naming it as in the URL
Every call on routes/NAME, and a call of no API, answer a JSON error
(they answered 500 with nothing logged: the name did not fit in JSON).
--- request eval
[ "PUT /_strangler/routes/it%ffems\n{\"reads\": \"messages\"}",
  "GET /_strangler/routes/it%ffems",
  "DELETE /_strangler/routes/it%FFems",
  "POST /_strangler/routes/it%ffems/rollback",
  "POST /_strangler/routes/it%ffems/guard/rearm",
  "GET /_strangler/routes/it%ffems/diffs",
  "DELETE /_strangler/routes/it%e2%82ems/diffs",
  "GET /_strangler/routes/it%e2%82%acms",
  "GET /_strangler/st%c0%aftus" ]
--- error_code eval
[ (404) x 9 ]
--- response_body_like eval
[ ('\A\{\n  "error": "no route \\\\"it%FFems\\\\" in '
   . '\\\\"[^"]*routes\.yaml\\\\""\n\}\n\z') x 6,
  '"error": "no route \\\\"it%E2%82ems\\\\" in ',
  '"error": "no route \\\\"it\x{e2}\x{82}\x{ac}ms\\\\" in ',
  '\A\{\n  "error": "no such API call: \\\\"st%C0%AFtus\\\\""\n\}\n\z' ]
--- no_error_log
[error]
