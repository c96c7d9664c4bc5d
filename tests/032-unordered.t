# `shadow.unordered`: arrays whose order is not part of the answer compare
# as multisets.  A permutation is no difference; a length change is one,
# the arrays themselves; a changed element shows its changed field.  The
# diff log goes to error.log to look for it there.
use Test::Nginx::Socket;

plan tests => repeat_each() * 25;

no_root_location();
no_shuffle();

our $Routes = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: unordered
    paths: ["/api/unordered/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      compare: json
      unordered: ["$.items", "$.groups[*].tags"]
      ignore: ["$.items[*].ts"]
  - name: ordered
    paths: ["/api/ordered/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: json }
_EOC_

# the same URIs on both backends: the users service orders differently
our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location ~ /permuted$ {
            return 200 '{"items":[{"id":1,"ts":5},{"id":2,"ts":6},3],
                         "groups":[{"tags":["a","b"]}]}';
        }
        location ~ /shorter$ { return 200 '{"items":[1,2,3]}'; }
        location ~ /changed$ {
            return 200 '{"items":[{"id":1,"n":5},{"id":2,"n":6}]}';
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location ~ /permuted$ {
            return 200 '{"items":[3,{"id":2,"ts":9},{"id":1,"ts":8}],
                         "groups":[{"tags":["b","a"]}]}';
        }
        location ~ /shorter$ { return 200 '{"items":[3,1]}'; }
        location ~ /changed$ {
            return 200 '{"items":[{"id":2,"n":6},{"id":1,"n":7}]}';
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        location / {
            limit_rate 150;
            add_header X-Pad 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789;
            add_header X-Pad2 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789;
            return 204;
        }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @users { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
    location /_strangler/ { strangler_api; }

    # the route's counters, read once the shadows are done: the
    # subrequest's backend trickles its header for about two seconds
    location = /_delay {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3;
    }
    location = /later/route {
        auth_request /_delay;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_strangler/routes/unordered;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", "    strangler_zone strangler 1m;\n"
                      . "    strangler_diff_log logs/error.log;\n"
                      . $Backends);
    $block->set_value("config", $Config);
    $block->set_value("user_files", ">>> routes.yaml\n$Routes")
        unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: a permutation of an unordered array is no difference
--- request
GET /api/unordered/permuted
--- response_body_like: "items"
--- wait: 1.5
--- no_error_log
"diffs"
[error]



=== TEST 2: the same bodies on a route without `unordered` differ by index
--- request
GET /api/ordered/permuted
--- wait: 1.5
--- error_log eval
[qr/"route":"ordered".*"path":"\$\.items\[0\]"/,
 qr/"route":"ordered".*"path":"\$\.groups\[0\]\.tags\[0\]"/]
--- no_error_log
[error]



=== TEST 3: a length change is one difference, the arrays themselves
--- request
GET /api/unordered/shorter
--- wait: 1.5
--- error_log eval
qr/"route":"unordered".*"diffs":\[\{"path":"\$\.items","primary":"\[1,2,3\]","shadow":"\[3,1\]"\}\]\}$/
--- no_error_log
[error]



=== TEST 4: a changed element shows its changed field, the rest pair up
--- request
GET /api/unordered/changed
--- wait: 1.5
--- error_log eval
qr/"route":"unordered".*"diffs":\[\{"path":"\$\.items\[0\]\.n","primary":"5","shadow":"7"\}\]\}$/
--- no_error_log
[error]



=== TEST 5: the counters agree: one match, then a mismatch
--- pipelined_requests eval
["GET /api/unordered/permuted", "GET /api/unordered/shorter",
 "GET /later/route"]
--- response_body_like eval
[qr/"items"/, qr/"items"/,
 qr/"shadow": \{\s*"sent": 2,\s*"dropped": 0,\s*"timed_out": 0,\s*"matched": 1,\s*"mismatched": 1,\s*"failed": 0,\s*"not_compared": 0\s*\}/]
--- timeout: 10
--- no_error_log
[error]



=== TEST 6: shadow.unordered needs compare: json
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: r
    paths: [/a]
    owner: monolith
    shadow: { to: users, compare: body, unordered: [$.items] }
--- must_die
--- error_log
routes.yaml:8:52: route "r": shadow.unordered needs compare: json
