# Hostile and careless inputs: tables whose aliases multiply, nesting that
# libyaml would take minutes over, a FIFO for a table, paths no request can
# have, a string version, strangler_api where it cannot work, and a route
# regex that backtracks without end.  Each one bounded, refused at nginx -t
# with its file:line:col, or answered as the next rule.
use Test::Nginx::Socket;
use File::Temp qw(tempdir);
use POSIX qw(mkfifo);

# blocks count in the zone: each runs once
repeat_each(1);

plan tests => repeat_each() * 43;

no_root_location();

# a route table that is a FIFO nobody writes to
my $fifo_dir = tempdir(CLEANUP => 1);
mkfifo("$fifo_dir/routes.yaml", 0600) or die "mkfifo: $!";
$ENV{TEST_NGINX_FIFO} = "$fifo_dir/routes.yaml";

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

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Route $strangler_route;
    }
    location @messages {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Route $strangler_route;
    }
    location /_strangler/ { strangler_api; }
_EOC_

our $Head = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
_EOC_

our $A200 = 'a' x 200;

our $Backtrack = <<'_EOT_';
routes:
  - name: backtrack
    paths: ['~ ^/api/(.*a){10,14}$']
    reads: messages
  - name: next
    paths: ['~ ^/api/']
_EOT_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Front) unless defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: aliases that would make 2.9 million paths of 60 KB stop at the limit
--- user_files eval
">>> routes.yaml\n$::Head" . "routes:\n  - {name: r0, paths: &p ["
. CORE::join(", ", map { "/p$_" } 0 .. 1699) . "]}\n"
. CORE::join("", map { "  - {name: r$_, paths: *p}\n" } 1 .. 1699)
--- must_die
--- error_log
routes.yaml:64:24: YAML: aliases stand for more than 100000 nodes in all; write these values out



=== TEST 2: a flow sequence 200,000 deep stops at 64 levels
--- user_files eval
">>> routes.yaml\n$::Head" . "routes: " . "[" x 200000 . "]" x 200000
. "\n"
--- must_die
--- error_log
routes.yaml:4:72: YAML: collections nested deeper than 64



=== TEST 3: a FIFO is refused, not waited on
--- config
    strangler_routes $TEST_NGINX_FIFO;
    location / { strangler; }
    location @monolith { return 200; }
    location @messages { return 200; }
--- must_die
--- error_log
routes.yaml: cannot open: not a regular file



=== TEST 4: paths that no normalised request path can be
--- user_files eval
">>> routes.yaml\n$::Head" . <<'_EOT_'
routes:
  - name: x
    paths:
      - /a//b
      - /a/../b
      - /a/./b
      - /a/%2F
      - /a/b?x=1
      - "/a\0b"
_EOT_
--- must_die
--- error_log
routes.yaml:7:12: route "x": bad path "/a//b": an empty segment never matches: nginx merges "//" in request paths
routes.yaml:8:12: route "x": bad path "/a/../b": a "." or ".." segment never matches
routes.yaml:9:12: route "x": bad path "/a/./b": a "." or ".." segment never matches
routes.yaml:10:12: route "x": bad path "/a/%2F": a percent-encoded byte never matches
routes.yaml:11:13: route "x": bad path "/a/b?x=1": a path never matches a query string
routes.yaml:12:12: route "x": bad path "/a": a NUL byte never matches



=== TEST 5: version '1' is a string
--- user_files
>>> routes.yaml
version: '1'
default: monolith
backends: { monolith: {}, messages: {} }
--- must_die
--- error_log
routes.yaml:1:10: "version" must be the number 1, not a string



=== TEST 6: strangler_api in a regex location is refused
--- user_files eval
">>> routes.yaml\n$::Head"
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200; }
    location @messages { return 200; }
    location ~ ^/_strangler/ { strangler_api; }
--- must_die
--- error_log
"strangler_api" directive cannot be in a regex location: its calls are paths relative to a prefix location



=== TEST 7: strangler_api in a named location is refused
--- user_files eval
">>> routes.yaml\n$::Head"
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200; }
    location @messages { strangler_api; }
--- must_die
--- error_log
"strangler_api" directive cannot be in a named location



=== TEST 8: a backtracking regex ends at the match limit: the next rule, a warning
--- user_files eval
">>> routes.yaml\n$::Head" . $::Backtrack
--- request eval
"GET /api/" . $::A200 . "b"
--- response_headers
X-Route: next
--- response_body_like eval
"^monolith GET /api/a{200}b\$"
--- error_log eval
qr/\[warn\] .*strangler: a regex of route "backtrack" hit the PCRE2 match limit and was taken as no match; .*a{200}b HTTP/
--- no_error_log
[error]



=== TEST 9: the limit is logged once per route, counted every time
--- user_files eval
">>> routes.yaml\n$::Head" . $::Backtrack
--- request eval
[
"GET /api/" . $::A200 . "b",
"GET /api/" . $::A200 . "c",
"GET /api/" . $::A200,
"GET /_strangler/metrics",
]
--- response_headers eval
[
"X-Route: next",
"X-Route: next",
"X-Route: backtrack",
"",
]
--- response_body_like eval
[
"^monolith GET /api/a{200}b\$",
"^monolith GET /api/a{200}c\$",
"^messages GET /api/a{200}\$",
'(?m)^# TYPE strangler_regex_limit_total counter$'
. '(?s:.*)^strangler_regex_limit_total\{route="backtrack"\} 2$'
. '(?s:.*)^strangler_regex_limit_total\{route="next"\} 0$',
]
--- no_error_log eval
[
qr/route "backtrack" hit the PCRE2 match limit.*a{200}c HTTP/,
"[error]",
]
