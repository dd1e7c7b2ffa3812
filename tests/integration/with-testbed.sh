#!/usr/bin/env bash
# with-testbed.sh CMD [ARGS...] - run one integration test against a fresh
# testbed: start NSD with freshly signed zones on a free loopback port, export
# testbed.env, run CMD, and stop everything started, whatever CMD does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
testbed=${TESTBED:-$here/../testbed/testbed.sh}
dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-tb.XXXXXX")

# Free port pairs (served, and one where nothing must listen), in order.
# Below the kernel's ephemeral range (32768-60999): a client socket of an
# earlier test in TIME_WAIT does not show as a listener but blocks a bind.
port_free() {
	! ss -Hlnu "sport = :$1" | grep -q . && ! ss -Hlnt "sport = :$1" | grep -q .
}
candidates() {
	local p
	if [ -n "${TB_PORT:-}" ]; then
		echo "$TB_PORT"
		return
	fi
	for p in $(seq 15353 2 15553); do
		if port_free "$p" && port_free "$((p + 1))"; then echo "$p"; fi
	done
}
explicit_down=${TB_DOWN_PORT:-}

cleanup() {
	"$testbed" stop "$dir" >/dev/null 2>&1 || true
	if [ -n "${TB_KEEP:-}" ]; then
		echo "# testbed directory kept: $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT INT TERM

# Another test may take a port between our check and NSD's bind: try the next.
started=
tries=0
for port in $(candidates); do
	export TB_PORT=$port TB_DOWN_PORT=${explicit_down:-$((port + 1))}
	if "$testbed" start "$dir" >"$dir.log" 2>&1; then
		started=1
		break
	fi
	"$testbed" stop "$dir" >/dev/null 2>&1 || true
	tries=$((tries + 1))
	[ "$tries" -lt 5 ] && grep -qiE "busy|in use|something else answers" "$dir.log" || break
done
if [ -z "$started" ]; then
	echo "Bail out! testbed did not start:"
	sed 's/^/# /' "$dir.log" 2>/dev/null || echo "# no free port for the testbed"
	rm -f "$dir.log"
	exit 1
fi
rm -f "$dir.log"
set -a
# shellcheck disable=SC1091
. "$dir/testbed.env"
set +a
"$@"
