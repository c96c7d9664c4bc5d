# No change from another site: what a page elsewhere can make a browser
# send (a form, a no-cors fetch; a browser says so in Sec-Fetch-Site and
# Origin) is refused with a 403 and changes nothing, seen through the API
# afterwards; curl, scripts and the dashboard's same-origin calls go on.
# tests/dashboard/cross_site_test.py does it from a real Chromium.
use Test::Nginx::Socket;

# blocks change the zone: each runs once
repeat_each(1);

plan tests => repeat_each() * 124;

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
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location /_strangler/ {
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
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
_EOC_

# the route's override as GET routes/conversations shows it
our $Untouched = '"override": null';
our $Moved = '"override": \{\n\s+"reads": "monolith",\n\s+"by"';

# the refusals, as logged
our $RefusedRearm = '\[warn\] .*strangler: POST '
    . '"/_strangler/routes/conversations/guard/rearm" from 127\.0\.0\.1 '
    . 'refused: Content-Type "text/plain" says';
our $RefusedDelete = '\[warn\] .*strangler: DELETE '
    . '"/_strangler/routes/conversations" from 127\.0\.0\.1 '
    . 'refused: Origin "http://evil\.example" says a browser sent it';

# the API as the browser's page would name it
our $Host = "Host: api.example:8080";

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

=== TEST 1: a form's POST with an Origin of another site: refused
--- request eval
[ "POST /_strangler/routes/conversations/rollback",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "$main::Host\nOrigin: http://evil.example\n"
  . "Content-Type: application/x-www-form-urlencoded", "" ]
--- error_code eval
[ 403, 200 ]
--- response_body_like eval
[ '\A\{\n  "error": "a change is refused: Origin \\\\"http://evil.example\\\\" '
  . 'says a page of another site sent it: nothing changed"\n\}\n\z',
  $main::Untouched ]
--- no_error_log
[error]
rolled back



=== TEST 2: Sec-Fetch-Site: cross-site, and same-site: refused
--- request eval
[ "POST /_strangler/routes/conversations/rollback",
  "POST /_strangler/routes/conversations/rollback",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site", "" ]
--- error_code eval
[ 403, 403, 200 ]
--- response_body_like eval
[ 'refused: Sec-Fetch-Site \\\\"cross-site\\\\"',
  'refused: Sec-Fetch-Site \\\\"same-site\\\\"', $main::Untouched ]
--- no_error_log
[error]



=== TEST 3: a POST as a form sends it, without Origin: refused
enctype=text/plain with a body, urlencoded and multipart with none
(a form without fields), and a no-cors fetch's body without a type
--- request eval
[ "POST /_strangler/routes/conversations/rollback\nx=1",
  "POST /_strangler/routes/conversations/rollback",
  "POST /_strangler/routes/conversations/rollback",
  "POST /_strangler/routes/conversations/rollback\n{}",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "Content-Type: text/plain",
  "Content-Type: application/x-www-form-urlencoded\nContent-Length: 0",
  "Content-Type: multipart/form-data; boundary=x\nContent-Length: 0",
  "", "" ]
--- error_code eval
[ 403, 403, 403, 403, 200 ]
--- response_body_like eval
[ 'a POST here takes a JSON body .* Content-Type \\\\"text/plain\\\\"',
  'Content-Type \\\\"application/x-www-form-urlencoded\\\\"',
  'Content-Type \\\\"multipart/form-data; boundary=x\\\\"',
  'Content-Type \\\\"\(none\)\\\\"', $main::Untouched ]
--- no_error_log
[error]
rolled back



=== TEST 4: guard/rearm by a text/plain form: refused before anything
--- request
POST /_strangler/routes/conversations/guard/rearm
x=1
--- more_headers
Content-Type: text/plain
--- error_code: 403
--- response_body_like chomp
a change is refused: a POST here takes a JSON body
--- error_log eval
qr/$main::RefusedRearm/
--- no_error_log
[error]



=== TEST 5: PUT and DELETE with an Origin of another site: refused
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "PUT /_strangler/routes/conversations\n{\"reads\": \"messages\"}",
  "DELETE /_strangler/routes/conversations",
  "DELETE /_strangler/routes/conversations/diffs",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "Content-Type: application/json",
  "$main::Host\nOrigin: http://evil.example:8080\n"
  . "Content-Type: application/json",
  "$main::Host\nOrigin: null",
  "Sec-Fetch-Site: cross-site", "" ]
--- error_code eval
[ 200, 403, 403, 403, 200 ]
--- response_body_like eval
[ $main::Moved, 'Origin \\\\"http://evil.example:8080\\\\"',
  'Origin \\\\"null\\\\"', 'Sec-Fetch-Site \\\\"cross-site\\\\"', $main::Moved ]
--- no_error_log
[error]



=== TEST 6: only this very origin: not another port, not another scheme
--- request eval
[ "POST /_strangler/routes/conversations/rollback",
  "POST /_strangler/routes/conversations/rollback",
  "POST /_strangler/routes/conversations/rollback",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "$main::Host\nOrigin: http://api.example",
  "$main::Host\nOrigin: https://api.example:8080",
  "$main::Host\nOrigin: http://api.example:8080.evil.example",
  "" ]
--- error_code eval
[ 403, 403, 403, 200 ]
--- response_body_like eval
[ 'Origin \\\\"http://api.example\\\\"',
  'Origin \\\\"https://api.example:8080\\\\"',
  'Origin \\\\"http://api.example:8080.evil.example\\\\"', $main::Untouched ]
--- no_error_log
[error]



=== TEST 7: curl: a plain POST without a body rolls back
--- request eval
[ "POST /_strangler/routes/conversations/rollback",
  "GET /_strangler/routes/conversations" ]
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '"result": "rolled back"', $main::Moved ]
--- no_error_log
[error]
refused



=== TEST 8: curl: PUT of JSON, typed or as -d labels it; DELETE; reads
GET answers whatever Sec-Fetch-Site says
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "GET /_strangler/routes/conversations",
  "DELETE /_strangler/routes/conversations",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "Content-Type: application/json",
  "Content-Type: application/x-www-form-urlencoded",
  "Sec-Fetch-Site: cross-site", "", "" ]
--- error_code eval
[ 200, 200, 200, 200, 200 ]
--- response_body_like eval
[ $main::Moved, $main::Moved, $main::Moved, $main::Untouched,
  $main::Untouched ]
--- no_error_log
[error]
refused



=== TEST 9: a page of this origin (the dashboard): JSON POST, typed URL
--- request eval
[ "POST /_strangler/routes/conversations/rollback\n{}",
  "POST /_strangler/routes/conversations/rollback\n{}",
  "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "$main::Host\nOrigin: http://api.example:8080\nSec-Fetch-Site: "
  . "same-origin\nContent-Type: application/json",
  "Sec-Fetch-Site: none\nContent-Type: application/json; charset=UTF-8",
  "$main::Host\nOrigin: HTTP://API.example:8080\nSec-Fetch-Site: "
  . "same-origin\nContent-Type: application/json",
  "" ]
--- error_code eval
[ 200, 200, 200, 200 ]
--- response_body_like eval
[ '"result": "rolled back"', '"result": "nothing to roll back"', $main::Moved,
  $main::Moved ]
--- no_error_log
[error]
refused



=== TEST 10: the default port is the same origin, with Host or Origin
--- request eval
[ "POST /_strangler/routes/conversations/rollback",
  "GET /_strangler/routes/conversations" ]
--- more_headers eval
[ "Host: api.example:80\nOrigin: http://api.example", "" ]
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '"result": "rolled back"', $main::Moved ]
--- no_error_log
[error]
refused



=== TEST 11: a refusal is logged at warn, with the header that says why
--- request
DELETE /_strangler/routes/conversations
--- more_headers
Host: api.example:8080
Origin: http://evil.example
--- error_code: 403
--- error_log eval
qr/$main::RefusedDelete/
--- no_error_log
[error]
dropped
