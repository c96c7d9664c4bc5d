# The module loads, its directives parse at every level they are allowed,
# and misuse is refused.
use Test::Nginx::Socket;

plan tests => repeat_each() * 24;

no_root_location();

our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $uri\n"; }
    }
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {} }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("user_files", $Table) unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: the smallest table sends everything to the default backend
--- http_config eval: $::Backends
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- request
GET /hello
--- response_body
monolith /hello
--- no_error_log
[error]



=== TEST 2: a table at http level serves every server below it
--- http_config eval
$::Backends . q{
    strangler_routes ../html/routes.yaml;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { strangler; }
        location @monolith {
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        }
    }
}
--- config
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        add_header X-Front-Route $strangler_route;
    }
--- request
GET /hello
--- response_headers
X-Front-Route: -
--- response_body
monolith /hello
--- no_error_log
[error]



=== TEST 3: a table in a location
--- http_config eval: $::Backends
--- config
    location /api/ {
        strangler_routes ../html/routes.yaml;
        strangler;
    }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location / { return 200 "not routed\n"; }
--- request eval
["GET /api/x", "GET /x"]
--- response_body eval
["monolith /api/x\n", "not routed\n"]
--- no_error_log
[error]



=== TEST 4: strangler_routes twice at one level
--- config
    strangler_routes ../html/routes.yaml;
    strangler_routes ../html/routes.yaml;
    location / { return 200; }
--- must_die
--- error_log
"strangler_routes" directive is duplicate



=== TEST 5: strangler takes no arguments
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler on; }
    location @monolith { return 200; }
--- must_die
--- error_log
invalid number of arguments in "strangler" directive



=== TEST 6: strangler is a location directive
--- config
    strangler_routes ../html/routes.yaml;
    strangler;
    location / { return 200; }
--- must_die
--- error_log
"strangler" directive is not allowed here



=== TEST 7: the variables are empty where nothing was dispatched
--- config
    location / {
        return 200 "[$strangler_route][$strangler_backend][$strangler_reason][$strangler_shadow]\n";
    }
--- request
GET /
--- response_body
[][][][]
--- no_error_log
[error]



=== TEST 8: a named location loop is cut by nginx, not by a hang
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { strangler; }
--- request
GET /loop
--- error_code: 500
--- error_log
rewrite or internal redirection cycle
