#!/usr/bin/env bash
# make demo: nginx on 127.0.0.1:8080 in front of a demo "monolith" and a
# demo "messages" service (extra nginx servers on 8081 and 8082), routed by
# routes/demo.yaml.  Runs in the foreground; Ctrl-C stops it.
#
# DEMO_PORT (8080; the backends take the next two ports) and DEMO_PREFIX
# (build/demo) let tests/050-readme.t run the same demo beside others.
set -euo pipefail

module=$1
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${DEMO_PREFIX:-$top/build/demo}
port=${DEMO_PORT:-8080}
monolith_port=$((port + 1))
messages_port=$((port + 2))

mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/html" "$prefix/state"
# the worker processes write the state file: as root they run as nobody
if [ "$(id -u)" = 0 ]; then chown nobody "$prefix/state"; fi
cp "$top/routes/demo.yaml" "$prefix/conf/routes.yaml"

cat > "$prefix/conf/nginx.conf" <<END
load_module $module;

daemon off;
master_process on;
worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;

events { worker_connections 1024; }

http {
    strangler_zone     strangler 1m;
    strangler_state    $prefix/state/strangler.state;
    strangler_diff_log $prefix/logs/strangler-diff.jsonl;

    log_format strangler '\$remote_addr "\$request" \$status '
                         'route=\$strangler_route backend=\$strangler_backend '
                         'reason=\$strangler_reason shadow=\$strangler_shadow';
    access_log logs/access.log strangler;

    # the legacy monolith
    server {
        listen 127.0.0.1:$monolith_port;
        access_log off;
        default_type application/json;
        location / {
            return 200 '{"served_by":"monolith","uri":"\$uri"}\n';
        }
    }

    # the new messages service
    server {
        listen 127.0.0.1:$messages_port;
        access_log off;
        default_type application/json;
        location / {
            return 200 '{"served_by":"messages","uri":"\$uri"}\n';
        }
    }

    upstream monolith { server 127.0.0.1:$monolith_port; keepalive 8; }
    upstream messages { server 127.0.0.1:$messages_port; keepalive 8; }

    server {
        listen 127.0.0.1:$port;

        strangler_routes       routes.yaml;
        strangler_force_header X-Strangler-Backend;

        location / {
            strangler;
        }

        location @monolith {
            proxy_pass http://monolith;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            add_header X-Strangler-Route \$strangler_route always;
            add_header X-Strangler-Backend \$strangler_backend always;
        }

        location @messages {
            proxy_pass http://messages;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            add_header X-Strangler-Route \$strangler_route always;
            add_header X-Strangler-Backend \$strangler_backend always;
        }

        location /_strangler/ {
            allow 127.0.0.1;
            deny all;
            strangler_api;
        }
    }
}
END

nginx=${NGINX:-/usr/sbin/nginx}
"$nginx" -p "$prefix/" -c conf/nginx.conf -t -q

cat <<END
strangler demo: nginx on http://127.0.0.1:$port (Ctrl-C stops it)
route table: $prefix/conf/routes.yaml (from routes/demo.yaml)
the README's walkthrough moves /api/users/{id}/inbox, one step at a time

  curl -i http://127.0.0.1:$port/api/conversations/42          # a read
  curl -i -X POST http://127.0.0.1:$port/api/conversations     # a write
  curl -i -H 'X-Strangler-Backend: monolith' \\
       http://127.0.0.1:$port/api/conversations/42             # pin a read
  open http://127.0.0.1:$port/_strangler/ in a browser          # the dashboard
  curl -s http://127.0.0.1:$port/_strangler/status             # the state
  curl -s http://127.0.0.1:$port/_strangler/metrics
  curl -s -X POST http://127.0.0.1:$port/_strangler/routes/conversations/rollback
  curl -s 'http://127.0.0.1:$port/_strangler/explain?method=GET&path=/api/conversations/42'
  tail -f $prefix/logs/access.log $prefix/logs/strangler-diff.jsonl

END

exec "$nginx" -p "$prefix/" -c conf/nginx.conf
