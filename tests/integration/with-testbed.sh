#!/usr/bin/env bash
# with-testbed.sh CMD [ARGS...] - run one integration test against a fresh
# testbed: start NSD with freshly signed zones on a free loopback port, export
# testbed.env, run CMD, and stop everything started, whatever CMD does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
testbed=${TESTBED:-$here/../testbed/testbed.sh}
dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-tb.XXXXXX")

# Pick a free port pair (served, and one where nothing must listen).
port_free() {
	! ss -Hlnu "sport = :$1" | grep -q . && ! ss -Hlnt "sport = :$1" | grep -q .
}
port=${TB_PORT:-}
if [ -z "$port" ]; then
	for p in $(seq 53535 2 53735); do
		if port_free "$p" && port_free "$((p + 1))"; then
			port=$p
			break
		fi
	done
fi
[ -n "$port" ] || { echo "Bail out! no free port for the testbed"; exit 1; }
export TB_PORT=$port TB_DOWN_PORT=${TB_DOWN_PORT:-$((port + 1))}

cleanup() {
	"$testbed" stop "$dir" >/dev/null 2>&1 || true
	if [ -n "${TB_KEEP:-}" ]; then
		echo "# testbed directory kept: $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT INT TERM

if ! "$testbed" start "$dir" >"$dir.log" 2>&1; then
	echo "Bail out! testbed did not start:"
	sed 's/^/# /' "$dir.log"
	rm -f "$dir.log"
	exit 1
fi
rm -f "$dir.log"
set -a
# shellcheck disable=SC1091
. "$dir/testbed.env"
set +a
"$@"
