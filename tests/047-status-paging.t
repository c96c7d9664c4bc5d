# GET status on a large table: a summary by default over 1000 routes, pages
# with ?limit=&offset=, one route with ?route=, and 400 for bad values.
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * 49;

no_root_location();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location /_strangler/ { strangler_api; }
_EOC_

# 1005 routes: r1 .. r1005
our $Routes = ">>> routes.yaml\nversion: 1\ndefault: monolith\n"
    . "backends: { monolith: {} }\nroutes:\n"
    . join '', map { "  - name: r$_\n    paths: [\"/api/r$_/*\"]\n" }
                   1 .. 1005;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("user_files", $Routes)
        unless defined $block->user_files;
    $block->set_value("no_error_log", "[error]")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: over 1000 routes, a summary by default: no list
--- request
GET /_strangler/status
--- response_body_like eval
qr/\A\{\n  "table": \{.*\n  "routes_total": 1005,\n  "summary": \{\n    "overridden": 0,\n    "shadowed": 0,\n    "requests": 0,\n    "page_limit": 1000\n  \},\n  "default": \{.*"orphaned": \[\],\n  "zone_use": \{.*\},\n  "capture": null\n\}\n\z/s
--- response_body_unlike
"routes": \[



=== TEST 2: limit and offset: a page, and where the next one starts
--- request
GET /_strangler/status?limit=2&offset=10
--- response_body_like eval
qr/"routes_total": 1005,\n  "offset": 10,\n  "limit": 2,\n  "next_offset": 12,\n  "routes": \[\n    \{\n      "name": "r11",.*\n    \},\n    \{\n      "name": "r12",.*\n    \}\n  \],\n  "default"/s



=== TEST 3: the last page: next_offset null; limit defaults to 1000
--- request
GET /_strangler/status?offset=1004
--- response_body_like eval
qr/"offset": 1004,\n  "limit": 1000,\n  "next_offset": null,\n  "routes": \[\n    \{\n      "name": "r1005",(?!.*"name": "r).*\n  \],/s



=== TEST 4: an offset past the end: no routes
--- request
GET /_strangler/status?offset=5000&limit=10
--- response_body_like eval
qr/"offset": 5000,\n  "limit": 10,\n  "next_offset": null,\n  "routes": \[\],\n  "default"/



=== TEST 5: limit alone: the first page
--- request
GET /_strangler/status?limit=1
--- response_body_like eval
qr/"offset": 0,\n  "limit": 1,\n  "next_offset": 1,\n  "routes": \[\n    \{\n      "name": "r1",/



=== TEST 6: route=NAME: that route
--- request
GET /_strangler/status?route=r500
--- response_body_like eval
qr/"routes_total": 1005,\n  "routes": \[\n    \{\n      "name": "r500",\n      "stage": "\w+",\n      "split": \w+,\n      "paths": \[\n        "\/api\/r500\/\*"\n      \],(?!.*"name": "r).*\n  \],\n  "default"/s



=== TEST 7: route=NAME of no route: 404
--- request
GET /_strangler/status?route=r5000
--- error_code: 404
--- response_body_like eval
qr/no route \\"r5000\\"/



=== TEST 8: bad values: 400, saying what is expected
--- request eval
["GET /_strangler/status?limit=0",
 "GET /_strangler/status?limit=1001",
 "GET /_strangler/status?limit=ten",
 "GET /_strangler/status?offset=-1",
 "GET /_strangler/status?offset=1e3",
 "GET /_strangler/status?route=",
 "GET /_strangler/status?route=r1&limit=2",
 "GET /_strangler/status?route=r1&offset=0"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400]
--- response_body_like eval
[qr/"limit\\" must be a number from 1 to 1000/,
 qr/"limit\\" must be a number from 1 to 1000/,
 qr/"limit\\" must be a number from 1 to 1000, \\"offset\\" a number from 0/,
 qr/\\"offset\\" a number from 0/,
 qr/\\"offset\\" a number from 0/,
 qr/\\"route\\" must name a route/,
 qr/\\"route\\" goes alone/,
 qr/\\"route\\" goes alone/]



=== TEST 9: HEAD status: the headers only
--- request
HEAD /_strangler/status?limit=5
--- response_headers
Content-Type: application/json
--- response_body
