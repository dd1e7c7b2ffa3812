#!/usr/bin/env bash
# scripts/soak.sh [N] - the soak of danemail-milter: N messages (default
# 100000) through a real Postfix on loopback and the milter, with a fresh
# testbed (NSD + libunbound) behind it; every delivery checked while the
# mail flows (tests/integration/hardening/soak.sh and soak.py: the mix of
# recipients, sizes and formats, and the checks).  Prints TAP and a summary:
# msg/s, latency, deferred-then-delivered count, the milter's RSS over time.
# A shortened run (500 messages) is the meson test integration-hardening-soak.
#
# Environment: BUILD (build: the build directory, set up and built if
# needed), SOAK_CONC (8 SMTP sessions), SOAK_BIG_EVERY (100: every Nth
# message is 1-5 MB), SOAK_SENDMAIL_EVERY (50), SOAK_RSS_EVERY (seconds
# between RSS samples, default N/2000 bounded to 2..60), SOAK_REPORT (keep
# the JSON report there), SOAK_NICE (10).
# Needs root (Postfix), python3 (soak.py speaks SMTP itself), openssl, rnp.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
BUILD=${BUILD:-build}
case $N in '' | *[!0-9]*) echo "usage: scripts/soak.sh [N]" >&2 && exit 64 ;; esac
[ "$(id -u)" -eq 0 ] || {
	echo "soak.sh: needs root (it starts Postfix on loopback)" >&2
	exit 1
}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" src/milter/danemail-milter >/dev/null

every=$((N / 2000))
[ "$every" -lt 2 ] && every=2
[ "$every" -gt 60 ] && every=60
export SOAK_MSGS=$N SOAK_CONC=${SOAK_CONC:-8} SOAK_RSS_EVERY=${SOAK_RSS_EVERY:-$every}
export DANEMAIL_MILTER=$PWD/$BUILD/src/milter/danemail-milter
export TESTBED=$PWD/tests/testbed/testbed.sh
# uN@secure.test: names no cache holds yet (a part of the S/MIME recipients)
export TB_BENCH_NAMES=${TB_BENCH_NAMES:-2000}
exec nice -n "${SOAK_NICE:-10}" bash tests/integration/with-testbed.sh \
	bash tests/integration/hardening/soak.sh
