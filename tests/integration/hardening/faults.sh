#!/usr/bin/env bash
# faults.sh - danemail-milter faults under load, through a real Postfix on
# loopback (real NSD + libunbound behind the milter).  While soak.py sends
# mail (SMTP, some by sendmail(1)) and checks every delivery:
#   1. kill -9 of the milter, restart 2 s later
#   2. NSD stopped (SIGSTOP) for FAULT_NSD_DOWN (30) seconds, then continued
#   3. slow DNS: a delaying proxy (bench_scan_proxy, FAULT_DNS_DELAY ms each
#      way) between the milter's resolver and NSD
#   4. a full spool disk: the milter's tmpdir on a 48 MB tmpfs, filled up
#      (root only; a TAP skip otherwise), then freed
# Each: no message lost (a 4xx is retried as a client MTA would, held
# sendmail(1) mail is retried by pickup, then postqueue -f), every encrypted
# delivery decrypts to exactly its original, none in clear that policy says
# to encrypt, and the log lines that say what happened.  Prints TAP, and
# per fault what the clients saw (deferrals, latency).
#
# Needs: DANEMAIL_MILTER, DNS_PROXY (bench_scan_proxy), the testbed.env
# variables with TB_BENCH_NAMES >= 2000 (run under with-testbed.sh), root
# (Postfix).  Optional: FAULT_NSD_DOWN (30), FAULT_DNS_DELAY (150).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
W=$TB_DIR/faults
# shellcheck source=tests/integration/milter/lib.sh
. "$here/../milter/lib.sh"
make_workdir
NSD_DOWN=${FAULT_NSD_DOWN:-30}
DELAY=${FAULT_DNS_DELAY:-150}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (Postfix)"
	exit 0
fi
if [ "${TB_BENCH_NAMES:-0}" -lt 2000 ]; then
	echo "Bail out! run with TB_BENCH_NAMES=2000 (uncached uN@secure.test names)"
	exit 1
fi

PROXY_PID=
SPOOL=$W/spool
nsd_pids=
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$nsd_pids" ] && kill -CONT $nsd_pids 2>/dev/null
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	stop_milter_postfix
	mountpoint -q "$SPOOL" && umount "$SPOOL"
}
trap cleanup EXIT

write_load_conf
start_milter_postfix 2725

# load NAME ARGS...: soak.py in the background (report $W/NAME.json); LOAD_PID
load() {
	local name=$1
	shift
	python3 "$here/soak.py" run --smtp "$PF_ADDR:$PF_PORT" --maildir "$PF_MAILDIR" \
		--seed "$name" --sendmail "$PF_SENDMAIL" --pidfile "$W/milter.pid" \
		--report "$W/$name.json" --progress 10 --settle 60 "$@" 2>"$W/$name.err" &
	LOAD_PID=$!
}
# finish NAME: wait for the load, flush Postfix's queue, report what it saw
finish() {
	wait "$LOAD_PID"
	$PF_POSTQUEUE -f >/dev/null 2>&1
	diag <"$W/$1.err"
	[ -s "$W/$1.json" ] || echo "no report from soak.py" | diag
}
r() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$W/$1.json" 2>/dev/null; }
# outcome NAME LABEL: the checks every fault shares
outcome() {
	local f=$1 what=$2
	[ "$(r "$f" 'r["accepted"] + r["bogus_refused"] == r["sent"] and not r["lost"] and not r["rejected"] and r["n_missing"] == 0 and not r["duplicates"]')" = True ]
	ok $? "$what: no message lost: $(r "$f" 'r["sent"]') sent, $(r "$f" 'r["delivered_messages"]') delivered, $(r "$f" 'r["bogus_refused"]') bogus refused; lost $(r "$f" 'r["lost"][:5]'), missing $(r "$f" 'r["missing"][:5]')"
	[ "$(r "$f" 'r["n_failures"] == 0 and r["verified_ok"] == r["checked_files"] and r["checked_files"] > 0')" = True ]
	ok $? "$what: every delivery decrypts to its original or is exactly as sent ($(r "$f" 'r["verified_ok"]') ok; $(r "$f" 'r["failures"][:3]'))"
	[ "$(r "$f" 'r["n_clear_against_policy"]')" = 0 ]
	ok $? "$what: nothing in clear against policy"
	echo "$what: $(r "$f" 'r["deferred_messages"]') messages deferred then delivered ($(r "$f" 'r["deferrals"]') deferrals, $(r "$f" 'r["via_sendmail"]') by sendmail(1)); latency p50 $(r "$f" 'r["latency_p50"]') s, p95 $(r "$f" 'r["latency_p95"]') s, max $(r "$f" 'r["latency_max"]') s" | diag
}
log_mark() { wc -l <"$W/milter.log"; }
log_since() { tail -n +"$(($1 + 1))" "$W/milter.log"; }

# ---- 1. kill -9 of the milter under load, restart ----
mark=$(log_mark)
pfmark=$(wc -l <"$PF_LOG")
load kill9 --count 150 --conc 4 --rate 15 --sendmail-every 8 --big-every 50 --names 500 \
	--retry-for 120
sleep 4
old_pid=$MILTER_PID
kill -KILL "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=
sleep 2
start_milter
ok $? "kill -9: the milter restarts (pid $old_pid -> $MILTER_PID)"
finish kill9
outcome kill9 "kill -9"
[ "$(r kill9 'r["deferred_messages"]')" -gt 0 ]
ok $? "kill -9: the clients saw the outage: $(r kill9 'r["deferred_messages"]') messages deferred (4xx or held), then delivered"
tail -n +"$((pfmark + 1))" "$PF_LOG" | grep -E "milter.*(Connection refused|No such file|Broken pipe|Connection reset|can't read|read error)" >"$W/kill9.pflog"
[ -s "$W/kill9.pflog" ] && tail -n +"$((pfmark + 1))" "$PF_LOG" | grep "4.7.1 Service unavailable - try again later" >/dev/null
ok $? "kill -9: Postfix logs the milter failure and tempfails (milter_default_action = tempfail)"
head -n 2 "$W/kill9.pflog" | cut -c1-200 | diag
log_since "$mark" | grep "started on" >/dev/null
ok $? "kill -9: the restarted milter logs 'started on'"

# ---- 2. NSD stopped for NSD_DOWN seconds ----
mark=$(log_mark)
load nsd --mix fresh --first 1000 --count 100 --conc 4 --rate 2.5 --names 2000 \
	--retry-for $((NSD_DOWN + 120)) --backoff 1
sleep 3
# NSD and its children stopped (SIGSTOP), not killed: a server that does
# not answer at all, and its port stays ours (another test on this machine
# would otherwise take it meanwhile)
tree() { # tree PID: PID and all its descendants
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do tree "$c"; done
}
nsd_pids=$(tree "$TB_NSD_PID" | tr '\n' ' ')
t_stop=$(date +%s.%N)
# shellcheck disable=SC2086
kill -STOP $nsd_pids
! dig +time=1 +tries=1 -p "$TB_PORT" @"$TB_ADDR" SOA secure.test >/dev/null 2>&1
ok $? "NSD stopped (SIGSTOP to its processes $nsd_pids) for $NSD_DOWN s: no answer"
sleep "$NSD_DOWN"
# shellcheck disable=SC2086
kill -CONT $nsd_pids
t_start=$(date +%s.%N)
dig +time=2 +tries=2 -p "$TB_PORT" @"$TB_ADDR" SOA secure.test >/dev/null 2>&1
ok $? "NSD running again (SIGCONT), it answers"
finish nsd
outcome nsd "NSD down ${NSD_DOWN} s"
log_since "$mark" | grep "action=tempfail reason=DNS lookup failed for a recipient" >"$W/nsd.tempfail"
[ -s "$W/nsd.tempfail" ]
ok $? "NSD down: the milter tempfails with 'DNS lookup failed for a recipient' ($(wc -l <"$W/nsd.tempfail") times)"
head -n 1 "$W/nsd.tempfail" | cut -c1-240 | diag
# recovery: every message that was first tried while NSD was down is
# accepted within 60 s of NSD's return
rec=$(python3 - "$W/nsd.json" "$t_stop" "$t_start" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t0, stop, start = r["t0"], float(sys.argv[2]), float(sys.argv[3])
acc = [a + t0 for a in r["accepted_at"].values()]
during = [a for a in acc if stop < a < start]
after = [a - start for a in acc if a >= start]
last = max(after or [0])
print("%s %.1f %d %d %.1f" % ("ok" if after and last <= 60 and not r["lost"] else "slow",
                               start - stop, len(during), len(after), last))
PY
)
set -- $rec
[ "${1:-}" = ok ]
ok $? "NSD down: delivery resumes after NSD's return: ${4:-?} messages accepted after it, the last ${5:-?} s after (NSD down ${2:-?} s; ${3:-?} accepted meanwhile from the cache)"

# ---- 3. slow DNS: a delaying proxy in front of NSD ----
start_proxy() { # start_proxy PORT: 0 listening (pid file written), 75 port taken, 1 failed
	rm -f "$W/proxy.pid"
	"$DNS_PROXY" --delay "$DELAY" --udp "127.0.0.1:$1=$TB_ADDR:$TB_PORT" \
		--tcp "127.0.0.1:$1=$TB_ADDR:$TB_PORT" --pidfile "$W/proxy.pid" >"$W/proxy.log" 2>&1 &
	PROXY_PID=$!
	for _ in $(seq 200); do
		[ -s "$W/proxy.pid" ] && return 0
		kill -0 "$PROXY_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID"
	return $?
}
rc=1 # stays 1 when every port of the range has a listener
for pport in $(seq $((TB_PORT + 20)) $((TB_PORT + 60))); do
	ss -Hlnu "sport = :$pport" | grep -q . || ss -Hlnt "sport = :$pport" | grep -q . && continue
	start_proxy "$pport"
	rc=$?
	[ $rc -eq 75 ] || break
done
[ "$rc" -eq 0 ] || { echo "Bail out! the DNS proxy did not start: $(cat "$W/proxy.log")"; exit 1; }
sed "s/^\([[:space:]]*forward-addr:\).*/\1 127.0.0.1@$pport/" "$W/unbound.conf" >"$W/slow.conf"
mark=$(log_mark)
reload "unbound_conf = $W/slow.conf" # a fresh resolver: cold cache
ok $? "slow DNS: the milter resolves through a proxy adding ${DELAY} ms each way"
load slowdns --mix fresh --first 1500 --count 80 --conc 4 --rate 4 --names 2000 --retry-for 180
finish slowdns
outcome slowdns "slow DNS (${DELAY} ms each way)"
[ "$(r slowdns "r['latency_p50'] >= 2 * $DELAY / 1000")" = True ]
ok $? "slow DNS: the delay is felt (p50 $(r slowdns 'r["latency_p50"]') s >= one round trip), and mail still flows at $(r slowdns 'r["msg_per_s"]') msg/s"
log_since "$mark" | grep -c "action=encrypt(smime)" | sed 's/^/encrypted through slow DNS: /' | diag
kill "$PROXY_PID" && wait "$PROXY_PID" 2>/dev/null
PROXY_PID=
reload

# ---- 4. full spool disk ----
mkdir -p "$SPOOL"
if mount -t tmpfs -o size=48m,mode=0700 tmpfs "$SPOOL" 2>"$W/mount.err"; then
	chown nobody "$SPOOL"
	mark=$(log_mark)
	reload "tmpdir = $SPOOL" "spool_threshold = 64k"
	dd if=/dev/zero of="$SPOOL/fill" bs=64k 2>/dev/null # until ENOSPC
	[ "$(df --output=avail "$SPOOL" | tail -n 1 | tr -d ' ')" -eq 0 ]
	ok $? "full spool disk: the milter's tmpdir is a 48 MB tmpfs, full"
	load spool --count 40 --conc 4 --rate 4 --big-every 4 --names 500 --retry-for 120 \
		--sendmail-every 0
	sleep 6
	rm -f "$SPOOL/fill"
	finish spool
	outcome spool "full spool disk"
	log_since "$mark" | grep -E "No space left on device|spool file system of .* full" >"$W/spool.err.log"
	[ -s "$W/spool.err.log" ] &&
		log_since "$mark" | grep "action=tempfail reason=message could not be stored" >/dev/null
	ok $? "full spool disk: the milter logs 'No space left on device' (or 'spool file system full') and tempfails ($(wc -l <"$W/spool.err.log") times)"
	sort -u -t: -k3 "$W/spool.err.log" | head -n 3 | cut -c1-240 | diag
	[ "$(r spool 'r["deferred_messages"]')" -gt 0 ]
	ok $? "full spool disk: $(r spool 'r["deferred_messages"]') messages deferred while full, delivered once freed"
	[ -z "$(ls -A "$SPOOL")" ]
	ok $? "full spool disk: no spool file left behind"
	reload
	umount "$SPOOL"
else
	skip "full spool disk" "cannot mount a tmpfs: $(head -c 100 "$W/mount.err")"
fi

alive
ok $? "the milter survived all faults but the kill"
! grep -qi "assert\|segfault\|sanitizer\|runtime error" "$W/milter.log"
ok $? "no crash, assertion or sanitizer report in the milter's log"

echo "1..$n"
[ "$fails" -eq 0 ]
