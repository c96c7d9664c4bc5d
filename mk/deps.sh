#!/bin/sh
# Installs the Debian packages a make target needs, when they are missing.
# As root it installs them; otherwise it names them and fails.
#
#   mk/deps.sh build|test|asan|bench|fuzz ...

set -e

# libcurl: `strangler plan` reads the API of one host or several
pkgs_build="gcc make libc6-dev nginx nginx-dev libpcre2-dev libyaml-dev
            libjansson-dev zlib1g-dev libssl-dev libcurl4-openssl-dev"
# real clients for tests/036-real-clients.t: HTTP/2 (curl, h2load),
# WebSocket (python3-websockets), the metrics checked by promtool; a real
# browser and Prometheus for the dashboard's tests (07x); etcd (server and
# client) for tests/080-fleet.t, and openssl for 082's certificates
pkgs_test="libtest-base-perl curl valgrind nghttp2-client python3-websockets
           prometheus chromium python3 fonts-dejavu-core etcd-server
           etcd-client openssl"
pkgs_asan="libpcre2-dev zlib1g-dev libssl-dev"
pkgs_bench="wrk haproxy hyperfine nghttp2-client python3-websockets"
pkgs_fuzz="clang libclang-rt-14-dev"

want=""
for purpose in "$@"; do
    eval "list=\$pkgs_$purpose"
    if [ -z "$list" ]; then
        echo "mk/deps.sh: unknown purpose \"$purpose\"" >&2
        exit 2
    fi
    want="$want $list"
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null \
         | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "install them as root: apt-get install$missing" >&2
    exit 1
fi

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# several builds may install at once: wait for dpkg's lock, do not fail
apt_wait="-o DPkg::Lock::Timeout=600"
apt-get $apt_wait update -qq
# the nginx package starts a server on port 80; we only need its binary
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.strangler
if [ ! -e /usr/sbin/policy-rc.d ]; then
    mv /usr/sbin/policy-rc.d.strangler /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
else
    rm -f /usr/sbin/policy-rc.d.strangler
fi
apt-get $apt_wait install -y -qq --no-install-recommends $missing >/dev/null
