#!/bin/sh
# Builds ngx_http_strangler_module.so for an nginx you already have: the
# module is compiled against that nginx's own source version with its own
# configure arguments (from `nginx -V`), so the binary loads it.  The
# Docker image runs this against the official image's nginx; .ci/run runs
# it against Debian's nginx source and the system nginx.
#
#   docker/build-module.sh NGINX_SOURCE_DIR OUTPUT_DIR
#
#   NGINX=/usr/sbin/nginx     the binary whose `nginx -V` is read (default:
#                             nginx on PATH); its version must be the
#                             source's
#   NGINX_CONFIGURE_ARGS=...  configure arguments to use instead, quoted as
#                             `nginx -V` prints them
#
# The source tree is left untouched: configure runs in a copy.  Other
# dynamic modules in the arguments (--with-X=dynamic, --add-module...)
# are left out: their libraries are not needed for this one.

set -eu

src=${1:-}
out=${2:-}
if [ -z "$src" ] || [ -z "$out" ]; then
    echo "usage: $0 NGINX_SOURCE_DIR OUTPUT_DIR" >&2
    exit 2
fi
[ -x "$src/configure" ] || {
    echo "$0: $src: not an nginx source tree (no ./configure)" >&2
    exit 1
}

module_dir=$(cd "$(dirname "$0")/.." && pwd)
src_version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
              "$src/src/core/nginx.h")

if [ -n "${NGINX_CONFIGURE_ARGS+set}" ]; then
    args=$NGINX_CONFIGURE_ARGS
else
    nginx=${NGINX:-nginx}
    bin_version=$("$nginx" -v 2>&1 | sed -n 's|^nginx version: nginx/||p')
    if [ "$bin_version" != "$src_version" ]; then
        echo "$0: $nginx is nginx $bin_version, the source is" \
             "$src_version: the module would not load" >&2
        exit 1
    fi
    args=$("$nginx" -V 2>&1 | sed -n 's/^configure arguments: //p')
fi

# `nginx -V` prints the arguments quoted for a shell (--with-cc-opt='-g
# -O2 ...'): let the shell split them, then keep what this build needs
eval "set -- $args"
for arg do
    shift
    case $arg in
        --add-module=*|--add-dynamic-module=*|--with-*=dynamic) ;;
        --with-compat) ;;
        *) set -- "$@" "$arg" ;;
    esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$src/." "$work/"
rm -rf "$work/objs" "$work/Makefile"

echo "build-module.sh: nginx $src_version, configure $*"
(cd "$work" && ./configure --with-compat "$@" \
    --add-dynamic-module="$module_dir" >configure.log 2>&1) || {
    tail -20 "$work/configure.log" >&2
    exit 1
}
make -C "$work" -f objs/Makefile modules >"$work/make.log" 2>&1 || {
    tail -30 "$work/make.log" >&2
    exit 1
}

mkdir -p "$out"
cp "$work/objs/ngx_http_strangler_module.so" "$out/"
echo "build-module.sh: $out/ngx_http_strangler_module.so"
