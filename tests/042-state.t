# strangler_state: every change is saved (atomically) to the state file,
# which is read back at start-up; a state file nginx cannot trust stops it.
use Test::Nginx::Socket;

# blocks change the zone and the state file: each runs once
repeat_each(1);

plan tests => repeat_each() * 78;

no_root_location();
no_shuffle();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 1m;
    strangler_state html/strangler.state;
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
    location /_strangler/ { strangler_api; }
    location = /state { alias html/strangler.state; }
_EOC_

# an override of "gone", a route the table does not have
sub gone {
    my ($since) = @_;
    $since = $since ? qq(, "orphaned_at": $since) : '';
    return '>>> strangler.state
{"version": 1, "overrides": [
  {"table": "' . $ENV{TEST_NGINX_SERVROOT} . '/conf/../html/routes.yaml",
   "route": "gone", "reads": "messages"' . $since . '}]}
';
}

our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
    shadow: { sample: 0 }
_EOC_

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

=== TEST 1: no state file yet: a first start
--- request
GET /api/conversations/1
--- response_body
messages GET /api/conversations/1
--- error_log
does not exist yet: starting without overrides
--- no_error_log
[error]



=== TEST 2: a change is saved before the API answers
--- request eval
[
'PUT /_strangler/routes/conversations
{"reads": "monolith", "shadow_sample": 12.5}',
"GET /state",
]
--- response_body_like eval
[
'"reads": "monolith"',
'\A\{
  "version": 1,
  "overrides": \[
    \{
      "reads": "monolith",
      "shadow_sample": 12\.5,
      "by": "127\.0\.0\.1",
      "via": "api",
      "table": "/[^"]*/html/routes\.yaml",
      "route": "conversations",
      "at": \d+
    \}
  \]
\}
\z',
]
--- no_error_log
[error]



=== TEST 3: rollback and delete are saved too
--- request eval
[
"POST /_strangler/routes/conversations/rollback",
"GET /state",
"DELETE /_strangler/routes/conversations",
"GET /state",
]
--- response_body_like eval
[
'"override": \{\s+"reads": "monolith",\s+"by": "127\.0\.0\.1",',
'"reads": "monolith",\s+"by": "127\.0\.0\.1",',
'"override": null,',
'\A\{\s+"version": 1,\s+"overrides": \[\]\s+\}\s+\z',
]
--- no_error_log
[error]



=== TEST 4: start-up reads the state file: a restart keeps a rollback
--- user_files eval
$::Routes . '>>> strangler.state
{"version": 1, "overrides": [{"table": "' . $ENV{TEST_NGINX_SERVROOT}
. '/conf/../html/routes.yaml", "route": "conversations",
  "reads": "monolith", "owner": "monolith", "by": "10.0.0.7",
  "at": 1700000000}]}
'
--- request eval
[
"GET /api/conversations/1",
"POST /api/conversations/1\nx",
"GET /_strangler/routes/conversations",
]
--- response_body_like eval
[
"\\Amonolith GET ",
"\\Amonolith POST ",
'"override": \{\s+"reads": "monolith",\s+"owner": "monolith",'
. '\s+"by": "10\.0\.0\.7",\s+"at": "2023-11-14T22:13:20Z"',
]
--- response_headers eval
[ "X-Reason: override", "X-Reason: template", "" ]
--- no_error_log
[error]



=== TEST 5: a saved route the table no longer has is kept, orphaned
--- user_files eval
$::Routes . '>>> strangler.state
{"version": 1, "overrides": [
  {"table": "' . $ENV{TEST_NGINX_SERVROOT} . '/conf/../html/routes.yaml",
   "route": "gone", "reads": "messages"},
  {"table": "' . $ENV{TEST_NGINX_SERVROOT} . '/conf/../html/routes.yaml",
   "route": "conversations", "reads": "monolith", "owner": "unknown"}]}
'
--- request
GET /api/conversations/1
--- response_body
monolith GET /api/conversations/1
--- error_log
route "gone" of
no longer exists, its override is kept until it comes back, a DELETE, or 604800 seconds (keep_orphaned)
backend "unknown" no longer exists, the override of its owner is dropped
--- no_error_log
[error]



=== TEST 6: the orphaned override is in the status
--- user_files eval
$::Routes . ::gone()
--- request
GET /_strangler/status
--- response_body_like eval
qr/"orphaned": \[\s*\{\s*"route": "gone",\s*"orphaned_since": "\d{4}-[^"]+Z",\s*"override": \{\s*"reads": "messages"/s
--- no_error_log
[error]



=== TEST 7: DELETE drops an orphaned override; the route stays unknown
--- user_files eval
$::Routes . ::gone()
--- request eval
["DELETE /_strangler/routes/gone", "GET /state", "DELETE /_strangler/routes/gone"]
--- error_code eval
[200, 200, 404]
--- response_body_like eval
[qr/"name": "gone",\s*"orphaned": true,\s*"override": null/,
 qr/\A(?!.*"gone")/s,
 qr/no route \\"gone\\"/]
--- no_error_log
[error]



=== TEST 8: dropping an orphaned override is logged
--- user_files eval
$::Routes . ::gone()
--- request
DELETE /_strangler/routes/gone
--- error_log
route "gone" (orphaned) dropped by 127.0.0.1: override {"reads":"messages"} -> none
--- no_error_log
[error]



=== TEST 9: keep_orphaned=0: a route the table no longer has loses its override
--- http_config eval
$::HttpConfig =~ s{html/strangler.state;}{html/strangler.state keep_orphaned=0;}r
--- user_files eval
$::Routes . ::gone()
--- request
GET /_strangler/status
--- response_body_like: "orphaned": \[\]
--- error_log
route "gone" of
no longer exists, its override is dropped (keep_orphaned)
--- no_error_log
[error]



=== TEST 10: an override orphaned for longer than keep_orphaned is dropped
--- http_config eval
$::HttpConfig =~ s{html/strangler.state;}{html/strangler.state keep_orphaned=1d;}r
--- user_files eval
$::Routes . ::gone(1700000000)
--- request
GET /_strangler/status
--- response_body_like: "orphaned": \[\]
--- error_log
route "gone" of
no longer exists, its override is dropped (keep_orphaned)
--- no_error_log
[error]



=== TEST 11: a bad keep_orphaned is refused
--- http_config eval
$::HttpConfig =~ s{html/strangler.state;}{html/strangler.state keep_orphaned=soon;}r
--- must_die
--- error_log
invalid keep_orphaned time "soon"



=== TEST 12: a corrupt state file stops nginx, naming the file and where
--- user_files eval
$::Routes . ">>> strangler.state\n{\"version\": 1, \"overrides\": [\n"
--- must_die
--- error_log eval
qr{\[emerg\] .*strangler_state ".*/html/strangler\.state" is corrupt: line \d+, column \d+: }



=== TEST 13: a state file of the wrong shape stops nginx, naming the field
--- user_files eval
$::Routes . '>>> strangler.state
{"version": 1, "overrides": [{"table": "t", "route": 7}]}
'
--- must_die
--- error_log eval
qr/\[emerg\] .*is corrupt: overrides\[0\]\.route: not a string/



=== TEST 14: a state file of another version stops nginx
--- user_files eval
$::Routes . '>>> strangler.state
{"version": 2, "overrides": []}
'
--- must_die
--- error_log eval
qr/\[emerg\] .*is corrupt: expected \{"version": 1, "overrides": \[\.\.\.\]\}/



=== TEST 15: a state file that cannot be read stops nginx
--- http_config
    strangler_zone strangler 1m;
    strangler_state html;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*strangler_state ".*/html" cannot be read: not a regular file}



=== TEST 16: a state file needs a zone
--- http_config
    strangler_state html/strangler.state;
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"strangler_state" needs a "strangler_zone"/



=== TEST 17: a bad shadow sample in the state file
--- user_files eval
$::Routes . '>>> strangler.state
{"version": 1, "overrides": [{"table": "t", "route": "r",
 "shadow_sample": 101}]}
'
--- must_die
--- error_log eval
qr/\[emerg\] .*is corrupt: overrides\[0\]\.shadow_sample: not a number from 0 to 100/
