# Request bodies reach the owner intact through the named location: small,
# large (spooled to a temporary file) and chunked.
use Test::Nginx::Socket;

plan tests => repeat_each() * 16;

no_root_location();
no_shuffle();

# Each backend proxies to a server that answers 418, then echoes the body
# nginx read for that proxying: stock nginx cannot echo a body otherwise.
our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        location / { return 418; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        client_max_body_size 8m;
        client_body_buffer_size 8m;
        client_body_in_single_buffer on;
        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3;
            proxy_intercept_errors on;
            error_page 418 = @echo;
        }
        location @echo {
            return 200 "monolith $request_method $request_uri $content_length:$request_body\n";
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Front) unless $block->config;
});

run_tests();

__DATA__

=== TEST 1: a small POST body
--- user_files
>>> routes.yaml
version: 1
default: messages
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations", "/api/conversations/*"]
    owner: monolith
    reads: messages
--- request
POST /api/conversations?draft=1
{"subject":"hello"}
--- response_body
monolith POST /api/conversations?draft=1 19:{"subject":"hello"}
--- no_error_log
[error]



=== TEST 2: a PUT body
--- user_files
>>> routes.yaml
version: 1
default: messages
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/*"]
    owner: monolith
    reads: messages
--- request
PUT /api/conversations/4
subject=changed
--- response_body
monolith PUT /api/conversations/4 15:subject=changed
--- no_error_log
[error]



=== TEST 3: a 1 MiB body, spooled to disk by the front nginx
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: uploads
    paths: ["/api/uploads"]
    owner: monolith
    reads: messages
--- config
    strangler_routes ../html/routes.yaml;
    client_body_buffer_size 16k;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @messages { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
--- request eval
"POST /api/uploads\n" . ("0123456789abcdef" x 65536)
--- response_body eval
"monolith POST /api/uploads 1048576:" . ("0123456789abcdef" x 65536) . "\n"
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



=== TEST 4: a chunked body
--- user_files
>>> routes.yaml
version: 1
default: messages
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations"]
    owner: monolith
    reads: messages
--- raw_request eval
"POST /api/conversations HTTP/1.1\r
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
monolith POST /api/conversations 11:hello world
--- no_error_log
[error]



=== TEST 5: a body on a read served by the new service is passed on too
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: search
    paths: ["/api/search"]
    owner: messages
    reads: monolith
--- request
GET /api/search
{"q":"x"}
--- response_body
monolith GET /api/search 9:{"q":"x"}
--- no_error_log
[error]
