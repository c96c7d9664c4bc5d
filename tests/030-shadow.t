# Shadowing: a sampled copy of a request goes to the other backend with
# X-Strangler-Shadow: 1; its response never reaches the client, and never
# delays it, nor the next request on the same connection, even when the
# shadow backend hangs.  Writes are shadowed only as dry runs.
use Test::Nginx::Socket;

plan tests => repeat_each() * 385;

no_root_location();
no_shuffle();

# monolith (port 1) and users (port 2) answer with what they got; users
# writes what a shadow brought into error.log, where the blocks look for
# it (the force header last).  Bodies: a proxy to port 3 reads them, whose 418 brings the echo.
# Port 4 hangs: it sends one byte a second.
our $Backends = <<'_EOC_';
    log_format seen escape=none
        'shadow-seen $request_method $request_uri '
        'shadow=$http_x_strangler_shadow dry=$http_x_dry_run '
        'body=$request_body force=[$http_x_backend]';

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        location / { return 418; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
        location /echo/ {
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3;
            proxy_intercept_errors on;
            error_page 418 = @echo;
        }
        location @echo {
            return 200 "monolith $request_method $request_uri $request_body\n";
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        access_log logs/error.log seen;
        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3;
            proxy_intercept_errors on;
            error_page 418 = @echo;
        }
        location @echo { return 200 "users\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        location / {
            limit_rate 1;
            return 200 "a response that takes minutes to send";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Shadow $strangler_shadow always;
    }
    location @users { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location @hang { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_4; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config",
                      $Backends . ($block->http_config // ''));
    $block->set_value("config", $Config . ($block->config // ''));
});

run_tests();

__DATA__

=== TEST 1: sample 100: the shadow backend gets a marked copy
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100 }
--- request
GET /api/users/7?fields=name
--- response_headers
X-Shadow: sent
--- response_body
monolith GET /api/users/7?fields=name
--- wait: 0.3
--- error_log
shadow-seen GET /api/users/7?fields=name shadow=1 dry= body=
--- no_error_log
[error]



=== TEST 2: sample 0: no shadow
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 0 }
--- request
GET /api/users/7
--- response_headers
X-Shadow: -
--- response_body
monolith GET /api/users/7
--- wait: 0.3
--- no_error_log
shadow-seen
[error]



=== TEST 3: sample 50: about half of 100 requests, no more
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends:
  monolith: { location: "@monolith_logged" }
  users: {}
  hang: {}
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 50 }
--- http_config
    log_format decided '$strangler_shadow';
--- config
    location @monolith_logged {
        access_log logs/decided.log decided;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
    location = /decided.log { alias logs/decided.log; }
--- pipelined_requests eval
[ (map { "GET /api/users/$_" } 1 .. 100), "GET /decided.log" ]
--- response_body_like eval
[ (map { qr/^monolith GET \/api\/users\/$_$/ } 1 .. 100),
  qr/\A(?:(?:-\n)*sent\n){25,75}(?:-\n)*\z/ ]
--- no_error_log
[error]



=== TEST 4: writes are not shadowed without a dry run
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100 }
--- request
POST /api/users/7
name=ann
--- response_headers
X-Shadow: -
--- response_body
monolith POST /api/users/7
--- wait: 0.3
--- no_error_log
shadow-seen
[error]



=== TEST 5: a dry-run write: the header, and the body intact on both sides
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/echo/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      writes: dry-run
      dry_run_header: X-Dry-Run
--- request
POST /echo/7?v=2
name=ann&age=40&note=caf%C3%A9
--- response_headers
X-Shadow: sent
--- response_body
monolith POST /echo/7?v=2 name=ann&age=40&note=caf%C3%A9
--- wait: 0.3
--- error_log
shadow-seen POST /echo/7?v=2 shadow=1 dry=1 body=name=ann&age=40&note=caf%C3%A9
--- no_error_log
[error]



=== TEST 6: a dry-run write with a chunked body
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/echo/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      writes: dry-run
      dry_run_header: X-Dry-Run
--- raw_request eval
"PUT /echo/8 HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
5\r
hello\r
6\r
 world\r
0\r
\r
"
--- response_body
monolith PUT /echo/8 hello world
--- wait: 0.3
--- error_log
shadow-seen PUT /echo/8 shadow=1 dry=1 body=hello world
--- no_error_log
[error]



=== TEST 7: reads of a dry-run route carry no dry-run header
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/echo/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      writes: dry-run
      dry_run_header: X-Dry-Run
--- request
GET /echo/9
--- more_headers
X-Dry-Run: from-the-client
X-Strangler-Shadow: 0
--- response_body eval
"monolith GET /echo/9 \n"
--- wait: 0.3
--- error_log
shadow-seen GET /echo/9 shadow=1 dry= body=
--- no_error_log
[error]



=== TEST 8: a body over strangler_compare_max_body: no shadow, body intact
--- http_config
    strangler_compare_max_body 8;
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/echo/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      writes: dry-run
      dry_run_header: X-Dry-Run
--- request
POST /echo/10
a body longer than eight bytes
--- response_headers
X-Shadow: dropped
--- response_body
monolith POST /echo/10 a body longer than eight bytes
--- wait: 0.3
--- no_error_log
shadow-seen
[error]



=== TEST 9: a hanging shadow delays neither the response nor the next one
--- http_config
    strangler_shadow_timeout 1500ms;
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: slow
    paths: ["/api/slow/*"]
    owner: monolith
    shadow: { to: hang, sample: 100 }
--- timeout: 1
--- pipelined_requests eval
["GET /api/slow/1", "GET /api/slow/2", "GET /api/slow/3"]
--- response_headers eval
["X-Shadow: sent", "X-Shadow: sent", "X-Shadow: sent"]
--- response_body eval
["monolith GET /api/slow/1\n", "monolith GET /api/slow/2\n",
 "monolith GET /api/slow/3\n"]
--- no_error_log
[error]



=== TEST 10: the hanging shadow is ended at strangler_shadow_timeout
--- http_config
    strangler_shadow_timeout 500ms;
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: slow
    paths: ["/api/slow/*"]
    owner: monolith
    shadow: { to: hang, sample: 100 }
--- timeout: 1
--- request
GET /api/slow/1
--- response_body
monolith GET /api/slow/1
--- wait: 1
--- error_log
strangler: shadow of "GET /api/slow/1" timed out
--- no_error_log
[error]



=== TEST 11: over strangler_shadow_limit a shadow is dropped, not queued
--- http_config
    strangler_shadow_limit 1;
    strangler_shadow_timeout 1500ms;
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: slow
    paths: ["/api/slow/*"]
    owner: monolith
    shadow: { to: hang, sample: 100 }
--- timeout: 1
--- pipelined_requests eval
["GET /api/slow/1", "GET /api/slow/2"]
--- response_headers eval
["X-Shadow: sent", "X-Shadow: dropped"]
--- response_body eval
["monolith GET /api/slow/1\n", "monolith GET /api/slow/2\n"]
--- no_error_log
[error]



=== TEST 12: compare: off still shadows
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: off }
--- request
HEAD /api/users/7
--- response_headers
X-Shadow: sent
--- wait: 0.3
--- error_log
shadow-seen HEAD /api/users/7 shadow=1
--- no_error_log
without a complete response
[error]



=== TEST 13: routes without a shadow, and the default, shadow nothing
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
--- pipelined_requests eval
["GET /api/users/1", "POST /elsewhere\nbody"]
--- response_headers eval
["X-Shadow: -", "X-Shadow: -"]
--- response_body eval
["monolith GET /api/users/1\n", "monolith POST /elsewhere\n"]
--- wait: 0.3
--- no_error_log
shadow-seen
[error]



=== TEST 14: a request with Upgrade: is never shadowed, and says so
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100 }
--- request
GET /api/users/7
--- more_headers
Upgrade: websocket
--- response_headers
X-Shadow: skipped
--- response_body
monolith GET /api/users/7
--- wait: 0.3
--- no_error_log
shadow-seen
[error]



=== TEST 15: the force header is not copied: it is meant for this proxy
--- config
    strangler_force_header X-Backend;
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {}, hang: {} }
routes:
  - name: users
    paths: ["/api/users/*"]
    owner: monolith
    shadow: { to: users, sample: 100 }
--- request
GET /api/users/7
--- more_headers
X-Backend: monolith
--- response_headers
X-Shadow: sent
--- response_body
monolith GET /api/users/7
--- wait: 0.3
--- error_log
shadow-seen GET /api/users/7 shadow=1 dry= body= force=[]
--- no_error_log
[error]
