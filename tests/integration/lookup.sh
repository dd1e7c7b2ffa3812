#!/usr/bin/env bash
# lookup.sh - `danemail lookup` against the real testbed: states, exit codes,
# record descriptions, the lower-cased fallback, JSON, and bad input.
# Needs DANEMAIL (the binary) and the testbed.env variables. Prints TAP.
set -uo pipefail

n=0
fails=0
ok() { # ok COND-EXIT-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
dm() { "$DANEMAIL" lookup --config "$TB_UNBOUND_CONF" "$@"; }

# expect_exit WANT DESCRIPTION ARGS...: run, compare the exit code, keep the output
expect_exit() {
	local want=$1 what=$2
	shift 2
	out=$(dm "$@" 2>"$TB_DIR/stderr")
	got=$?
	err=$(cat "$TB_DIR/stderr")
	[ "$got" -eq "$want" ]
	ok $? "$what: exit $got, want $want"
	if [ "$got" -ne "$want" ]; then printf '%s\n%s\n' "$out" "$err" | sed 's/^/# /'; fi
}
contains() { # contains STRING DESCRIPTION (in $out)
	grep -qF -- "$1" <<<"$out"
	ok $? "$2"
}

expect_exit 0 "secure SMIMEA" smimea bob@secure.test
contains "secure, data" "secure SMIMEA: state printed"
contains "3 0 0 (DANE-EE Cert Full)" "SMIMEA fields printed"
contains "email: bob@secure.test" "certificate SAN printed"
contains "key: RSA 2048" "certificate key printed"
contains "can encrypt mail: yes" "certificate encryption check printed"
contains "81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd._smimecert.secure.test." "owner printed"

expect_exit 0 "secure SMIMEA, EC certificate" smimea bob-ec@secure.test
contains "key: EC 256" "EC key printed"

expect_exit 0 "mixed-case local part falls back to lower case" smimea Alice@secure.test
contains "local part lower-cased" "the lower-cased owner is named"

expect_exit 0 "secure OPENPGPKEY" openpgpkey bob@secure.test
contains "user id: Bob <bob@secure.test>" "OpenPGP user id printed"
contains "usable for bob@secure.test: ok" "OpenPGP key usable"
grep -q "encryption key: [0-9A-F]\{40\}" <<<"$out"
ok $? "OpenPGP encryption subkey printed"

expect_exit 0 "secure TLSA" tlsa mail.secure.test
contains "3 1 1 (DANE-EE SPKI SHA2-256)" "TLSA fields printed"
contains "$TB_MAIL_TLSA_HEX" "TLSA data printed"
expect_exit 0 "secure TLSA with explicit port" tlsa mail.secure.test:25
expect_exit 1 "no TLSA on port 465: secure proof of none" tlsa mail.secure.test:465

expect_exit 0 "secure MX" mx secure.test
contains "10 mail.secure.test." "MX host printed"

expect_exit 1 "secure NXDOMAIN" smimea nobody@secure.test
contains "secure, nxdomain" "NXDOMAIN state printed"

expect_exit 2 "insecure SMIMEA" smimea bob@insecure.test
contains "insecure, data" "insecure state printed"
expect_exit 2 "insecure MX" mx insecure.test

expect_exit 3 "bogus SMIMEA (expired signatures)" smimea bob@bogus.test
contains "reason:" "bogus reason printed"
contains "must not be used" "bogus warning printed"
expect_exit 3 "tampered SMIMEA RRset" smimea mallory@secure.test
expect_exit 3 "bogus MX" mx bogus.test

out=$("$DANEMAIL" lookup --config "$TB_UNBOUND_DOWN_CONF" smimea bob@secure.test 2>&1)
got=$?
[ "$got" -eq 4 ]
ok $? "DNS server down: exit $got, want 4"

expect_exit 0 "JSON output" --json smimea bob@secure.test
contains '"dnssec": "secure"' "JSON has the DNSSEC state"
contains '"usage": 3' "JSON has the record fields"
contains '"exit": 0' "JSON has the exit code"
expect_exit 3 "JSON output, bogus" --json smimea bob@bogus.test
contains '"dnssec": "bogus"' "JSON bogus state"

# Bad input: one clear line on stderr, exit 64 or above, no crash.
bad() { # bad DESCRIPTION ARGS...
	local what=$1
	shift
	dm "$@" >/dev/null 2>"$TB_DIR/stderr"
	got=$?
	lines=$(wc -l <"$TB_DIR/stderr")
	[ "$got" -ge 64 ] && [ "$got" -lt 128 ] && [ "$lines" -ge 1 ]
	ok $? "$what: exit $got (want 64..127): $(head -n 1 "$TB_DIR/stderr" | cut -c 1-160)"
}
bad "unknown record type" cname bob@secure.test
bad "address without @" smimea bob.secure.test
bad "label over 63 octets" smimea "bob@$(printf 'a%.0s' $(seq 64)).test"
bad "name over 255 octets" mx "$(for i in $(seq 1 50); do printf 'abcdef.'; done)test"
bad "local part not valid UTF-8" smimea "$(printf 'b\xffb@secure.test')"
bad "empty local part" smimea "@secure.test"
bad "bad port" tlsa mail.secure.test:99999
bad "missing argument" smimea
bad "unknown option" --bogus-option smimea bob@secure.test
"$DANEMAIL" lookup --config /nonexistent/unbound.conf mx secure.test >/dev/null 2>&1
got=$?
[ "$got" -ge 64 ]
ok $? "unreadable unbound config: exit $got, want >= 64"

echo "1..$n"
[ "$fails" -eq 0 ]
