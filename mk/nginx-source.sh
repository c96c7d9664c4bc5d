#!/bin/sh
# Unpacks the full nginx source of a Debian suite into a directory, from the
# Debian source package's orig tarball (Debian's own patches are not needed).
#
#   mk/nginx-source.sh SUITE DEST      e.g. bookworm build/src/nginx-1.22.1
#
# A deb-src entry is added next to the machine's own Debian entry, for the
# same archive, so no other host is named here.

set -e

suite=$1
dest=$2
[ -n "$suite" ] && [ -n "$dest" ] || {
    echo "usage: $0 SUITE DEST" >&2
    exit 2
}

[ -f "$dest/configure" ] && exit 0

list=/etc/apt/sources.list.d/strangler-src.sources

if [ ! -f "$list" ] || ! grep -q "Suites:.* $suite" "$list"; then
    if [ "$(id -u)" != 0 ]; then
        echo "$0: needs root once, to add a deb-src entry for $suite" >&2
        exit 1
    fi

    uri=$(awk '/^URIs:/ && /debian *$/ && !done { print $2; done = 1 }' \
          /etc/apt/sources.list.d/*.sources 2>/dev/null)
    if [ -z "$uri" ]; then
        uri=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' \
              /etc/apt/sources.list 2>/dev/null)
    fi
    [ -n "$uri" ] || {
        echo "$0: no Debian archive found in apt's sources" >&2
        exit 1
    }

    suites="bookworm trixie"
    cat > "$list" <<END
Types: deb-src
URIs: $uri
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
END
    apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get source --download-only -qq "nginx/$suite" \
     >/dev/null 2>&1 || true)

orig=$(ls "$work"/nginx_*.orig.tar.gz 2>/dev/null | head -1)
[ -n "$orig" ] || {
    echo "$0: apt-get source gave no nginx orig tarball for $suite" >&2
    exit 1
}

mkdir -p "$dest"
tar -xzf "$orig" -C "$dest" --strip-components=1
echo "nginx source: $(basename "$orig") -> $dest"
