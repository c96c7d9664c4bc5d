# The dashboard's side of the API: `GET progress` (stages from the table
# and the overrides, requests served by legacy and new services), the
# progress gauges in the metrics, the page itself (for a browser opening
# the location, and at `dashboard`, with its Content-Security-Policy), and
# `GET access`, which asks nginx's own access rules whether a write would
# pass.  tests/071-dashboard-browser.t drives the page in Chromium.
use Test::Nginx::Socket;

# blocks change the zone (counters, overrides): each runs once
repeat_each(1);

plan tests => repeat_each() * 125;

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

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location /_strangler/ {
        allow 127.0.0.1;
        deny all;
        strangler_api;
    }
    location /_view/ {
        limit_except GET { deny all; }
        strangler_api;
    }
_EOC_

# one route in each stage, and a split
our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
  - name: inbox
    paths: ["/api/inbox/*"]
    owner: monolith
    shadow: { to: messages, sample: 100, compare: status }
  - name: conversations
    paths: ["/api/conversations/*"]
    owner: monolith
    reads: messages
  - name: search
    paths: ["/api/search/*"]
    owner: monolith
    reads: { messages: 10, monolith: 90 }
  - name: health
    paths: [/healthz]
    owner: messages
_EOC_

# 3 requests in the history's last two steps: a step may end among them
our $Last3 = '\s+(?:0,\s+3|1,\s+2|2,\s+1|3,\s+0)';

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

=== TEST 1: progress: routes by stage, nothing served yet
--- request
GET /_strangler/progress
--- response_headers
Content-Type: application/json
--- response_body_like chomp
\A\{
  "legacy": "monolith",
  "routes": \{
    "legacy": 1,
    "shadowing": 1,
    "reads": 2,
    "owned": 1,
    "total": 5,
    "split": 1,
    "overridden": 0
  \},
  "requests": \{
    "since_start": \{
      "seconds": \d+,
      "legacy": 0,
      "new": 0,
      "new_share": null,
      "since": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    \},
    "last_minute": \{
      "seconds": \d+,
      "legacy": 0,
      "new": 0,
      "new_share": null
    \}
  \},
  "history": \{
    "start_unix": \d+,
    "step": 5,
    "legacy": \[(?:\s+0,){119}\s+0\s+\],
    "new": \[(?:\s+0,){119}\s+0\s+\]
  \}
\}
\z
--- no_error_log
[error]



=== TEST 2: progress: requests by who served them, since the start, in the last minute and in the history
--- request eval
[
"GET /api/conversations/1",
"GET /api/conversations/2",
"POST /api/conversations/3\nx",
"GET /healthz",
"GET /api/users/1",
"GET /elsewhere",
"GET /_strangler/progress",
]
--- response_body_like eval
[
"messages", "messages", "monolith", "messages", "monolith", "monolith",
'"since_start": \{\s+"seconds": \d+,\s+"legacy": 3,\s+"new": 3,'
. '\s+"new_share": 0\.5,.*'
. '"last_minute": \{\s+"seconds": \d+,\s+"legacy": 3,\s+"new": 3,'
. '\s+"new_share": 0\.5\s+\}.*'
. '"legacy": \[(?:\s+0,)+' . $::Last3 . '\s+\],'
. '\s+"new": \[(?:\s+0,)+' . $::Last3 . '\s+\]'
]
--- no_error_log
[error]



=== TEST 3: status: each route says its stage
--- request
GET /_strangler/status
--- response_body_like eval
CORE::join '.*', map { "\"name\": \"$_->[0]\",\\s+\"stage\": \"$_->[1]\","
                 . "\\s+\"split\": $_->[2]," }
     [users => legacy => 'false'], [inbox => shadowing => 'false'],
     [conversations => reads => 'false'], [search => reads => 'true'],
     [health => owned => 'false']
--- no_error_log
[error]



=== TEST 4: overrides move stages: reads moved, owner moved, rolled back, a shadow sampled at 0
--- request eval
[
"PUT /_strangler/routes/users\n{\"reads\": \"messages\"}",
"PUT /_strangler/routes/conversations\n{\"owner\": \"messages\"}",
"POST /_strangler/routes/conversations/rollback",
"PUT /_strangler/routes/inbox\n{\"shadow_sample\": 0}",
"GET /_strangler/progress",
"GET /_strangler/routes/users",
]
--- response_body_like eval
[
'"stage": "reads"', '"stage": "owned"', '"stage": "legacy"',
'"stage": "legacy"',
'"routes": \{\s+"legacy": 2,\s+"shadowing": 0,\s+"reads": 2,\s+"owned": 1,'
. '\s+"total": 5,\s+"split": 1,\s+"overridden": 3\s+\}',
'"stage": "reads"',
]
--- no_error_log
[error]



=== TEST 5: metrics: the progress gauges, a share only once there are requests
--- request eval
[
"GET /_strangler/metrics",
"GET /api/conversations/1",
"GET /api/users/1",
"GET /api/users/2",
"GET /_strangler/metrics",
]
--- response_body_like eval
[
'(?s)\A(?!.*strangler_new_service_share\{).*'
. '# TYPE strangler_routes gauge\n'
. 'strangler_routes\{stage="legacy"\} 1\n'
. 'strangler_routes\{stage="shadowing"\} 1\n'
. 'strangler_routes\{stage="reads"\} 2\n'
. 'strangler_routes\{stage="owned"\} 1\n.*'
. 'strangler_routes_split 1\n.*'
. 'strangler_routes_overridden 0\n.*'
. 'strangler_served_total\{by="legacy"\} 0\n'
. 'strangler_served_total\{by="new"\} 0\n.*'
. 'strangler_zone_start_time_seconds \d+\n',
"messages", "monolith", "monolith",
'(?s)strangler_served_total\{by="legacy"\} 2\n'
. 'strangler_served_total\{by="new"\} 1\n.*'
. 'strangler_new_service_share\{window="1m"\} 0\.3333\n'
. 'strangler_new_service_share\{window="zone"\} 0\.3333\n'
]
--- no_error_log
[error]



=== TEST 6: a browser opening the location gets the page, with a strict CSP that names the inline script and style by hash
--- request
GET /_strangler/
--- more_headers
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8
--- response_headers_like eval
"Content-Type: text/html; charset=utf-8
Content-Security-Policy: default-src 'none'; "
. "script-src 'sha256-[A-Za-z0-9+/]{43}='; "
. "style-src 'sha256-[A-Za-z0-9+/]{43}='; connect-src 'self'; "
. "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
. "frame-ancestors 'none'
X-Content-Type-Options: nosniff
Vary: Accept"
--- response_body_like chomp
(?s)\A<!doctype html>.*<style>.*</style>.*<script>.*"use strict";.*</script>\n</body>\n</html>\n\z
--- no_error_log
[error]



=== TEST 7: other clients get JSON at the location, as before; the page is also at `dashboard`
--- request eval
[
"GET /_strangler/",
"GET /_strangler/dashboard",
"POST /_strangler/dashboard",
]
--- error_code eval
[404, 200, 405]
--- response_body_like eval
[
'\{\s+"error": "no such API call: \\\\"\\\\""\s+\}',
'<!doctype html>',
'"error": "POST is not allowed on \\\\"dashboard\\\\": use GET, HEAD"',
]
--- no_error_log
[error]



=== TEST 8: access: a client whose writes nginx lets through is told so, for each write method
--- request eval
[
"GET /_strangler/access",
"GET /_strangler/access?method=PUT",
"GET /_strangler/access?method=DELETE",
"PUT /_strangler/access",
]
--- response_body_like eval
[
'\A\{\s+"method": "POST",\s+"allowed": true\s+\}\n\z',
'\A\{\s+"method": "PUT",\s+"allowed": true\s+\}\n\z',
'\A\{\s+"method": "DELETE",\s+"allowed": true\s+\}\n\z',
'\A\{\s+"method": "PUT",\s+"allowed": true\s+\}\n\z',
]
--- no_error_log
[error]



=== TEST 9: access: where limit_except denies writes, nginx answers the probe as it would the write
--- request eval
[
"GET /_view/access",
"GET /_view/access?method=PUT",
"PUT /_view/routes/users\n{\"reads\": \"messages\"}",
]
--- error_code eval
[403, 403, 403]
--- response_body_like eval
['403 Forbidden', '403 Forbidden', '403 Forbidden']
--- error_log
access forbidden by rule



=== TEST 10: access: only write methods can be asked about
--- request
GET /_strangler/access?method=GET
--- error_code: 400
--- response_body_like chomp
"error": "\\"method\\" must be POST, PUT or DELETE, not \\"GET\\""
--- no_error_log
[error]



=== TEST 11: auth_basic on writes (limit_except): the probe gets the 401 a write would get; with the password, writes reach the API
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200; }
    location @messages { return 200; }
    location /_strangler/ {
        limit_except GET {
            auth_basic "strangler writes";
            auth_basic_user_file ../html/htpasswd;
        }
        strangler_api;
    }
--- user_files eval
$::Routes . ">>> htpasswd\nsre:{PLAIN}secret\n"
--- request eval
[
"GET /_strangler/access",
"GET /_strangler/access?method=PUT",
"PUT /_strangler/routes/users\n{\"reads\": \"messages\"}",
]
--- more_headers eval
["", "Authorization: Basic c3JlOnNlY3JldA==",
"Authorization: Basic c3JlOnNlY3JldA=="]
--- error_code eval
[401, 200, 200]
--- response_body_like eval
['401 Authorization Required', '"allowed": true', '"stage": "reads"']
--- no_error_log
[error]



=== TEST 12: progress/routes: every route on one line, with its stage, override, requests and 5xx by backend, shadow outcomes
--- request eval
[
"GET /_strangler/progress/routes",
"GET /api/conversations/1",
"POST /api/conversations/1\nx",
"PUT /_strangler/routes/users\n{\"reads\": \"messages\"}",
"GET /_strangler/progress/routes",
]
--- response_body_like eval
[
'\A\{"sha256":"[0-9a-f]{64}","overrides":0,"routes":\[
\{"name":"users","stage":"legacy","split":false,"override":false,"backends":\{\},"shadow":\[0,0\]\},
\{"name":"inbox","stage":"shadowing",.*
\{"name":"health","stage":"owned","split":false,"override":false,"backends":\{\},"shadow":\[0,0\]\}
\]\}
\z',
"messages", "monolith", '"stage": "reads"',
'\A\{"sha256":"[0-9a-f]{64}","overrides":1,"routes":\[
\{"name":"users","stage":"reads","split":false,"override":true,"backends":\{\},"shadow":\[0,0\]\},
.*
\{"name":"conversations","stage":"reads","split":false,"override":false,"backends":\{"monolith":\[1,0\],"messages":\[1,0\]\},"shadow":\[0,0\]\},
.*\]\}
\z',
]
--- no_error_log
[error]
