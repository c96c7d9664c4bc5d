# What 035-noise.t and 037-ignore.t share: a table with a noise-cancelled
# route (`items`), a compared one (`plain`) and an uncompared one
# (`quiet`); the backends: the monolith answers a fresh `ts` on every
# call and logs every request with the shadow marker into error.log, the
# users service differs in `ts` always and in `total` on /odd, and a
# third trickles its header for about two seconds; the front: dispatch,
# the API, and the API read through /later/ once the shadows are done.
# On PERL5LIB by the Makefile (tests/helpers).

package StranglerNoise;

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw($Routes $Backends $Config);

our $Routes = <<'_EOC_';
version: 1
default: monolith
backends: { monolith: {}, users: {} }
routes:
  - name: items
    paths: ["/api/items/*"]
    owner: monolith
    shadow:
      to: users
      sample: 100
      noise: 100
      compare: json
      writes: dry-run
      dry_run_header: X-Dry-Run
  - name: plain
    paths: ["/api/plain/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: json }
  - name: quiet
    paths: ["/api/quiet/*"]
    owner: monolith
    shadow: { to: users, sample: 100, compare: off }
_EOC_

our $Backends = <<'_EOC_';
    log_format owner 'owner got $request_method $uri '
                     'shadow=$http_x_strangler_shadow';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        access_log logs/error.log owner;
        location / {
            default_type application/json;
            return 200 '{"ts":"$request_id","total":10,"id":1}';
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        location ~ /odd$ {
            default_type application/json;
            return 200 '{"ts":"$request_id","total":11,"id":1}';
        }
        location / {
            default_type application/json;
            return 200 '{"ts":"$request_id","total":10,"id":1}';
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

    # the API, read once the shadows are done: the subrequest's backend
    # trickles its header for about two seconds
    location = /_delay {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3;
    }
    location /later/ {
        auth_request /_delay;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/_strangler/;
    }
_EOC_

1;
