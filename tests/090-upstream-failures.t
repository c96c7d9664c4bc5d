# A backend that is down (connection refused), hangs (never answers), or
# resets connections: its route answers 502 or 504 as nginx's proxy module
# would, with nginx's own error in error.log, and every other route goes on
# being served.  A write whose owner fails is never sent anywhere else.
#
# The hanging and resetting backends are small Perl servers forked here
# (stock nginx cannot hang or reset on purpose); both stop with this file.
use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);

my @Children;
my $Parent = $$;

# a port nothing listens on: bound, then closed
sub down_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# "hang": accepts, reads, never answers; "reset": reads the request, then
# closes with SO_LINGER 0, so that nginx gets a RST.  Each stops when this
# test stops, and after 10 minutes at most.
sub serve {
    my ($mode) = @_;
    my $l = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1,
                                  Timeout => 1)
        or die "listen: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        my @held;
        my $deadline = time + 600;
        while (time < $deadline && getppid() == $Parent) {
            my $c = $l->accept or next;
            if ($mode eq 'reset') {
                my $buf;
                sysread($c, $buf, 65536);
                setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
                close $c;
            } else {
                push @held, $c;
            }
        }
        POSIX::_exit(0);
    }

    close $l;
    push @Children, $pid;
    return $port;
}

$ENV{TEST_NGINX_DOWN_PORT} = down_port();
$ENV{TEST_NGINX_HANG_PORT} = serve('hang');
$ENV{TEST_NGINX_RESET_PORT} = serve('reset');

END {
    local $?;       # keep the test's exit status
    if ($$ == $Parent) {
        kill 'TERM', @Children;
        waitpid($_, 0) for @Children;
    }
}

no_root_location();
no_shuffle();

our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "monolith $request_method $request_uri\n"; }
    }
_EOC_

our $Config = <<'_EOC_';
    strangler_routes ../html/routes.yaml;
    location / { strangler; }
    location @monolith {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
    location @down {
        proxy_pass http://127.0.0.1:$TEST_NGINX_DOWN_PORT;
        add_header X-Route $strangler_route always;
    }
    location @slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_HANG_PORT;
        proxy_read_timeout 1s;
        add_header X-Route $strangler_route always;
    }
    location @reset {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RESET_PORT;
        add_header X-Route $strangler_route always;
    }
_EOC_

our $Table = <<'_EOC_';
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, down: {}, slow: {}, reset: {} }
routes:
  - name: down
    paths: ["/api/down/*"]
    owner: down
  - name: slow
    paths: ["/api/slow/*"]
    owner: slow
  - name: reset
    paths: ["/api/reset/*"]
    owner: reset
  - name: reads-down
    paths: ["/api/reads-down/*"]
    owner: monolith
    reads: down
  - name: healthy
    paths: ["/api/ok/*"]
    owner: monolith
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value("http_config", $Backends);
    $block->set_value("config", $Config) unless defined $block->config;
    $block->set_value("user_files", $Table) unless defined $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: a backend that is down: 502, connection refused
--- request
GET /api/down/1
--- error_code: 502
--- response_headers
X-Route: down
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\) while connecting to upstream/
--- no_error_log
[alert]



=== TEST 2: a backend that never answers: 504 after proxy_read_timeout
--- request
GET /api/slow/1
--- error_code: 504
--- response_headers
X-Route: slow
--- response_body_like: 504 Gateway Time-out
--- error_log eval
qr/upstream timed out \(110: Connection timed out\) while reading response header from upstream/
--- no_error_log
[alert]
--- timeout: 5



=== TEST 3: a backend that resets the connection: 502
--- request
GET /api/reset/1
--- error_code: 502
--- response_headers
X-Route: reset
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/\(104: Connection reset by peer\) while reading response header from upstream/
--- no_error_log
[alert]



=== TEST 4: every other route is served, between the failing ones
--- request eval
["GET /api/down/1", "GET /api/ok/1", "GET /api/slow/1", "GET /api/ok/2",
 "GET /api/reset/1", "GET /api/ok/3", "GET /elsewhere"]
--- error_code eval
[502, 200, 504, 200, 502, 200, 200]
--- response_body_like eval
[qr/502 Bad Gateway/, qr/^monolith GET \/api\/ok\/1$/, qr/504 Gateway Time-out/,
 qr/^monolith GET \/api\/ok\/2$/, qr/502 Bad Gateway/,
 qr/^monolith GET \/api\/ok\/3$/, qr/^monolith GET \/elsewhere$/]
--- timeout: 5
--- no_error_log
[alert]
[crit]



=== TEST 5: a write whose owner is down is not sent anywhere else
--- request
POST /api/down/orders
hello
--- error_code: 502
--- response_body_like: 502 Bad Gateway
--- error_log eval
qr/Connection refused\) while connecting to upstream, client: \S+, server: \S+, request: "POST \/api\/down\/orders HTTP\/1.1", upstream: "http:\/\/127.0.0.1:\d+\/api\/down\/orders"/



=== TEST 6: reads moved to a backend that is down fail; writes still reach the owner
--- request eval
["GET /api/reads-down/1", "POST /api/reads-down/1\nhi"]
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/502 Bad Gateway/, qr/^monolith POST \/api\/reads-down\/1$/]
--- no_error_log
[alert]



=== TEST 7: a failing backend behind keep-alive: the next request on the connection is served
--- pipelined_requests eval
["GET /api/down/1", "GET /api/ok/1"]
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/502 Bad Gateway/, qr/^monolith GET \/api\/ok\/1$/]
--- no_error_log
[alert]



=== TEST 8: a shadow to a backend that is down never reaches the client
--- user_files
>>> routes.yaml
version: 1
default: monolith
backends: { monolith: {}, down: {} }
routes:
  - name: mirrored
    paths: ["/api/mirrored/*"]
    owner: monolith
    shadow: { to: down, sample: 100, compare: status }
--- request
GET /api/mirrored/1
--- response_body
monolith GET /api/mirrored/1
--- no_error_log
[alert]
