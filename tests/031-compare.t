# Comparing a response with its shadow: status, listed headers, the body
# byte for byte or as JSON (key order, whitespace and number spelling do
# not count; `ignore` paths are skipped), gzip'd bodies by their content,
# bodies over strangler_compare_max_body by hash.  Every mismatch is one
# JSON line in the diff log; the blocks write it into error.log to look
# for it there.
use Test::Nginx::Socket;

plan tests => repeat_each() * 62;

no_root_location();
no_shuffle();

our $Routes = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: status
    paths: ["/api/status/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: status }
  - name: headers
    paths: ["/api/headers/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      compare: status
      headers: [X-Version, X-Trace, Content-Type]
      ignore: ["header:x-trace"]
  - name: body
    paths: ["/api/body/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: body }
  - name: json
    paths: ["/api/json/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      compare: json
      ignore: ["$.meta.request_id", "$.items[*].id"]
_EOC_

# the same URIs on both backends, answering alike or not
our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        gzip_min_length 1;
        gzip_http_version 1.0;
        gzip_types application/json;

        location / { return 200 '{"id":1,"name":"ann"}'; }
        location /api/status/ { return 200 '{"id":1}'; }
        location /api/status/slow {
            limit_rate 100;
            return 200 '{"id":1,"pad":"0123456789012345678901234567890"}';
        }
        location /api/headers/ {
            add_header X-Version 1;
            add_header X-Trace abc;
            return 200 "same\n";
        }
        location /api/body/ { return 200 "hello world, and the rest\n"; }
        location /api/json/match {
            return 200 '{"id":1,"name":"ann","tags":["a","b"],"n":100}';
        }
        location /api/json/ignore {
            return 200 '{"name":"ann","meta":{"request_id":"m-1","v":2},
                         "items":[{"id":10,"sku":"x"},{"id":11,"sku":"y"}]}';
        }
        location /api/json/gzip {
            default_type application/json;
            gzip on;
            gzip_comp_level 1;
            return 200 '{"id":1,"name":"ann","text":"aaaaaaaaaaaaaaaaaaa"}';
        }
        location /api/json/big { return 200 '["0123456789","abcdefghij"]'; }
        location /api/json/numbers {
            return 200 '{"id":12345678901234567890,"v":1e400,"n":1}';
        }
        location /api/json/number-differs {
            return 200 '{"id":12345678901234567890,"v":1e400}';
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        gzip_min_length 1;
        gzip_http_version 1.0;
        gzip_types application/json;

        location / { return 200 '{"id":1,"name":"ann"}'; }
        location /api/status/ { return 404 '{"id":1}'; }
        location /api/headers/ {
            add_header X-Version 2;
            add_header X-Trace def;
            return 200 "same\n";
        }
        location /api/body/ { return 200 "hello there, and the rest\n"; }
        location /api/json/match {
            return 200 '{ "n": 1e2, "tags": [ "a", "b" ],
                          "name": "ann", "id": 1.0 }';
        }
        location /api/json/ignore {
            return 200 '{"name":"bob","meta":{"request_id":"u-9","v":2},
                         "items":[{"id":20,"sku":"x"},{"id":21,"sku":"z"}]}';
        }
        location /api/json/gzip {
            default_type application/json;
            gzip on;
            gzip_comp_level 9;
            return 200 '{"text":"aaaaaaaaaaaaaaaaaaa","name":"$arg_name",
                         "id":1}';
        }
        location /api/json/big { return 200 '["0123456789","abcdefghiJ"]'; }
        location /api/json/numbers {
            return 200 '{"n":1.0,"v":10E399,"id":12345678901234567890.0}';
        }
        location /api/json/number-differs {
            return 200 '{"id":12345678901234567891,"v":1e400}';
        }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @users { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';

    $http = "    strangler_diff_log logs/error.log;\n$http"
        unless $http =~ /strangler_diff_log/;

    $block->set_value("http_config", $Backends . $http);
    $block->set_value("config", $Config . ($block->config // ''));
    $block->set_value("user_files", ">>> routes.yaml\n$Routes")
        unless defined $block->user_files;
});

# a route's shadow counters in /_strangler/status, as a regex
# the shadow outcomes: sent, dropped, timed_out, matched, mismatched, then
# failed and not_compared (0 unless given)
sub counters {
    my @names = qw(sent dropped timed_out matched mismatched failed
                   not_compared);
    my @n = (@_, (0) x (7 - @_));
    my $kv = join ',\s*', map { "\"$names[$_]\":\\s*$n[$_]" } 0 .. 6;
    return "\"shadow\":\\s*\\{\\s*$kv\\s*\\}";
}

run_tests();

__DATA__

=== TEST 1: JSON alike but for key order, whitespace and number spelling
--- request
GET /api/json/match
--- response_body chomp
{"id":1,"name":"ann","tags":["a","b"],"n":100}
--- wait: 1.5
--- no_error_log
"diffs"
[error]



=== TEST 2: a status mismatch: one diff log line with all it should say
--- request
GET /api/status/1?x=1
--- response_body chomp
{"id":1}
--- wait: 1.5
--- error_log eval
qr/^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d","route":"status","method":"GET","uri":"\/api\/status\/1\?x=1","request_id":"[0-9a-f]{32}","primary":\{"backend":"monolith","status":200\},"shadow":\{"backend":"users","status":404\},"diffs":\[\{"path":"status","primary":"200","shadow":"404"\}\]\}$/
--- no_error_log
[error]



=== TEST 3: listed headers are compared, but for the ignored one
--- request
GET /api/headers/1
--- response_headers
X-Version: 1
--- wait: 1.5
--- error_log eval
qr/"route":"headers".*"diffs":\[\{"path":"header:X-Version","primary":"1","shadow":"2"\}\]\}$/
--- no_error_log
"header:X-Trace"
[error]



=== TEST 4: bodies byte for byte
--- request
GET /api/body/1
--- response_body
hello world, and the rest
--- wait: 1.5
--- error_log eval
qr/"route":"body".*"diffs":\[\{"path":"body","primary":"hello world, and the rest\\n","shadow":"hello there, and the rest\\n"\}\]\}$/
--- no_error_log
[error]



=== TEST 5: JSON: the differing leaves by path, ignored paths skipped
--- request
GET /api/json/ignore
--- wait: 1.5
--- error_log eval
qr/"route":"json".*"diffs":\[\{"path":"\$\.name","primary":"\\"ann\\"","shadow":"\\"bob\\""\},\{"path":"\$\.items\[1\]\.sku","primary":"\\"y\\"","shadow":"\\"z\\""\}\]\}$/
--- no_error_log
request_id":"m-1
[error]



=== TEST 6: gzip'd JSON compressed differently compares by its content
--- request
GET /api/json/gzip?name=ann
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
--- wait: 1.5
--- no_error_log
"diffs"
[error]



=== TEST 7: a gzip'd mismatch shows the decoded values
--- request
GET /api/json/gzip?name=bob
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
--- wait: 1.5
--- error_log eval
qr/"route":"json".*"diffs":\[\{"path":"\$\.name","primary":"\\"ann\\"","shadow":"\\"bob\\""\}\]\}$/
--- no_error_log
[error]



=== TEST 8: bodies over strangler_compare_max_body compare by hash
--- http_config
    strangler_compare_max_body 16;
--- request
GET /api/json/big
--- wait: 1.5
--- error_log eval
qr/"route":"json".*"diffs":\[\{"path":"body","primary":"\(27 bytes, sha256:[0-9a-f]{16}\.\.\.\)","shadow":"\(27 bytes, sha256:[0-9a-f]{16}\.\.\.\)"\}\]\}$/
--- no_error_log
[error]



=== TEST 9: the diff log file, and the counters, read back
--- http_config
    strangler_zone strangler 1m;
    strangler_diff_log logs/diff.jsonl;

    # answers in about two seconds: its header trickles at 150 bytes/s
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        location / {
            limit_rate 150;
            add_header X-Pad 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789;
            add_header X-Pad2 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789;
            return 204;
        }
    }
--- config
    location = /_delay {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_5;
    }
    location /_strangler/ { strangler_api; }
    location = /later/diff.jsonl {
        auth_request /_delay;
        alias logs/diff.jsonl;
    }
    location = /later/status {
        auth_request /_delay;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_strangler/status;
    }
--- pipelined_requests eval
["GET /api/status/1", "GET /api/json/match", "GET /api/json/ignore",
 "GET /later/diff.jsonl", "GET /later/status"]
--- response_body_like eval
[qr/^\{"id":1\}$/, qr/"tags"/, qr/"items"/,
 qr/\A(?=[\s\S]*"route":"status")(?=[\s\S]*"route":"json")(?:\{[^\n]*\}\n){2}\z/,
 qr/${\ main::counters(1, 0, 0, 0, 1)}.*${\ main::counters(2, 0, 0, 1, 1)}/s]
--- timeout: 10
--- no_error_log
[error]



=== TEST 10: HEAD responses have no body, and are compared all the same
--- request
HEAD /api/status/2
--- wait: 1.5
--- error_log eval
qr/"route":"status","method":"HEAD".*"diffs":\[\{"path":"status","primary":"200","shadow":"404"\}\]\}$/
--- no_error_log
[error]



=== TEST 11: a primary slower than its shadow is compared when it ends
--- request
GET /api/status/slow
--- response_body chomp
{"id":1,"pad":"0123456789012345678901234567890"}
--- wait: 2.5
--- error_log eval
qr/"uri":"\/api\/status\/slow".*"diffs":\[\{"path":"status","primary":"200","shadow":"404"\}\]\}$/
--- no_error_log
timed out
[error]



=== TEST 12: JSON numbers beyond 64 bits or a double compare by value
--- request
GET /api/json/numbers
--- response_body chomp
{"id":12345678901234567890,"v":1e400,"n":1}
--- wait: 1.5
--- no_error_log
"diffs"
[error]



=== TEST 13: ... and differ by value, shown in decimal
--- request
GET /api/json/number-differs
--- wait: 1.5
--- error_log eval
qr/"route":"json".*"diffs":\[\{"path":"\$\.id","primary":"1\.234567890123456789e19","shadow":"1\.2345678901234567891e19"\}\]\}$/
--- no_error_log
[error]
