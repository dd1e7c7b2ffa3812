#!/bin/sh
# scripts/demo.sh - install what is missing, build, and show danemail on the
# local testbed: NSD serving DNSSEC-signed zones on loopback, validated by
# libunbound.  Looks up a secure, an insecure, a bogus and a missing name and
# checks each exit code.  Idempotent; ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

./scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-demo.XXXXXX")
trap './tests/testbed/testbed.sh stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT INT TERM
# pick a free port for the testbed's DNS server
for p in $(seq 53535 2 53735); do
	if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnu "sport = :$((p + 1))" | grep -q .; then
		break
	fi
done
echo "== starting the testbed (NSD on 127.0.0.1:$p, zones signed now)"
TB_PORT=$p TB_DOWN_PORT=$((p + 1)) ./tests/testbed/testbed.sh start "$dir" >/dev/null
. "$dir/testbed.env"

passed=0
failed=0
show() { # show WANT-EXIT ARGS...
	want=$1
	shift
	echo
	echo "\$ danemail lookup $*"
	set +e
	./build/src/cli/danemail lookup --config "$TB_UNBOUND_CONF" "$@"
	got=$?
	set -e
	if [ "$got" -eq "$want" ]; then
		echo "-> exit $got, as expected"
		passed=$((passed + 1))
	else
		echo "-> exit $got, expected $want"
		failed=$((failed + 1))
	fi
}
show 0 smimea bob@secure.test
show 0 openpgpkey bob@secure.test
show 0 tlsa mail.secure.test
show 2 smimea bob@insecure.test
show 3 smimea bob@bogus.test
show 1 smimea nobody@secure.test
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
