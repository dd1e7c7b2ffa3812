#!/usr/bin/env bash
# scripts/valgrind.sh - the integration tests with every danemail-milter and
# danemail process under valgrind memcheck.
#
#   scripts/valgrind.sh [TEST...]      TEST: milter-smime milter-openpgp
#                                      hardening-soak (100 messages) lookup
#                                      record-smimea record-openpgpkey record-tlsa
#                                      verify-records verify-tlsa (default: all)
#
# Builds a build without sanitizers (VALGRIND_BUILD, default build-valgrind;
# valgrind and ASan do not mix), puts wrappers named danemail-milter and
# danemail in front of the real binaries (DANEMAIL_MILTER, DANEMAIL: the
# variables the tests take their programs from) and runs each test script
# against a fresh testbed, as meson does.  Each process writes its own log:
# memcheck with --leak-check=full; an error, or a definite leak, is a
# failure (--errors-for-leak-kinds=definite).  Suppressions for the
# libraries (not for our code): scripts/valgrind.supp.  Processes a test
# kills with SIGKILL on purpose leave no summary: their logs are still
# searched for errors.
# Output: TAP of each test (prefixed), then per test the processes, errors
# and definitely lost bytes, the last line "N tests passed, N failed,
# N memcheck errors".  Logs: VALGRIND_OUT (default /tmp/danemail-valgrind).
# Needs root (Postfix), valgrind.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$PWD
BUILD=${VALGRIND_BUILD:-build-valgrind}
OUT=${VALGRIND_OUT:-/tmp/danemail-valgrind}

command -v valgrind >/dev/null || {
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 1
}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" -Db_sanitize=none >/dev/null || exit 1
if grep -q "fsanitize" "$BUILD/build.ninja"; then
	echo "valgrind.sh: $BUILD is a sanitizer build; use another VALGRIND_BUILD" >&2
	exit 1
fi
ninja -C "$BUILD" src/milter/danemail-milter tests/tools/miltclient/miltclient \
	tests/tools/smtpd/smtpd_test >/dev/null || exit 1
# the CLI links the scanner too: tests of it run only if it builds
have_cli=1
ninja -C "$BUILD" src/cli/danemail >"$OUT.cli-build.log" 2>&1 || have_cli=

rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/logs"
chmod 755 "$OUT" "$OUT/bin"
chmod 777 "$OUT/logs" # the milter writes as nobody after its privilege drop
wrap() { # wrap NAME REAL
	cat >"$OUT/bin/$1" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
	--show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 \\
	--suppressions=$top/scripts/valgrind.supp --log-file=$OUT/logs/\$VG_TEST.$1.%p.log \\
	"$2" "\$@"
EOF
	chmod 755 "$OUT/bin/$1"
}
wrap danemail-milter "$top/$BUILD/src/milter/danemail-milter"
wrap danemail "$top/$BUILD/src/cli/danemail"

export DANEMAIL_MILTER=$OUT/bin/danemail-milter DANEMAIL=$OUT/bin/danemail
export MILTCLIENT=$top/$BUILD/tests/tools/miltclient/miltclient
export TESTBED=$top/tests/testbed/testbed.sh TB_SMTPD=$top/$BUILD/tests/tools/smtpd/smtpd_test
export MILTER_START_WAIT=120 # valgrind starts slowly on a busy machine
export START_SLACK_MS=5000     # and each CLI run: added to wall-clock bounds
wt=$top/tests/integration/with-testbed.sh
all="milter-smime milter-openpgp hardening-soak lookup record-smimea record-openpgpkey
record-tlsa verify-records verify-tlsa"
tests=${*:-$all}

# The milter tests get the testbed's resolver configuration without its
# short "infra-cache-max-rtt: 1000": under valgrind a slow answer is a
# timeout, and libunbound would then keep NSD out of use for 900 s.
# shellcheck disable=SC2016
relaxed='grep -v infra-cache-max-rtt "$TB_UNBOUND_CONF" >"$TB_DIR/unbound-valgrind.conf" &&
	TB_UNBOUND_CONF=$TB_DIR/unbound-valgrind.conf exec "$@"'

passed=0
failed=0
errors=0
for t in $tests; do
	case $t in
	milter-*) cmd=(bash "$wt" bash -c "$relaxed" vg bash "tests/integration/milter/${t#milter-}.sh") ;;
	hardening-soak) cmd=(env TB_BENCH_NAMES=200 SOAK_MSGS=100 SOAK_BIG_EVERY=50 SOAK_RSS_EVERY=1
		bash "$wt" bash tests/integration/hardening/soak.sh) ;;
	lookup) cmd=(bash "$wt" bash tests/integration/lookup.sh) ;;
	record-*) cmd=(bash "$wt" bash "tests/integration/record/${t#record-}.sh") ;;
	verify-records) cmd=(bash "$wt" bash tests/integration/record/verify.sh) ;;
	verify-tlsa) cmd=(bash tests/integration/tlsa/run.sh "$wt" tests/integration/tlsa/verify_tlsa.sh) ;;
	*)
		echo "valgrind.sh: unknown test $t" >&2
		exit 64
		;;
	esac
	if [ -z "$have_cli" ] && [[ $t != milter-* && $t != hardening-* ]]; then
		echo "# $t: SKIP, src/cli/danemail does not build in $BUILD (see $OUT.cli-build.log)"
		continue
	fi
	export VG_TEST=$t
	start=$(date +%s)
	VG_TEST=$t "${cmd[@]}" >"$OUT/$t.tap" 2>&1
	rc=$?
	sed "s/^/[$t] /" "$OUT/$t.tap"
	procs=0 summaries=0 errs=0 lost=0
	for log in "$OUT/logs/$t".*.log; do
		[ -e "$log" ] || continue
		procs=$((procs + 1))
		if grep -q "ERROR SUMMARY:" "$log"; then
			summaries=$((summaries + 1))
			e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d ,)
		else # killed on purpose: count the error reports it made before
			e=$(grep -cE "^==[0-9]+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap|Argument)" "$log")
		fi
		l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | head -n 1)
		errs=$((errs + ${e:-0}))
		lost=$((lost + ${l:-0}))
		[ "${e:-0}" -gt 0 ] && echo "# $t: errors in $log"
	done
	errors=$((errors + errs))
	if [ "$rc" -eq 0 ] && [ "$errs" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	echo "# $t: exit $rc, $(($(date +%s) - start)) s, $procs processes under memcheck ($summaries ran to exit), $errs errors, $lost bytes definitely lost"
done
echo "$passed tests passed, $failed failed, $errors memcheck errors (logs: $OUT/logs)"
[ "$failed" -eq 0 ]
