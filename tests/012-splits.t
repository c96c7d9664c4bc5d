# Weighted read splits: sticky keys from a header, a cookie, an argument or
# the client address always land on the same side; writes stay with the
# owner.  The keys were chosen with `strangler explain ... --header K:V`:
# the hash is fixed, so they land on the same side on every machine.
use Test::Nginx::Socket;

plan tests => repeat_each() * 163;

no_root_location();
no_shuffle();

our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Front = <<'_EOC_';
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
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: inbox
    paths: ["/api/inbox"]
    owner: monolith
    reads: { messages: 20, monolith: 80 }
    sticky: header:X-User-Id
  - name: feed
    paths: ["/api/feed"]
    reads: { messages: 50, monolith: 50 }
    sticky: cookie:uid
  - name: search
    paths: ["/api/search"]
    reads: { messages: 50, monolith: 50 }
    sticky: arg:user
  - name: home
    paths: ["/api/home"]
    reads: { messages: 50, monolith: 50 }
    sticky: ip
  - name: random
    paths: ["/api/random"]
    reads: { messages: 1, monolith: 1 }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Front);
    $block->set_value("user_files", $Table);
});

run_tests();

__DATA__

=== TEST 1: a header key: user 6 reads from messages, every time
--- request eval
["GET /api/inbox", "GET /api/inbox", "GET /api/inbox"]
--- more_headers
X-User-Id: 6
--- response_body eval
[("messages GET /api/inbox\n") x 3]
--- no_error_log
[error]



=== TEST 2: a header key: user 1 reads from the monolith
--- request
GET /api/inbox
--- more_headers
X-User-Id: 1
--- response_body
monolith GET /api/inbox
--- response_headers
X-Reason: split
--- no_error_log
[error]



=== TEST 3: a write with a key that reads from messages goes to the owner
--- request
POST /api/inbox
x
--- more_headers
X-User-Id: 6
--- response_body
monolith POST /api/inbox
--- response_headers
X-Reason: exact
--- no_error_log
[error]



=== TEST 4: a cookie key lands on each side
--- request eval
["GET /api/feed", "GET /api/feed"]
--- more_headers eval
["Cookie: theme=dark; uid=a", "Cookie: uid=c"]
--- response_body eval
["messages GET /api/feed\n", "monolith GET /api/feed\n"]
--- response_headers eval
["X-Reason: split", "X-Reason: split"]
--- no_error_log
[error]



=== TEST 5: an argument key lands on each side
--- request eval
["GET /api/search?q=x&user=a", "GET /api/search?user=c"]
--- response_body eval
["messages GET /api/search?q=x&user=a\n",
 "monolith GET /api/search?user=c\n"]
--- no_error_log
[error]



=== TEST 6: the client address as the key
--- request eval
["GET /api/home", "GET /api/home", "GET /api/home"]
--- response_body eval
["monolith GET /api/home\n", "monolith GET /api/home\n",
 "monolith GET /api/home\n"]
--- response_headers eval
["X-Reason: split", "X-Reason: split", "X-Reason: split"]
--- no_error_log
[error]



=== TEST 7: without a key, each read is picked at random among the weights
--- request eval
[("GET /api/random") x 40]
--- response_body_like eval
[("^(monolith|messages) GET /api/random\$") x 40]
--- no_error_log
[error]
