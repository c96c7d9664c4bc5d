#!/bin/sh
# Checks that an nginx binary loads the module and accepts a configuration
# that uses each part of it (route table, dispatch, zone, state file, diff
# log, shadow settings, API): `nginx -t` in a scratch prefix.  Run as root,
# as nginx -t creates the binary's compiled-in temporary directories.
#
#   docker/check-module.sh MODULE_SO [NGINX]      (NGINX: nginx on PATH)

set -eu

so=${1:-}
nginx=${2:-nginx}
[ -f "$so" ] || {
    echo "usage: $0 MODULE_SO [NGINX]" >&2
    exit 2
}
case $so in /*) ;; *) so=$(pwd)/$so ;; esac

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
mkdir -p "$prefix/conf" "$prefix/logs"

cat >"$prefix/conf/routes.yaml" <<'END'
version: 1
default: monolith
backends: { monolith: {}, messages: {} }
routes:
  - name: conversations
    paths: ["/api/conversations/{id}"]
    owner: monolith
    reads: messages
    shadow: { sample: 10, compare: json, ignore: ["$.meta.id"] }
END

cat >"$prefix/conf/nginx.conf" <<END
load_module $so;

pid logs/nginx.pid;
error_log logs/error.log;
events { }

http {
    client_body_temp_path logs/body;
    proxy_temp_path       logs/proxy;
    access_log            off;

    strangler_zone             strangler 1m;
    strangler_state            logs/strangler.state;
    strangler_diff_log         logs/strangler-diff.jsonl;
    strangler_shadow_limit     16;
    strangler_shadow_timeout   2s;
    strangler_compare_max_body 64k;

    server {
        listen 127.0.0.1:8080;
        strangler_routes routes.yaml;
        strangler_force_header X-Strangler-Backend;

        location / { strangler; }
        location @monolith { proxy_pass http://127.0.0.1:8081; }
        location @messages { proxy_pass http://127.0.0.1:8082; }
        location /_strangler/ { strangler_api; }
    }
}
END

"$nginx" -p "$prefix/" -c conf/nginx.conf -t
echo "check-module.sh: $("$nginx" -v 2>&1 | sed 's/.*: //') loads $so"
