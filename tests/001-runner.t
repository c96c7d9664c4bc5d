# Self-test of the Test::Nginx::Socket runner in tests/lib, written in
# the Test::Nginx format so it also passes under openresty's harness.
# It only uses stock nginx features (return, proxy_pass, add_header, ssi).
#
#   prove -Itests/lib tests/001-runner.t

use Test::Nginx::Socket;

repeat_each(2);

# Per request: 1 status test, +1 when a body section is present,
# +1 per response_headers(_like) line, +1 per raw_response_headers_like,
# and +1 per error_log / no_error_log pattern (checked after every
# request).  must_die: 1 + one per error_log pattern.  Per block:
#
#   TEST  1: 3    TEST  2: 4    TEST  3: 3    TEST  4: 5    TEST  5: 3
#   TEST  6: 2    TEST  7: 2    TEST  8: 4    TEST  9: 9    TEST 10: 8
#   TEST 11: 4    TEST 12: 2    TEST 13: 2    TEST 14: 2    TEST 15: 3
#   TEST 16: 2    TEST 17: 3    TEST 18: 2    TEST 19: 2    TEST 20: 2
#   TEST 21: 3    TEST 22: 3    TEST 24: 2
#   (TEST 23 is SKIPped, TEST 25 comes after LAST: neither counts)
#
# i.e. 2 per block plus 29 extra.
plan tests => repeat_each() * (2 * blocks() + 29);

$ENV{TEST_NGINX_RUNNER_GREETING} = 'hi';

env_to_nginx('RUNNER_UNUSED_ENV');

# Blocks without a request get a default one (add_block_preprocessor).
add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->request) {
        $block->set_value('request', "GET /pre\n");
    }
});

run_tests();

__DATA__

=== TEST 1: plain return, chomp filter
--- config
    location = /t {
        return 200 "hello";
    }
--- request
GET /t
--- response_body chomp
hello
--- no_error_log
[error]



=== TEST 2: 404, unanchored response_body_like, error_log substrings
--- config
--- request
GET /missing.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
open() "
No such file or directory



=== TEST 3: error_log eval with a regex and a string
--- config
--- request
GET /missing2
--- error_code: 404
--- error_log eval
[qr/\[error\] \d+#\d+: \*\d+ open\(\)/, "missing2"]



=== TEST 4: response_headers, present and absent
--- config
    location = /h {
        add_header X-Foo bar;
        return 200 "h\n";
    }
--- request
GET /h
--- response_headers
X-Foo: bar
! X-Bar
Content-Type: text/plain
--- response_body
h



=== TEST 5: response_headers_like (anchored patterns)
--- config
    location = /h {
        add_header X-Num 12345;
        return 200 "h\n";
    }
--- request
GET /h
--- response_headers_like
X-Num: \d+
Server: nginx.*



=== TEST 6: more_headers, comment lines before the request
--- config
    location = /foo {
        return 200 "foo=$http_x_foo\n";
    }
--- more_headers
X-Foo: hello
--- request
# a comment line
GET /foo
--- response_body
foo=hello



=== TEST 7: POST body (Content-Length added) through proxy_pass
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location /backend {
            return 200 "body=$http_x_body len=$http_x_len\n";
        }
    }
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $content_length;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/backend;
    }
--- request
POST /echo
hello world
--- response_body
body=hello world len=11



=== TEST 8: chunked response (ssi drops Content-Length) is decoded
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location /data {
            return 200 "chunked body\n";
        }
    }
--- config
    location = /chunked {
        ssi on;
        ssi_types text/plain;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/data;
    }
--- request
GET /chunked
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_headers
! Content-Length
--- response_body
chunked body



=== TEST 9: pipelined requests on one connection
--- config
    location = /a {
        return 200 "a\n";
    }
    location = /b {
        return 200 "b\n";
    }
--- pipelined_requests eval
["GET /a", "GET /b", "GET /a"]
--- response_body eval
["a\n", "b\n", "a\n"]
--- no_error_log
[error]



=== TEST 10: request eval array, per-request expectations
--- config
    location = /a {
        add_header X-A 1;
        return 200 "a\n";
    }
--- request eval
["GET /a", "GET /nothere"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^a\$", "404 Not Found"]
--- response_headers eval
["X-A: 1", "! X-A"]
--- no_error_log
[alert]



=== TEST 11: user_files under html/, in subdirectories too
--- config
--- user_files
>>> hello.txt
hello from file
>>> sub/dir/page.html
<p>page</p>
--- request eval
["GET /hello.txt", "GET /sub/dir/page.html"]
--- response_body eval
["hello from file\n", "<p>page</p>\n"]



=== TEST 12: main_config lands in the main context
--- main_config
    timer_resolution 10ms;
--- config
    location = /a {
        return 200 "a\n";
    }
--- request
GET /a
--- response_body
a



=== TEST 13: the default "location /" serves html/index.html
--- config
--- request
GET /
--- response_body_like: It works!



=== TEST 14: $TEST_NGINX_* expanded in config and response_body
--- config
    location = /env {
        return 200
            "port=$TEST_NGINX_SERVER_PORT g=$TEST_NGINX_RUNNER_GREETING\n";
    }
--- request
GET /env
--- response_body
port=$TEST_NGINX_SERVER_PORT g=hi



=== TEST 15: must_die on an unknown directive
--- config
    location = /t {
        bogus_runner_directive on;
    }
--- must_die
--- error_log
unknown directive "bogus_runner_directive"
[emerg]



=== TEST 16: raw_request is sent as is
--- config
    location = /a {
        return 200 "a\n";
    }
--- raw_request eval
"GET /a HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
a



=== TEST 17: HEAD has no body
--- config
    location = /a {
        return 200 "a\n";
    }
--- request
HEAD /a
--- response_headers
Content-Length: 2
--- response_body



=== TEST 18: wait and timeout sections
--- config
    location = /a {
        return 200 "a\n";
    }
--- request
GET /a
--- wait: 0.1
--- timeout: 1500ms
--- response_body
a



=== TEST 19: request filled in by add_block_preprocessor
--- config
    location = /pre {
        return 200 "pre\n";
    }
--- response_body
pre



=== TEST 20: --- log_level per block
--- config
--- log_level: crit
--- request
GET /missing.txt
--- error_code: 404
--- no_error_log
[error]



=== TEST 21: must_die: main_config is at the top level
--- main_config
    worker_processes 2;
--- config
--- must_die
--- error_log
"worker_processes" directive is duplicate
[emerg]



=== TEST 22: big chunked body (ssi on a static file), user_files eval
--- config
    location = /big.txt {
        ssi on;
        ssi_types text/plain;
    }
--- user_files eval
[["big.txt", "0123456789" x 20000]]
--- request
GET /big.txt
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_body eval
"0123456789" x 20000



=== TEST 23: skipped block, would fail
--- config
    location = /t {
        return 500;
    }
--- request
GET /t
--- response_body
never
--- SKIP



=== TEST 24: response_body eval with a qr// uses like()
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body eval
qr/^hel+o\n\z/
--- LAST



=== TEST 25: after LAST, never run, would fail
--- config
    location = /t {
        return 500;
    }
--- request
GET /t
--- response_body
never
