# Noise cancelling (`shadow.noise`) and per-field statistics: the
# monolith's answer carries a fresh `ts` on every call, so its two answers
# differ in `$.ts` every time; the users service differs in `$.ts` always
# and in `$.total` on /odd.  `$.ts` becomes noise and `$.total` a
# difference; a request whose only differences are noise counts as
# matched.  Writes never get a second copy: the monolith logs every
# request it gets, with the shadow marker, into error.log.
use Test::Nginx::Socket 'no_plan';

use StranglerNoise qw($Routes $Backends $Config);

no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "    strangler_zone strangler 1m;\n"
                      . "    strangler_diff_log logs/error.log;\n"
                      . $Backends);
    $block->set_value("config", $Config);
    $block->set_value("user_files", ">>> routes.yaml\n$Routes")
        unless $block->user_files;
    $block->set_value("timeout", 10) unless $block->timeout;
});

run_tests();

__DATA__

=== TEST 1: $.ts is noise, $.total a difference; the counters agree
--- pipelined_requests eval
["GET /api/items/1", "GET /api/items/odd", "GET /api/items/2",
 "GET /api/items/odd", "GET /later/routes/items/diffs",
 "GET /_strangler/routes/items"]
--- response_body_like eval
[qr/"total":10/, qr/"total":10/, qr/"total":10/, qr/"total":10/,
 qr/^\{\s*"route": "items",\s*"compared": 4,\s*"mismatched": 2,\s*"noise_only": 2,\s*"noise_compared": 4,.*"fields": \[\s*\{\s*"path": "\$\.ts",\s*"differences": 4,\s*"noise": 4,\s*"verdict": "noise",\s*"examples": \[(\s*"[0-9a-f]{32}",?){4}\s*\]\s*\},\s*\{\s*"path": "\$\.total",\s*"differences": 2,\s*"noise": 0,\s*"verdict": "difference",\s*"examples": \[(\s*"[0-9a-f]{32}",?){2}\s*\]\s*\}\s*\]\s*\}\s*$/s,
 qr/"shadow": \{\s*"sent": 4,\s*"dropped": 0,\s*"timed_out": 0,\s*"matched": 2,\s*"mismatched": 2/]
--- no_error_log
[error]



=== TEST 2: differences only in noise: matched, and the log line says so
--- request
GET /api/items/1
--- response_body_like: "total":10
--- error_log eval
[qr/shadow of "GET \/api\/items\/1" to "\@users" matched but for noise/,
 qr/"uri":"\/api\/items\/1".*"diffs":\[\{"path":"\$\.ts"[^\]]*\],"noise":\["\$\.ts"\]\}$/m,
 qr/owner got GET \/api\/items\/1 shadow=-$/m,
 qr/owner got GET \/api\/items\/1 shadow=1$/m]
--- wait: 1.5
--- no_error_log
[error]



=== TEST 3: a real difference next to noise: mismatched, noise named
--- request
GET /api/items/odd
--- response_body_like: "total":10
--- error_log eval
[qr/shadow of "GET \/api\/items\/odd" to "\@users" mismatched: 2 differences, 1 of them noise/,
 qr/"uri":"\/api\/items\/odd".*"diffs":\[\{"path":"\$\.ts".*\{"path":"\$\.total".*\],"noise":\["\$\.ts"\]\}$/m]
--- wait: 1.5
--- no_error_log
[error]



=== TEST 4: a candidate that agrees but for noise: the route matches
--- pipelined_requests eval
["GET /api/items/1", "GET /api/items/2", "GET /api/items/3",
 "GET /later/routes/items", "GET /_strangler/metrics"]
--- response_body_like eval
[qr/"total":10/, qr/"total":10/, qr/"total":10/,
 qr/"shadow": \{\s*"sent": 3,\s*"dropped": 0,\s*"timed_out": 0,\s*"matched": 3,\s*"mismatched": 0/,
 qr/strangler_shadow_compared_total\{route="items"\} 3\nstrangler_shadow_mismatched_total\{route="items"\} 0\nstrangler_shadow_noise_only_total\{route="items"\} 3\nstrangler_shadow_noise_copies_total\{route="items"\} 3\n/]
--- no_error_log
[error]
mismatched



=== TEST 5: without noise copies the same answers mismatch on $.ts
--- pipelined_requests eval
["GET /api/plain/1", "GET /later/routes/plain/diffs"]
--- response_body_like eval
[qr/"total":10/,
 qr/"compared": 1,\s*"mismatched": 1,\s*"noise_only": 0,\s*"noise_compared": 0,.*"fields": \[\s*\{\s*"path": "\$\.ts",\s*"differences": 1,\s*"noise": 0,\s*"verdict": "difference"/s]
--- no_error_log
[error]
owner got GET /api/plain/1 shadow=1



=== TEST 6: a write gets no second copy (POST, dry-run shadow)
--- request
POST /api/items/w
{}
--- response_body_like: "total":10
--- error_log eval
[qr/shadow of "POST \/api\/items\/w" to "\@users"/,
 qr/owner got POST \/api\/items\/w shadow=-$/m]
--- wait: 1.5
--- no_error_log
[error]
owner got POST /api/items/w shadow=1



=== TEST 7: nor a read made a write by a method override
--- request
GET /api/items/m
--- more_headers
X-HTTP-Method-Override: DELETE
--- response_body_like: "total":10
--- error_log eval
[qr/shadow of "GET \/api\/items\/m" to "\@users"/,
 qr/owner got GET \/api\/items\/m shadow=-$/m]
--- wait: 1.5
--- no_error_log
[error]
owner got GET /api/items/m shadow=1



=== TEST 8: DELETE resets the statistics; the counters stay
--- pipelined_requests eval
["GET /api/items/odd", "DELETE /later/routes/items/diffs",
 "GET /_strangler/routes/items/diffs", "GET /_strangler/metrics"]
--- response_body_like eval
[qr/"total":10/,
 qr/^\{\s*"route": "items",\s*"compared": 0,\s*"mismatched": 0,\s*"noise_only": 0,\s*"noise_compared": 0,.*"fields": \[\]\s*\}\s*$/s,
 qr/"compared": 0,.*"fields": \[\]/s,
 qr/strangler_shadow_compared_total\{route="items"\} 1\nstrangler_shadow_mismatched_total\{route="items"\} 1\n/]
--- no_error_log
[error]



=== TEST 9: a reset is logged
--- request
DELETE /_strangler/routes/items/diffs
--- response_body_like: "fields": \[\]
--- error_log
field statistics of route "items" reset by 127.0.0.1
--- no_error_log
[error]



=== TEST 10: bad calls: no such route, a route not compared, a method
--- pipelined_requests eval
["GET /_strangler/routes/nope/diffs", "GET /_strangler/routes/quiet/diffs",
 "POST /_strangler/routes/items/diffs", "DELETE /_strangler/routes/quiet/diffs"]
--- error_code eval
[404, 409, 405, 409]
--- response_body_like eval
[qr/"error": "no route \\"nope\\"/,
 qr/"error": "route \\"quiet\\" compares no responses/,
 qr/"error": "POST is not allowed on \\"routes\/items\/diffs\\": use GET, HEAD, DELETE"/,
 qr/compares no responses/]
--- no_error_log
[error]



=== TEST 11: shadow.noise is a percentage, and needs a comparison
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: r
    paths: [/a]
    owner: monolith
    shadow: { to: users, compare: off, noise: 10, noise_relative: 101 }
--- must_die
--- error_log eval
[qr/routes.yaml:8:67: route "r": shadow.noise_relative must be a percentage from 0 to 100/,
 qr/routes.yaml:8:\d+: route "r": shadow.noise needs a comparison/]
