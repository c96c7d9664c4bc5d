# Overrides apply to the next request in every worker: two workers, and
# enough requests (each on its own connection) that both serve some.
use Test::Nginx::Socket;

# blocks change the zone (counters, overrides): each runs once
repeat_each(1);

plan tests => repeat_each() * 689;

master_on();
workers(2);
no_root_location();
no_shuffle();

our $HttpConfig = <<'_EOC_';
    strangler_zone strangler 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location / { return 200 "messages $request_method $request_uri\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
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
    location /_strangler/ { strangler_api; }
_EOC_

# conversations: reads moved to messages; orders: fully moved
our $Routes = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
  - name: orders
    paths: ["/api/orders/{id}"]
    owner: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $HttpConfig)
        unless defined $block->http_config;
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("user_files", $Routes)
        unless defined $block->user_files;
});

# N requests "METHOD PATH/1".. "METHOD PATH/N", and what each must get
sub many {
    my ($n, $method, $path) = @_;
    return map { "$method $path/$_" . ($method eq 'GET' ? '' : "\nx") }
           1 .. $n;
}

sub served_by {
    my ($n, $backend, $method) = @_;
    return map { "\\A$backend $method " } 1 .. $n;
}

run_tests();

__DATA__

=== TEST 1: without an override: reads to messages, writes to the owner
--- request eval
[ main::many(10, "GET", "/api/conversations"),
  main::many(10, "POST", "/api/conversations") ]
--- response_body_like eval
[ main::served_by(10, "messages", "GET"),
  main::served_by(10, "monolith", "POST") ]
--- no_error_log
[error]



=== TEST 2: override the reads: the next reads, in every worker, move
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  main::many(20, "GET", "/api/conversations"),
  main::many(5, "POST", "/api/conversations") ]
--- response_body_like eval
[ '"effective": \{\s+"owner": "monolith",\s+"reads": "monolith"',
  main::served_by(20, "monolith", "GET"),
  main::served_by(5, "monolith", "POST") ]
--- no_error_log
[error]



=== TEST 3: $strangler_reason says override
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "GET /api/conversations/1", "GET /api/conversations/2",
  "POST /api/conversations/1\nx" ]
--- response_headers eval
[ "", "X-Reason: override", "X-Reason: override", "X-Reason: template" ]
--- no_error_log
[error]



=== TEST 4: the owner rule: a reads override never moves a write
--- request eval
[ "PUT /_strangler/routes/orders\n{\"reads\": \"monolith\"}",
  main::many(10, "GET", "/api/orders"),
  main::many(10, "DELETE", "/api/orders") ]
--- response_body_like eval
[ '"reads": "monolith"',
  main::served_by(10, "monolith", "GET"),
  main::served_by(10, "messages", "DELETE") ]
--- no_error_log
[error]



=== TEST 5: the owner rule: only "owner" moves the writes
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"owner\": \"messages\"}",
  main::many(10, "POST", "/api/conversations"),
  main::many(10, "GET", "/api/conversations") ]
--- response_body_like eval
[ '"effective": \{\s+"owner": "messages",\s+"reads": "messages"',
  main::served_by(10, "messages", "POST"),
  main::served_by(10, "messages", "GET") ]
--- no_error_log
[error]



=== TEST 6: rollback never moves writes: a route the new service owns
--- request eval
[ "POST /_strangler/routes/orders/rollback",
  main::many(10, "GET", "/api/orders"),
  main::many(10, "PUT", "/api/orders") ]
--- response_body_like eval
[ '\A\{\s+"rollback": \{\s+"result": "nothing to roll back",\s+'
  . '"changed": \{\}\s+\},\s+"name": "orders",.*"effective": \{\s+'
  . '"owner": "messages",\s+"reads": "messages",.*"override": null,',
  main::served_by(10, "messages", "GET"),
  main::served_by(10, "messages", "PUT") ]
--- no_error_log
[error]



=== TEST 7: rollback drops the override: writes to the table's owner again
--- request eval
[ "PUT /_strangler/routes/orders\n{\"owner\": \"monolith\", "
  . "\"reads\": \"monolith\"}",
  main::many(5, "PUT", "/api/orders"),
  "POST /_strangler/routes/orders/rollback",
  main::many(10, "GET", "/api/orders"),
  main::many(10, "PUT", "/api/orders"),
  "POST /_strangler/routes/orders/rollback" ]
--- response_body_like eval
[ '"owner": "monolith"',
  main::served_by(5, "monolith", "PUT"),
  '\A\{\s+"rollback": \{\s+"result": "rolled back",\s+"changed": \{\s+'
  . '"owner": \{\s+"from": "monolith",\s+"to": "messages"\s+\},\s+'
  . '"reads": \{\s+"from": "monolith",\s+"to": "messages"\s+\}\s+\}\s+\},'
  . '.*"override": \{\s+"reads": "messages",\s+"by"',
  main::served_by(10, "messages", "GET"),
  main::served_by(10, "messages", "PUT"),
  '"result": "nothing to roll back",\s+"changed": \{\}' ]
--- no_error_log
[error]



=== TEST 8: rollback pins the reads to the owner; writes stay there
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"messages\"}",
  "POST /_strangler/routes/conversations/rollback",
  main::many(10, "GET", "/api/conversations"),
  main::many(5, "POST", "/api/conversations"),
  "DELETE /_strangler/routes/conversations",
  main::many(10, "GET", "/api/conversations") ]
--- response_body_like eval
[ '"override": \{\s+"reads": "messages",',
  '"result": "rolled back",\s+"changed": \{\s+"reads": \{\s+'
  . '"from": "messages",\s+"to": "monolith"\s+\}\s+\}.*'
  . '"effective": \{\s+"owner": "monolith",\s+"reads": "monolith",',
  main::served_by(10, "monolith", "GET"),
  main::served_by(5, "monolith", "POST"),
  '"override": null,',
  main::served_by(10, "messages", "GET") ]
--- no_error_log
[error]



=== TEST 9: a partial PUT keeps the other fields; null drops one
--- request eval
[ "PUT /_strangler/routes/conversations\n{\"reads\": \"monolith\"}",
  "PUT /_strangler/routes/conversations\n{\"owner\": \"messages\"}",
  "PUT /_strangler/routes/conversations\n{\"reads\": null}",
  main::many(10, "GET", "/api/conversations"),
  main::many(5, "POST", "/api/conversations") ]
--- response_body_like eval
[ '"override": \{\s+"reads": "monolith",\s+"by"',
  '"override": \{\s+"reads": "monolith",\s+"owner": "messages",',
  '"override": \{\s+"owner": "messages",\s+"by"',
  main::served_by(10, "messages", "GET"),
  main::served_by(5, "messages", "POST") ]
--- no_error_log
[error]



=== TEST 10: counters from every worker add up in the zone
--- request eval
[ main::many(30, "GET", "/api/conversations"),
  main::many(12, "POST", "/api/conversations"),
  "GET /_strangler/routes/conversations" ]
--- response_body_like eval
[ main::served_by(30, "messages", "GET"),
  main::served_by(12, "monolith", "POST"),
  '(?=.*"messages": \{\s+"requests": 30,\s+"responses": \{\s+"1xx": 0,'
  . '\s+"2xx": 30,)(?=.*"monolith": \{\s+"requests": 12,)' ]
--- no_error_log
[error]
