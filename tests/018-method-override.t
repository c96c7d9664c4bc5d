# Method overrides: a read carrying X-HTTP-Method-Override, X-HTTP-Method
# or X-Method-Override (any value), or the query argument `_method`, is a
# write to the frameworks behind the proxy (Rails, Laravel, Express's
# method-override).  It goes to the owner and is never shadowed, except as
# a dry-run write.  The table's `method_override` sets the list.
use Test::Nginx::Socket;

plan tests => repeat_each() * 137;

no_root_location();
no_shuffle();

# monolith (the owner) answers; messages (the reads) and audit (the
# shadow) write what reaches them into error.log, where the blocks look
our $Backends = <<'_EOC_';
    log_format reads escape=none
        'reads-seen $request_method $request_uri '
        'override=$http_x_http_method_override dry=$http_x_dry_run';
    log_format shadow escape=none
        'shadow-seen $request_method $request_uri '
        'override=$http_x_http_method_override dry=$http_x_dry_run';

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        access_log logs/error.log reads;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        access_log logs/error.log shadow;
        location / { return 200 "audit\n"; }
    }
_EOC_

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    strangler_force_header X-Strangler-Backend;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        add_header X-Reason $strangler_reason always;
        add_header X-Shadow $strangler_shadow always;
    }
    location @messages {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Reason $strangler_reason always;
        add_header X-Shadow $strangler_shadow always;
    }
    location @audit { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3; }
_EOC_

# the route's reads are on messages, its writes on monolith, and every
# request is copied to audit; a block adds `method_override` to it
our $Routes = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, messages: {}, audit: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
    shadow: { to: audit, sample: 100 }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Front);
    $block->set_value("user_files", ">>> routes.yaml\n$Routes")
        unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: a plain read: the reads backend, and a copy to the shadow
--- request
GET /api/conversations/1
--- response_body
messages GET /api/conversations/1
--- response_headers
X-Shadow: sent
--- wait: 0.3
--- error_log eval
["reads-seen GET /api/conversations/1 override= dry=",
 "shadow-seen GET /api/conversations/1 override= dry="]
--- no_error_log
[error]



=== TEST 2: X-HTTP-Method-Override: the owner, no shadow
--- request
GET /api/conversations/1
--- more_headers
X-HTTP-Method-Override: DELETE
--- response_body
monolith GET /api/conversations/1
--- response_headers
X-Reason: template
X-Shadow: -
--- wait: 0.3
--- no_error_log
[error]
-seen



=== TEST 3: X-HTTP-Method and X-Method-Override, any value, on GET and HEAD
--- request eval
["GET /api/conversations/1", "GET /api/conversations/1",
 "HEAD /api/conversations/1", "OPTIONS /api/conversations/1"]
--- more_headers eval
["X-HTTP-Method: PUT", "X-Method-Override: GET",
 "X-HTTP-Method-Override: PATCH", "x-method-override: "]
--- response_headers eval
["X-Reason: template\nX-Shadow: -", "X-Reason: template\nX-Shadow: -",
 "X-Reason: template\nX-Shadow: -", "X-Reason: template\nX-Shadow: -"]
--- response_body eval
["monolith GET /api/conversations/1\n",
 "monolith GET /api/conversations/1\n", "",
 "monolith OPTIONS /api/conversations/1\n"]
--- wait: 0.3
--- no_error_log
[error]
-seen



=== TEST 4: the _method argument, in any case
--- request eval
["GET /api/conversations/1?_method=DELETE",
 "GET /api/conversations/1?a=1&_METHOD=put"]
--- response_body eval
["monolith GET /api/conversations/1?_method=DELETE\n",
 "monolith GET /api/conversations/1?a=1&_METHOD=put\n"]
--- wait: 0.3
--- no_error_log
[error]
-seen



=== TEST 5: an argument that only ends in _method is none
--- request
GET /api/conversations/1?x_method=DELETE
--- response_body
messages GET /api/conversations/1?x_method=DELETE
--- wait: 0.3
--- error_log
reads-seen GET /api/conversations/1?x_method=DELETE
shadow-seen GET /api/conversations/1?x_method=DELETE
--- no_error_log
[error]



=== TEST 6: the force header cannot pin an overridden read
--- request
GET /api/conversations/1
--- more_headers
X-Strangler-Backend: messages
X-HTTP-Method-Override: DELETE
--- response_body
monolith GET /api/conversations/1
--- wait: 0.3
--- error_log
ignored on a write: GET goes to the owner "monolith"
--- no_error_log
[error]
-seen



=== TEST 7: shadow.writes dry-run: the overridden read is copied as a write
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {}, audit: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
    shadow:
      to: audit
      writes: dry-run
      dry_run_header: X-Dry-Run
--- request
GET /api/conversations/1
--- more_headers
X-HTTP-Method-Override: DELETE
--- response_body
monolith GET /api/conversations/1
--- response_headers
X-Shadow: sent
--- wait: 0.3
--- error_log
shadow-seen GET /api/conversations/1 override=DELETE dry=1
--- no_error_log
[error]
reads-seen



=== TEST 8: method_override: [] turns the rule off
--- user_files eval
">>> routes.yaml\n$::Routes" . "method_override: []\n"
--- request eval
["GET /api/conversations/1?_method=DELETE", "GET /api/conversations/1"]
--- more_headers eval
["", "X-HTTP-Method-Override: DELETE"]
--- response_body eval
["messages GET /api/conversations/1?_method=DELETE\n",
 "messages GET /api/conversations/1\n"]
--- response_headers eval
["X-Shadow: sent", "X-Shadow: sent"]
--- no_error_log
[error]



=== TEST 9: a list of its own replaces the default one
--- user_files eval
">>> routes.yaml\n$::Routes"
. "method_override: [\"header:X-Tunnel-Method\", \"arg:verb\"]\n"
--- request eval
["GET /api/conversations/1", "GET /api/conversations/1?verb=DELETE",
 "GET /api/conversations/1"]
--- more_headers eval
["X-Tunnel-Method: DELETE", "", "X-HTTP-Method-Override: DELETE"]
--- response_body eval
["monolith GET /api/conversations/1\n",
 "monolith GET /api/conversations/1?verb=DELETE\n",
 "messages GET /api/conversations/1\n"]
--- no_error_log
[error]



=== TEST 10: a bad method_override is refused with file:line:col
--- user_files eval
">>> routes.yaml\n$::Routes"
. "method_override: [\"header:X-A\", \"cookie:_method\", \"X-B\", \"arg:\"]\n"
--- request
GET /
--- must_die
--- error_log eval
[qr{routes\.yaml:10:33: "method_override": expected header:NAME or arg:NAME},
 qr{routes\.yaml:10:51: "method_override": expected header:NAME or arg:NAME},
 qr{routes\.yaml:10:58: "method_override": expected header:NAME or arg:NAME}]



=== TEST 11: method_override must be a list
--- user_files eval
">>> routes.yaml\n$::Routes" . "method_override: header:X-A\n"
--- request
GET /
--- must_die
--- error_log eval
qr{routes\.yaml:10:18: "method_override" must be a list of header:NAME and arg:NAME, or \[\]}



=== TEST 12: _method as frameworks read it: encoded, bracketed, after ';'
and bare (a write: the safe side); the owner, and no copy
--- request eval
["GET /api/conversations/1?%5Fmethod=DELETE",
 "GET /api/conversations/1?%5fmethod=DELETE",
 "GET /api/conversations/1?_method[]=DELETE",
 "GET /api/conversations/1?_method%5B%5D=PUT",
 "GET /api/conversations/1?x=1;_method=DELETE",
 "GET /api/conversations/1?_method",
 "HEAD /api/conversations/1?a=1&_method&b=2"]
--- response_body eval
["monolith GET /api/conversations/1?%5Fmethod=DELETE\n",
 "monolith GET /api/conversations/1?%5fmethod=DELETE\n",
 "monolith GET /api/conversations/1?_method[]=DELETE\n",
 "monolith GET /api/conversations/1?_method%5B%5D=PUT\n",
 "monolith GET /api/conversations/1?x=1;_method=DELETE\n",
 "monolith GET /api/conversations/1?_method\n", ""]
--- response_headers eval
[("X-Reason: template\nX-Shadow: -") x 7]
--- wait: 0.3
--- no_error_log
[error]
-seen



=== TEST 13: a longer name, a value, or a name encoded twice is none
--- request eval
["GET /api/conversations/1?_methods=DELETE",
 "GET /api/conversations/1?a=_method",
 "GET /api/conversations/1?%255Fmethod=DELETE"]
--- response_body eval
["messages GET /api/conversations/1?_methods=DELETE\n",
 "messages GET /api/conversations/1?a=_method\n",
 "messages GET /api/conversations/1?%255Fmethod=DELETE\n"]
--- response_headers eval
[("X-Shadow: sent") x 3]
--- no_error_log
[error]
