# Runtime ignore rules (`PUT routes/NAME/ignore`): added and removed at
# once, checked as shadow.ignore is (a bad one is a 400 naming it), kept
# in the state file and read back from it at start.  The backends are
# 035's: `$.ts` differs on every call (noise), `$.total` on /odd.
use Test::Nginx::Socket 'no_plan';

use StranglerNoise qw($Routes $Backends);

# blocks change the zone and the state file: each runs once
repeat_each(1);

no_root_location();
no_shuffle();

# 035's front, and the state file to read
our $Config = $StranglerNoise::Config
              . "    location = /state { alias html/strangler.state; }\n";

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "    strangler_zone strangler 1m;\n"
                      . "    strangler_state html/strangler.state;\n"
                      . "    strangler_diff_log logs/error.log;\n"
                      . $Backends);
    $block->set_value("config", $Config);
    $block->set_value("user_files", ">>> routes.yaml\n$Routes"
                      . ($block->state_file
                         ? ">>> strangler.state\n" . $block->state_file
                         : ''));
    $block->set_value("timeout", 10) unless $block->timeout;
});


run_tests();

__DATA__

=== TEST 1: a rule added applies at once, is saved, and shows in status
--- pipelined_requests eval
['PUT /_strangler/routes/items/ignore' . "\n" . '{"add": ["$.total", "header:X-Id"]}',
 'GET /api/items/odd', 'GET /later/routes/items', 'GET /state']
--- response_body_like eval
[qr/^\{\s*"route": "items",\s*"ignore": \[\],\s*"runtime_ignore": \[\s*"\$\.total",\s*"header:X-Id"\s*\]\s*\}\s*$/s,
 qr/"total":10/,
 qr/"matched": 1,\s*"mismatched": 0.*"runtime_ignore": \[\s*"\$\.total",\s*"header:X-Id"\s*\]/s,
 qr/"ignore": \[\s*\{\s*"table": "[^"]*routes\.yaml",\s*"route": "items",\s*"paths": \[\s*"\$\.total",\s*"header:X-Id"\s*\]\s*\}\s*\]/s]
--- no_error_log
[error]



=== TEST 2: removed, it is gone from the zone, status and state file
--- pipelined_requests eval
['PUT /_strangler/routes/items/ignore' . "\n" . '{"add": ["$.total", "$.id"]}',
 'PUT /_strangler/routes/items/ignore' . "\n" . '{"remove": ["$.total", "$.nope"]}',
 'GET /api/items/odd', 'GET /later/routes/items', 'GET /state']
--- response_body_like eval
[qr/"runtime_ignore": \[\s*"\$\.total",\s*"\$\.id"\s*\]/,
 qr/"runtime_ignore": \[\s*"\$\.id"\s*\]/,
 qr/"total":10/,
 qr/"matched": 0,\s*"mismatched": 1.*"runtime_ignore": \[\s*"\$\.id"\s*\]/s,
 qr/"paths": \[\s*"\$\.id"\s*\]/]
--- no_error_log
[error]



=== TEST 3: a change is logged
--- request
PUT /_strangler/routes/items/ignore
{"add": ["$.total"]}
--- response_body_like: "runtime_ignore"
--- error_log
runtime ignore rules of route "items" changed by 127.0.0.1: 1 now
--- no_error_log
[error]



=== TEST 4: bad calls are 4xx and change nothing
--- pipelined_requests eval
['PUT /_strangler/routes/items/ignore' . "\n" . '{"add": ["$.total", "$.a..b"]}',
 'PUT /_strangler/routes/items/ignore' . "\n" . '{"add": ["header:Bad Name"]}',
 'PUT /_strangler/routes/items/ignore' . "\n" . '{"add": "$.total"}',
 'PUT /_strangler/routes/items/ignore' . "\n" . '[]',
 'PUT /_strangler/routes/items/ignore' . "\n" . '{"add": [',
 'PUT /_strangler/routes/quiet/ignore' . "\n" . '{"add": ["$.total"]}',
 'PUT /_strangler/routes/nope/ignore' . "\n" . '{"add": ["$.total"]}',
 'GET /_strangler/routes/items/ignore',
 'GET /_strangler/routes/items']
--- error_code eval
[400, 400, 400, 400, 400, 409, 404, 405, 200]
--- response_body_like eval
[qr/"error": "bad ignore rule \\"\$\.a\.\.b\\" at 4: expected a key after/,
 qr/"error": "bad ignore rule \\"header:Bad Name\\" at 7: bad header name"/,
 qr/"error": "expected \{\\"add\\": \[\.\.\.\], \\"remove\\": \[\.\.\.\]\}"/,
 qr/"error": "expected \{/,
 qr/"error": "malformed JSON/,
 qr/compares no responses/,
 qr/no route \\"nope\\"/,
 qr/use PUT/,
 qr/^(?!.*runtime_ignore)/s]
--- no_error_log
[error]



=== TEST 5: the state file's rules apply from the start
--- state_file eval
'{"version": 1, "overrides": [], "ignore": [
  {"table": "' . $ENV{TEST_NGINX_SERVROOT} . '/conf/../html/routes.yaml",
   "route": "items", "paths": ["$.total"]},
  {"table": "' . $ENV{TEST_NGINX_SERVROOT} . '/conf/../html/routes.yaml",
   "route": "quiet", "paths": ["$.total"]}]}
'
--- pipelined_requests eval
['GET /_strangler/routes/items', 'GET /api/items/odd', 'GET /later/routes/items']
--- response_body_like eval
[qr/"runtime_ignore": \[\s*"\$\.total"\s*\]/,
 qr/"total":10/,
 qr/"matched": 1,\s*"mismatched": 0/]
--- no_error_log
[error]
