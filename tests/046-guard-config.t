# A route's guard block: a bad one fails `nginx -t` with file, line and
# column; a good one shows in the status and can be re-armed.  Tripping
# itself needs windows over time, 2 workers, reloads: tests/045-guards.t.
use Test::Nginx::Socket 'no_plan';

no_root_location();
no_shuffle();

our $Zone = <<'_EOC_';
    strangler_zone strangler 1m;
_EOC_

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
  - name: guarded
    paths: [/g]
    reads: messages
    guard: { error_rate: 1%, latency_p99: 250ms, window: 10s }
  - name: plain
    paths: [/p]
    reads: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Zone) unless $block->http_config;
    $block->set_value("config", $Front) unless $block->config;
    $block->set_value("user_files", $Table) unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: a guard without a window
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    guard: { error_rate: 1% }
--- must_die
--- error_log
routes.yaml:8:12: missing required key "window" in guard of route "a"



=== TEST 2: a rate without its percent sign
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    guard:
      error_rate: 0.01
      window: 10s
--- must_die
--- error_log
routes.yaml:9:19: route "a": guard.error_rate must be a percentage from 0% to 100%, such as 1% or 0.5%



=== TEST 3: a window that is not a duration
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    guard: { latency_p99: 250ms, window: 10 }
--- must_die
--- error_log
routes.yaml:8:42: route "a": guard.window must be a duration, such as 10s or 1m



=== TEST 4: mismatch_rate without a shadow
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    guard: { mismatch_rate: 2%, window: 10s }
--- must_die
--- error_log
routes.yaml:8:29: route "a": guard.mismatch_rate needs a shadow that compares (shadow.compare other than off)



=== TEST 5: a guard that watches nothing, and an unknown key
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: a
    paths: [/a]
    reads: messages
    guard: { window: 10s, failure: 2 }
--- must_die
--- error_log
routes.yaml:8:27: unknown key "failure" in guard of route "a"
routes.yaml:8:12: route "a": guard watches nothing: set error_rate, mismatch_rate or latency_p99



=== TEST 6: a guarded route's status: limits, no window judged yet
--- request
GET /_strangler/routes/guarded
--- response_body_like chomp
"guard": \{\s+"state": "inconclusive",\s+"dry_run": false,\s+"failed_windows": 0,\s+"trips": 0,\s+"would_trips": 0,\s+"limits": \{\s+"error_rate": 1\.0,\s+"mismatch_rate": null,\s+"latency_p99_ms": 250,\s+"window_ms": 10000,\s+"min_requests": 20,\s+"failures": 2\s+\},\s+"window": null\s+\}
--- no_error_log
[error]



=== TEST 7: re-arming a guard that has not tripped changes nothing
--- request
POST /_strangler/routes/guarded/guard/rearm
--- response_body_like chomp
"override": null,.*"guard": \{\s+"state": "inconclusive"
--- error_log
guard of route "guarded" re-armed by 127.0.0.1: it had not tripped, its windows start afresh
--- no_error_log
[error]



=== TEST 8: re-arming a route without a guard is refused
--- request
POST /_strangler/routes/plain/guard/rearm
--- error_code: 400
--- response_body_like chomp
\{\s*"error": "route \\"plain\\" has no guard"\s*\}
--- no_error_log
[error]



=== TEST 9: re-arm is a POST, of a route that exists
--- request eval
["GET /_strangler/routes/guarded/guard/rearm",
 "POST /_strangler/routes/nosuch/guard/rearm"]
--- error_code eval
[405, 404]
--- response_headers eval
["Allow: POST", ""]
--- no_error_log
[error]



=== TEST 10: a guarded route is served as any other
--- request eval
["GET /g", "POST /g"]
--- response_body eval
["messages\n", "monolith\n"]
--- no_error_log
[error]



=== TEST 11: a guard without a strangler_zone: a warning, and routing
--- http_config
    # no strangler_zone
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
--- request
GET /g
--- response_body
messages
--- error_log
route "guarded" of "
has a guard, which watches nothing without a "strangler_zone"
--- no_error_log
[error]
