# The streaming JSON comparer through nginx: a large answer is compared in
# slices (each on a posted event, so that it never holds the worker for
# long) and its difference found all the same; numbers compare by exact
# decimal value; a repeated key pairs by occurrence.
use Test::Nginx::Socket;

plan tests => repeat_each() * 14;

no_root_location();
no_shuffle();

our $Routes = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: json
    paths: ["/api/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: json }
_EOC_

# each backend serves its own copy of the answers, from html/a or html/b
our $Backends = <<'_EOC_';
    strangler_diff_log logs/error.log;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        default_type application/json;
        location / { root html/a; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        default_type application/json;
        location / { root html/b; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    location @users { proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2; }
_EOC_

# 8,000 items (about 700 KB); the other side: one price changed, and the
# last item's keys in another order
sub big {
    my $other = shift;
    my @items;
    for my $i (0 .. 7999) {
        my $price = ($other && $i == 7000) ? "20.00" : "19.99";
        my $tags = '"tags":["x","y"]';
        push @items, ($other && $i == 7999)
            ? qq({$tags,"price":"$price","name":"Zo\\u00eb","id":$i})
            : qq({"id":$i,"name":"Zo\xc3\xab","price":"$price",$tags});
    }
    return '{"total":8000,"items":[' . join(",", @items) . ']}';
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Config);
    $block->set_value("user_files", ">>> routes.yaml\n$Routes"
                                    . ($block->user_files // ''));
});

run_tests();

__DATA__

=== TEST 1: a 700 KB answer is compared in slices, its difference found
--- user_files eval
">>> a/api/big\n" . main::big(0) . "\n>>> b/api/big\n" . main::big(1) . "\n"
--- request
GET /api/big
--- response_body_like: ^\{"total":8000,"items":\[
--- wait: 2
--- error_log eval
[qr/"diffs":\[\{"path":"\$\.items\[7000\]\.price","primary":"\\"19\.99\\"","shadow":"\\"20\.00\\""\}\]\}$/,
 qr/shadow of "GET \/api\/big" compared in \d+ slices/,
 qr/shadow of "GET \/api\/big" to "\@users" mismatched: 1 differences/]
--- no_error_log
[error]



=== TEST 2: numbers by exact decimal value, not as doubles
--- user_files
>>> a/api/n
{"a":0.1,"b":1,"c":9007199254740993}
>>> b/api/n
{"a":0.10000000000000001,"b":1.0e0,"c":9007199254740992.0}
--- request
GET /api/n
--- response_body
{"a":0.1,"b":1,"c":9007199254740993}
--- wait: 1.5
--- error_log eval
qr/"diffs":\[\{"path":"\$\.a","primary":"0\.1","shadow":"0\.10000000000000001"\},\{"path":"\$\.c","primary":"9007199254740993","shadow":"9007199254740992\.0"\}\]\}$/
--- no_error_log
[error]



=== TEST 3: a repeated key pairs by occurrence, the last does not win
--- user_files
>>> a/api/dup
{"a":1,"a":2,"b":3}
>>> b/api/dup
{"b":3,"a":2}
--- request
GET /api/dup
--- response_body
{"a":1,"a":2,"b":3}
--- wait: 1.5
--- error_log eval
qr/"diffs":\[\{"path":"\$\.a","primary":"1","shadow":"2"\},\{"path":"\$\.a","primary":"2","shadow":null\}\]\}$/
--- no_error_log
[error]
