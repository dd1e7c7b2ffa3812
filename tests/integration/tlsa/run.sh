#!/usr/bin/env bash
# run.sh WITH_TESTBED SCRIPT - run SCRIPT (TAP) against a fresh testbed with
# its SMTP servers, on a TB_SMTP_PORT that is free on every server address:
# 25 if it can be had, else one of 10025-10099. The zones publish TLSA at
# _<port>._tcp, so the port is chosen before the testbed starts. When another
# process grabs the port between the check and start-smtp, SCRIPT exits 75
# (before any TAP line) and the next port is tried.
set -uo pipefail

with_testbed=$1
script=$2
# Every address testbed.sh's smtp_servers() uses.
addrs="127.0.1.2 127.0.1.3 127.0.1.4 127.0.1.5 127.0.1.6 127.0.1.7 127.0.1.8 127.0.1.9
127.0.1.10 127.0.1.11 127.0.1.12 127.0.1.13 127.0.1.14 127.0.2.2 127.0.3.2"

port_free() { # is TCP PORT free on every address (and on the wildcards)?
	local a l
	for l in $(ss -Hlnt "( sport = :$1 )" 2>/dev/null | awk '{print $4}'); do
		case $l in "0.0.0.0:$1" | "*:$1" | "[::]:$1") return 1 ;; esac
		for a in $addrs; do [ "$l" = "$a:$1" ] && return 1; done
	done
	return 0
}

tries=0
for port in 25 $(seq 10025 10099); do
	port_free "$port" || continue
	TB_SMTP_PORT=$port bash "$with_testbed" bash "$script"
	rc=$?
	[ "$rc" -eq 75 ] || exit "$rc"
	tries=$((tries + 1))
	[ "$tries" -lt 3 ] || break
done
echo "Bail out! no free TCP port for the SMTP servers"
exit 1
