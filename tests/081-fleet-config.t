# strangler_etcd's configuration: what nginx refuses at start, and that a
# host whose etcd is not there yet starts and serves (the overrides of the
# state file, none here) and says so in its status.  The fleet itself,
# with a real etcd: tests/080-fleet.t.
use Test::Nginx::Socket 'no_plan';

no_root_location();
no_shuffle();

our $Front = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
    location /_strangler/ { strangler_api; }
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: inbox
    paths: [/inbox]
    reads: messages
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("config", $Front) unless $block->config;
    $block->set_value("user_files", $Table) unless $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: strangler_etcd needs a zone
--- http_config
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- config
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith { return 200 "monolith\n"; }
    location @messages { return 200 "messages\n"; }
--- must_die
--- error_log
"strangler_etcd" needs a "strangler_zone"



=== TEST 2: https verifies etcd: it needs the CA
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379;
--- must_die
--- error_log
https:// etcd endpoints need "strangler_etcd_ssl_trusted_certificate" (the CA of etcd's certificate) to verify etcd, or "strangler_etcd_ssl_verify off"



=== TEST 3: an endpoint is needed, the prefix is not enough
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd prefix=/fleet/;
--- must_die
--- error_log
"strangler_etcd" needs at least one endpoint



=== TEST 4: an invalid endpoint
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:99999;
--- must_die
--- error_log
invalid etcd endpoint "http://127.0.0.1:99999"



=== TEST 5: twice
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:2379;
    strangler_etcd 127.0.0.1:2379;
--- must_die
--- error_log
"strangler_etcd" directive is duplicate



=== TEST 6: http and https endpoints are not mixed
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379 http://127.0.0.1:2380;
    strangler_etcd_ssl_verify off;
--- must_die
--- error_log
"strangler_etcd" mixes http:// and https:// endpoints



=== TEST 7: TLS directives with http:// endpoints: no clear text unnoticed
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_etcd_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
--- must_die
--- error_log
"strangler_etcd_ssl_*" is set but the etcd endpoints are not https://



=== TEST 8: a client certificate needs its key
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379;
    strangler_etcd_ssl_verify off;
    strangler_etcd_ssl_certificate /etc/ssl/certs/ca-certificates.crt;
--- must_die
--- error_log
"strangler_etcd_ssl_certificate" and "strangler_etcd_ssl_certificate_key" go together



=== TEST 9: a trusted certificate file that is not there
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379;
    strangler_etcd_ssl_trusted_certificate /nonexistent/ca.pem;
--- must_die
--- error_log
SSL_CTX_load_verify_locations("/nonexistent/ca.pem") failed



=== TEST 10: TLS options without strangler_etcd
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd_ssl_verify off;
--- must_die
--- error_log
"strangler_etcd_ssl_*" and "strangler_etcd_user" need "strangler_etcd"



=== TEST 11: a user needs a password
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_etcd_user root;
--- must_die
--- error_log
"strangler_etcd_user" needs "strangler_etcd_password" or "strangler_etcd_password_file"



=== TEST 12: a password file that is not there
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_etcd_user root;
    strangler_etcd_password_file /nonexistent/etcd-password;
--- must_die
--- error_log
"strangler_etcd_password_file": open() "/nonexistent/etcd-password" failed



=== TEST 13: a password and a password file
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_etcd_user root;
    strangler_etcd_password pw;
    strangler_etcd_password_file /etc/hostname;
--- must_die
--- error_log
"strangler_etcd_password" and "strangler_etcd_password_file" are exclusive



=== TEST 14: an unknown TLS protocol
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd https://127.0.0.1:2379;
    strangler_etcd_ssl_verify off;
    strangler_etcd_ssl_protocols TLSv1.2 TLSv9;
--- must_die
--- error_log
invalid value "TLSv9"



=== TEST 15: a password over http:// is warned about
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    strangler_etcd_user root;
    strangler_etcd_password pw;
--- request
GET /inbox
--- response_body
messages
--- error_log
the etcd password goes in clear text to http:// endpoints



=== TEST 16: etcd not there: nginx serves, the status says so
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1 prefix=/fleet/;
--- request eval
["GET /inbox", "GET /_strangler/status"]
--- response_body_like eval
["messages",
 qr{"fleet":\s*\{\s*"endpoints":\s*\[\s*"127\.0\.0\.1:\d+"\s*\],
    \s*"endpoint":\s*"127\.0\.0\.1:\d+",\s*"prefix":\s*"/fleet/",
    \s*"connected":\s*false,}x]
--- no_error_log
[crit]



=== TEST 17: etcd not there: a change answers 503 and changes nothing
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
--- request eval
["PUT /_strangler/routes/inbox\n{\"reads\": \"monolith\"}", "GET /inbox"]
--- error_code eval
[503, 200]
--- response_body_like eval
[qr/"error":\s*"etcd is unreachable: nothing changed"/, "messages"]



=== TEST 18: a host name that cannot be a key
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_host_name "web 1/a";
--- must_die
--- error_log
"strangler_host_name" "web 1/a" is not a valid host name



=== TEST 19: a lease shorter than 2s
--- http_config
    strangler_zone strangler 1m;
    strangler_etcd http://127.0.0.1:2379;
    strangler_host_ttl 1s;
--- must_die
--- error_log
"strangler_host_ttl" must be 2s or more



=== TEST 20: strangler_host_name without strangler_etcd
--- http_config
    strangler_zone strangler 1m;
    strangler_host_name web1;
--- must_die
--- error_log
need "strangler_etcd" (and so do "strangler_host_*")
