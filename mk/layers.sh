#!/bin/sh
# Compiles each folder of the nginx glue with only the include paths of
# the folders its layer may use, so that an include or a call that runs
# up (a lower folder naming a higher one) fails here, the way core/ is
# kept free of nginx by being built with core/ alone.
#
#   mk/layers.sh GLUE_DIR CORE_DIR NGINX_TREE [CC]
#
# GLUE_DIR is ngx_strangler_module/nginx, CORE_DIR the route-table core,
# NGINX_TREE a configured nginx source tree (its objs/ has
# ngx_auto_config.h and the dashboard's page).  The layers, from the top:
# the module's own file (the one that knows every folder) above api,
# request, shadow, guard, fleet, state; the glue's root holds only the
# types every folder shares.

set -e

glue=$1
core=$2
tree=$3
cc=${4:-cc}

if [ ! -d "$glue" ] || [ ! -d "$core" ] \
   || [ ! -f "$tree/objs/ngx_auto_config.h" ]
then
    echo "usage: mk/layers.sh GLUE_DIR CORE_DIR CONFIGURED_NGINX_TREE [CC]" >&2
    exit 2
fi

order="api request shadow guard fleet state"

ngx_incs=""
for d in src/core src/event src/event/modules src/os/unix objs src/http \
         src/http/modules src/http/v2
do
    ngx_incs="$ngx_incs -I$tree/$d"
done

# nginx's own flags (auto/cc/gcc), -Werror: a call without a declaration,
# which an upward call is once the higher header is out of reach, fails
flags="-fsyntax-only -W -Wall -Wpointer-arith -Wno-unused-parameter -Werror"

failed=0

for layer in $order; do
    # this folder and every one below it
    below=0
    incs="-I$core -I$glue"
    for d in $order; do
        [ "$d" = "$layer" ] && below=1
        [ $below = 1 ] && incs="$incs -I$glue/$d"
    done

    for src in "$glue/$layer"/*.c; do
        if ! $cc $flags $ngx_incs $incs "$src" 2>"$tree/layers.err"; then
            echo "layers: $src reaches above $layer/:" >&2
            grep -E "error" "$tree/layers.err" | head -5 >&2
            failed=1
        fi
    done
done

# a folder in no layer would be checked by nobody
for d in "$glue"/*/; do
    d=$(basename "$d")
    case " $order " in
    *" $d "*) ;;
    *) echo "layers: $glue/$d/ is in no layer (mk/layers.sh)" >&2
       failed=1 ;;
    esac
done

rm -f "$tree/layers.err"

if [ $failed = 1 ]; then
    exit 1
fi

echo "layers: $order: each folder builds with the folders below it only"
