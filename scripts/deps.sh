#!/bin/sh
# Install every Debian 12 package danemail needs to build, test and demo.
# Idempotent: does nothing (quickly) when everything is already there.
set -eu

PKGS="build-essential pkg-config meson ninja-build clang-format
libunbound-dev libevent-dev libssl-dev librnp-dev libmilter-dev libjansson-dev
libunistring-dev libidn2-dev libcmocka-dev dns-root-data unbound-host libcurl4-openssl-dev
nsd ldnsutils openssl gnupg rnp bind9-dnsutils iproute2 procps hash-slinger
postfix swaks debhelper lintian clang libclang-rt-14-dev
libsqlite3-dev sqlite3 libpq-dev postgresql valgrind chromium libpsl-dev publicsuffix"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

# No package may start a system service while we install (nsd, postfix).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
