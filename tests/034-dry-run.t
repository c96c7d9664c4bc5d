# A dry-run write copy carries its marker, whatever the method (unknown
# tokens too), the framing or the HTTP version: the non-owner's access log
# shows it on every write copy.  (tests/095-write-owner.t checks the same
# rule over generated tables and requests.)
use Test::Nginx::Socket;

plan tests => repeat_each() * 40;

no_root_location();
no_shuffle();

# monolith (port 1) owns /w/; users (port 2) gets the copies and logs
# them into error.log, where the blocks look for them
our $Backends = <<'_EOC_';
    log_format seen escape=none
        'shadow-seen $request_method $request_uri '
        'shadow=$http_x_strangler_shadow dry=$http_x_dry_run '
        'body=$content_length';

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        access_log logs/error.log seen;
        location / { return 200 "users\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @users { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: w
    paths: ["/w/*"]
    owner: monolith
    shadow:
      to: users
      writes: dry-run
      dry_run_header: X-Dry-Run
  - name: plain
    paths: ["/plain/*"]
    owner: monolith
    shadow: { to: users }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Config);
    $block->set_value("user_files", $Routes);
});

run_tests();

__DATA__

=== TEST 1: a POST copy (HTTP/1.1) carries the marker
--- request
POST /w/1
name=ann
--- response_body
monolith POST /w/1
--- wait: 0.3
--- error_log
shadow-seen POST /w/1 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 2: a PUT copy (HTTP/1.1) carries the marker
--- request
PUT /w/2
{"a": 1}
--- response_body
monolith PUT /w/2
--- wait: 0.3
--- error_log
shadow-seen PUT /w/2 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 3: a DELETE copy (HTTP/1.1) carries the marker
--- request
DELETE /w/3
--- response_body
monolith DELETE /w/3
--- wait: 0.3
--- error_log
shadow-seen DELETE /w/3 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 4: a PATCH copy (HTTP/1.1) carries the marker
--- request
PATCH /w/4
x
--- response_body
monolith PATCH /w/4
--- wait: 0.3
--- error_log
shadow-seen PATCH /w/4 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 5: a BREW copy (HTTP/1.1) carries the marker
--- request
BREW /w/5
coffee
--- response_body
monolith BREW /w/5
--- wait: 0.3
--- error_log
shadow-seen BREW /w/5 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 6: a MKCOL copy (HTTP/1.1) carries the marker
--- request
MKCOL /w/6
--- response_body
monolith MKCOL /w/6
--- wait: 0.3
--- error_log
shadow-seen MKCOL /w/6 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 7: a POST copy (HTTP/1.0) carries the marker
--- request
POST /w/7 HTTP/1.0
old
--- response_body
monolith POST /w/7
--- wait: 0.3
--- error_log
shadow-seen POST /w/7 shadow=1 dry=1
--- no_error_log
[error]



=== TEST 8: a chunked write copy carries the marker
--- raw_request eval
"PUT /w/8 HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
5\r
hello\r
0\r
\r
"
--- response_body
monolith PUT /w/8
--- wait: 0.3
--- error_log
shadow-seen PUT /w/8 shadow=1 dry=1 body=5
--- no_error_log
[error]



=== TEST 9: a client's own marker is not passed on a read copy
--- request
GET /w/9
--- more_headers
X-Dry-Run: 1
--- response_body
monolith GET /w/9
--- wait: 0.3
--- error_log
shadow-seen GET /w/9 shadow=1 dry= body=
--- no_error_log
[error]



=== TEST 10: a route without dry-run writes copies no write
--- request
POST /plain/1
x
--- response_body
monolith POST /plain/1
--- wait: 0.3
--- no_error_log
[error]
shadow-seen
