#!/usr/bin/env bash
# harness.sh - the milter test harness proves itself before the real milter
# is tested with it: miltclient (the MTA side of the milter protocol) against
# sample_milter (libmilter) and against fake_milter.py (replies libmilter
# never sends), then a real Postfix on loopback (tests/testbed/postfix.sh)
# with sample_milter on inet: and on unix:, fed by swaks (SMTP) and by
# sendmail(1) (pickup).  Covers: edits reach the delivered Maildir file;
# tempfail -> 451 and nothing delivered; milter down -> 451
# (milter_default_action = tempfail); a sendmail-injected message held while
# the milter fails is delivered once it is back.  Prints TAP.
#
# Usage: harness.sh MILTCLIENT SAMPLE_MILTER   (as root: Postfix needs it)
# Environment: KEEP_TEST_DIR=1 keeps the work directory for inspection.
set -uo pipefail

MILTCLIENT=${1:?usage: harness.sh MILTCLIENT SAMPLE_MILTER}
SAMPLE=${2:?usage: harness.sh MILTCLIENT SAMPLE_MILTER}
here=$(cd "$(dirname "$0")" && pwd)
postfix_sh=$here/../../testbed/postfix.sh
fake=$here/../../tools/miltclient/fake_milter.py

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root to run Postfix"
	exit 0
fi
for c in swaks postfix ss script python3; do
	command -v "$c" >/dev/null || {
		echo "1..0 # SKIP $c not installed"
		exit 0
	}
done

n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
diag() { sed 's/^/# /' | head -n "${1:-20}"; }

W=$(mktemp -d /tmp/danemail-mh.XXXXXX)
chmod 755 "$W" # Postfix (user postfix) connects to sockets in here
mkdir -p "$W/msgs" "$W/out"
PF=$W/pf

# ---- ports: four free ones, starting at a random place below the
# kernel's ephemeral range (32768-), where no client socket can hold one ----
port_free() { ! ss -Hlnt "sport = :$1" | grep -q .; }
PORTS=()
p=$((20000 + RANDOM % 12000))
while [ ${#PORTS[@]} -lt 4 ] && [ $p -lt 32768 ]; do
	port_free "$p" && PORTS+=("$p")
	p=$((p + 1))
done
MPORT=${PORTS[0]} PPORT=${PORTS[1]} PPORT2=${PORTS[2]} TPORT=${PORTS[3]}
MSOCK=$W/sample.sock

# ---- milters: started in the background, stopped by name ----
declare -A PIDS=()
# start_milter NAME SPEC ARGS...: sample_milter on SPEC (inet:PORT@127.0.0.1 or unix:/path)
start_milter() {
	local name=$1 spec=$2 port
	shift 2
	"$SAMPLE" -p "$spec" "$@" >>"$W/$name.log" 2>&1 &
	PIDS[$name]=$!
	for _ in $(seq 100); do
		case $spec in
		inet:*)
			port=${spec#inet:}
			port=${port%%@*}
			ss -Hlnt "sport = :$port" | grep -q . && return 0
			;;
		unix:*) ss -Hlx | grep -qF "${spec#unix:}" && return 0 ;;
		esac
		kill -0 "${PIDS[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "# milter $name did not start:"
	diag <"$W/$name.log"
	return 1
}
gone() { # gone PID: exited (a zombie counts as gone)
	case $(ps -o stat= -p "$1" 2>/dev/null) in '' | Z*) return 0 ;; esac
	return 1
}
# kill_milters SIGNAL NAME...: signal, wait up to 1.5 s, then SIGKILL what is
# left; reap everything.  libmilter notices SIGTERM only at its listener's
# next poll timeout (1-4.5 s measured): waiting for that would double the
# run time, and these test milters keep no state.  (stderr is closed so bash
# does not report "Killed" jobs.)
kill_milters() {
	local sig=$1 name pid left
	shift
	for name in "$@"; do
		[ -n "${PIDS[$name]:-}" ] && kill "-$sig" "${PIDS[$name]}" 2>/dev/null
	done
	for _ in $(seq 15); do
		left=0
		for name in "$@"; do
			pid=${PIDS[$name]:-}
			[ -n "$pid" ] && ! gone "$pid" && left=1
		done
		[ $left -eq 0 ] && break
		sleep 0.1
	done
	for name in "$@"; do
		pid=${PIDS[$name]:-}
		[ -n "$pid" ] || continue
		gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		unset "PIDS[$name]"
	done
} 2>/dev/null

teardown() {
	kill_milters TERM "${!PIDS[@]}"
	"$postfix_sh" stop "$PF" >/dev/null 2>&1
	[ -n "${PF_START_PID:-}" ] && wait "$PF_START_PID" 2>/dev/null
	PF_START_PID=
}
cleanup() {
	teardown
	if [ -z "${KEEP_TEST_DIR:-}" ]; then rm -rf "$W"; else echo "# kept $W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Postfix takes ~2.5 s to start: do it in the background while miltclient is tested.
PF_MASTER_EXTRA="127.0.0.1:$PPORT2 inet n - n - - smtpd -o smtpd_milters=unix:$MSOCK" \
	PF_PORT=$PPORT PF_MILTER="inet:127.0.0.1:$MPORT" \
	"$postfix_sh" start "$PF" >"$W/pf-start.log" 2>&1 &
PF_START_PID=$!

start_milter tcp "inet:$MPORT@127.0.0.1" || {
	echo "Bail out! sample_milter did not start on inet:$MPORT@127.0.0.1"
	exit 1
}
start_milter unix "unix:$MSOCK" || {
	echo "Bail out! sample_milter did not start on unix:$MSOCK"
	exit 1
}
start_milter edits "unix:$W/edits.sock" -E -N || {
	echo "Bail out! sample_milter -E -N did not start"
	exit 1
}

# ======================= miltclient against sample_milter ===================
cat >"$W/msgs/plain.eml" <<'EOF'
From: Alice <alice@example.test>
To: Bob <bob@secure.test>
Subject: hello
X-Dup: first
X-Dup: second
X-Del: delete me
X-Folded: one
	two

Body line one.
Body line two.
EOF

# mc NAME ARGS...: run miltclient; sets RC, ERR (stderr), OUT=$W/out/NAME.eml, RES (result file)
mc() {
	local name=$1
	shift
	OUT=$W/out/$name.eml RES=$W/out/$name.res
	"$MILTCLIENT" -t 10 -o "$OUT" -R "$RES" "$@" 2>"$W/out/$name.err" >"$W/out/$name.stdout"
	RC=$?
	ERR=$(cat "$W/out/$name.err")
}
expect_rc() { # expect_rc WANT DESCRIPTION
	[ "$RC" -eq "$1" ]
	ok $? "$2 (exit $RC, want $1)"
	[ "$RC" -eq "$1" ] || diag <<<"$ERR"
}

mc tcp -p "inet:$MPORT@127.0.0.1" "$W/msgs/plain.eml"
expect_rc 0 "miltclient over TCP: verdict continue"
[ "$(tail -n 1 <<<"$ERR")" = continue ]
ok $? "verdict line on stderr is 'continue'"
grep -qx "X-Sample: yes" "$OUT"
ok $? "output message has the added header X-Sample: yes"
[ "$(sed '1,/^$/d' "$OUT")" = "$(printf 'BODY LINE ONE.\nBODY LINE TWO.')" ]
ok $? "output body is the replaced (upper-cased) body"
grep -qx "X-Folded: one" "$OUT" && grep -qx "$(printf '\ttwo')" "$OUT"
ok $? "folded input header written back unchanged"
grep -q "^edit replbody 32 bytes" "$RES" && grep -qx "stage eom" "$RES"
ok $? "result file lists the body replacement and the stage"

mc unix -p "unix:$MSOCK" -D '{auth_authen}=alice' "$W/msgs/plain.eml"
expect_rc 0 "miltclient over a unix socket"
grep -qx "X-Sample-Auth: alice" "$OUT" && grep -qx "X-Sample: yes" "$OUT"
ok $? "-D {auth_authen}=alice reaches the milter (smfi_getsymval at end of message)"
grep -q "^X-Sample-Id: [0-9A-F]\{12\}$" "$OUT"
ok $? "queue id macro i sent"

mc edits -p "unix:$W/edits.sock" -r removed@secure.test -r bob@secure.test "$W/msgs/plain.eml"
expect_rc 0 "every kind of edit (sample_milter -E -N)"
[ "$(head -n 1 "$OUT")" = "X-Sample-First:inserted at index 0" ]
ok $? "insheader index 0 lands on top (raw value: SMFIP_HDR_LEADSPC negotiated)"
[ "$(grep '^X-Dup:' "$OUT" | tr '\n' '|')" = "X-Dup: first|X-Dup:second instance changed|" ]
ok $? "chgheader index 2 changes the second X-Dup only"
! grep -q "^X-Del:" "$OUT"
ok $? "chgheader with an empty value deletes the header"
[ "$(grep -A1 '^X-Sample-Headers:' "$OUT" | tail -n 1)" = "X-Absent:appended by chgheader" ]
ok $? "chgheader of an absent header appends it (as Postfix does)"
big=$(grep '^X-Big:' "$OUT" | cut -d: -f2-)
[ ${#big} -eq 3000 ]
ok $? "a 3000-byte header value (reply over 1 KB) arrives whole (${#big} bytes)"
grep -qx "X-Sample-Headers:7 headers, 7 with a leading space" "$OUT"
ok $? "with SMFIP_HDR_LEADSPC header values keep their leading space"
grep -qx "envelope from <changed@example.test>" "$RES" &&
	[ "$(grep '^envelope rcpt' "$RES" | tr '\n' '|')" = "envelope rcpt <bob@secure.test>|envelope rcpt <added@secure.test>|" ]
ok $? "chgfrom, addrcpt and delrcpt applied to the envelope"
grep -qx "edit quarantine sample quarantine" "$RES"
ok $? "quarantine reported"

python3 - "$W/msgs/big.eml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("From: a@example.test\nTo: bob@secure.test\nSubject: big\n\n")
    for i in range(5000):
        f.write("line %05d of a big body, lower case text here\n" % i)
EOF
mc big -v -p "inet:$MPORT@127.0.0.1" "$W/msgs/big.eml"
expect_rc 0 "235 KB message through the milter"
[ "$(grep -c "send body (65535 bytes)" <<<"$ERR")" -eq 3 ] &&
	[ "$(grep -c "send body" <<<"$ERR")" -eq 4 ] &&
	[ "$(grep -c "reply replbody" <<<"$ERR")" -eq 4 ]
ok $? "body sent in 4 chunks of at most 65535 bytes, replaced in 4 REPLBODY packets"
[ "$(sed '1,/^$/d' "$OUT")" = "$(sed '1,/^$/d' "$W/msgs/big.eml" | tr '[:lower:]' '[:upper:]')" ]
ok $? "235 KB replaced body complete and in order"

mc many -p "inet:$MPORT@127.0.0.1" -n 5 -c 3 "$W/msgs/plain.eml"
expect_rc 0 "3 connections x 5 messages on reused sessions"
grep -q "^total: 15 messages in .*continue 15$" "$W/out/many.stdout"
ok $? "benchmark summary counts 15 verdicts 'continue'"
grep -q "client ACK behaviour: kernel default (delayed ACK)" "$W/out/many.stdout"
ok $? "benchmark output states the ACK behaviour"
mc abort -p "unix:$MSOCK" -n 3 -A "$W/msgs/plain.eml"
expect_rc 0 "-A: SMFIC_ABORT after every message, as Postfix's smtpd"

start_milter tempfail "inet:$TPORT@127.0.0.1" -T && {
	mc tempfail -p "inet:127.0.0.1:$TPORT" "$W/msgs/plain.eml"
	expect_rc 75 "sample_milter -T: tempfail (Postfix inet:HOST:PORT syntax)"
	[ "$(tail -n 1 <<<"$ERR")" = tempfail ] && [ ! -e "$OUT" ]
	ok $? "verdict line 'tempfail', no output message"
	kill_milters KILL tempfail
}
start_milter reject "unix:$W/reject.sock" -R && {
	mc reject -p "unix:$W/reject.sock" "$W/msgs/plain.eml"
	expect_rc 69 "sample_milter -R: reject"
	[ "$(tail -n 1 <<<"$ERR")" = "reject 550 5.7.1 sample_milter rejects this message" ]
	ok $? "verdict line carries the reply code"
	kill_milters KILL reject
}
mc down -p "unix:$W/nothing.sock" "$W/msgs/plain.eml"
expect_rc 70 "no milter listening: exit 70"

# ======================= miltclient against fake_milter.py ==================
# fake SCENARIO ARGS...: one scripted milter connection
fake() {
	local sc=$1 sock=$W/fake-$1.sock fpid
	shift
	python3 "$fake" "$sock" "$sc" 2>"$W/fake-$sc.log" &
	fpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.02
	done
	mc "fake-$sc" -p "unix:$sock" "$@" "$W/msgs/plain.eml"
	# It serves one connection and exits; kill it only if it hangs.
	for _ in $(seq 40); do
		gone "$fpid" && break
		sleep 0.05
	done
	{
		kill "$fpid"
		wait "$fpid"
	} 2>/dev/null
}
fake progress-big
expect_rc 0 "progress packets ignored; accept after the edits"
big=$(grep '^X-Big:' "$OUT" | cut -d: -f2-)
[ ${#big} -eq 8001 ] && [ "$(sed '1,/^$/d' "$OUT" | grep -c '^ABC$')" -eq 40000 ]
ok $? "8 KB header and 200 KB REPLBODY in single packets accepted"
fake rcpt-replycode -r bob@secure.test -r nobody@secure.test
expect_rc 0 "one recipient refused with a reply code, the message goes on"
grep -qx "rcpt <nobody@secure.test> reject 550 5.1.1 <nobody@secure.test>: no such user" "$RES" &&
	[ "$(grep -c '^envelope rcpt' "$RES")" -eq 1 ]
ok $? "refused recipient logged and dropped from the envelope"
fake all-rcpts-tempfail -r a@secure.test -r b@secure.test
expect_rc 75 "every recipient tempfailed: the message is tempfailed"
grep -qx "stage rcpt" "$RES"
ok $? "decided at stage rcpt"
fake connect-tempfail
expect_rc 75 "tempfail at connect"
fake skip-body -b 16
expect_rc 0 "SMFIR_SKIP on the first body chunk"
grep -qx "X-Seen: CHMRTLLLLLLLNBE" "$OUT"
ok $? "after SKIP no more body chunks are sent (milter saw one B)"
fake nr-all
expect_rc 0 "no reply negotiated for every step: pipelined, accept at end"
grep -qx "X-Seen: CHMRTLLLLLLLNBE" "$OUT" && grep -qx "Subject: changed by chgheader" "$OUT"
ok $? "every step sent in order, chgheader applied"
fake bad-replycode
expect_rc 70 "reply code '250 ...' refused as Postfix does"
fake replbody-lockout
expect_rc 70 "body replacement interleaved with other edits refused as Postfix does"
fake unnegotiated
expect_rc 70 "an edit the milter did not negotiate is refused"
fake hangup
expect_rc 70 "milter hangs up at end of message"
fake bad-length
expect_rc 70 "reply packet length 0 refused"

# ================================= Postfix ==================================
wait "$PF_START_PID"
rc=$?
PF_START_PID=
if [ $rc -ne 0 ]; then
	echo "Bail out! postfix did not start (ports $PPORT, $PPORT2)"
	diag 40 <"$W/pf-start.log"
	exit 1
fi
ok 0 "postfix.sh start: Postfix up on 127.0.0.1:$PPORT and :$PPORT2"
# shellcheck disable=SC1091
. "$PF/postfix.env"
out=$(PF_PORT=$((PPORT + 1000)) "$postfix_sh" start "$PF" 2>&1)
[ $? -eq 1 ] && grep -q "still running" <<<"$out"
ok $? "postfix.sh start refuses a DIR whose Postfix runs"
out=$(PF_PORT=$PPORT "$postfix_sh" start "$W/pf2" 2>&1)
[ $? -eq 1 ] && grep -q "busy" <<<"$out"
ok $? "postfix.sh start refuses a busy port"

# send ID PORT: swaks through Postfix; sets SWAKS_OUT
send() {
	SWAKS_OUT=$(swaks --server 127.0.0.1 --port "$2" --from a@example.test \
		--to bob@secure.test --header "X-Test-Id: $1" --body "body of $1" 2>&1)
}
# inject ID: sendmail(1) through Postfix's pickup
inject() {
	printf 'From: a@example.test\nTo: bob@secure.test\nSubject: %s\nX-Test-Id: %s\n\nbody of %s\n' \
		"$1" "$1" "$1" | $PF_SENDMAIL -f a@example.test bob@secure.test
}
found() { grep -l "^X-Test-Id: $1\$" "$PF_MAILDIR"/new/* 2>/dev/null | head -n 1; }
# delivered ID [SECONDS]: wait for the Maildir file; sets FILE
delivered() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		FILE=$(found "$1")
		[ -n "$FILE" ] && return 0
		sleep 0.05
	done
	return 1
}
check_filtered() { # check_filtered ID HOW
	grep -qx "X-Sample: yes" "$FILE" && grep -qx "BODY OF $(tr '[:lower:]' '[:upper:]' <<<"$1")" "$FILE"
	ok $? "$2: delivered file has X-Sample and the replaced body"
}
maildrop_count() { find "$PF_QUEUE_DIR/maildrop" -type f | wc -l; }

send pf-tcp "$PF_PORT"
delivered pf-tcp
ok $? "swaks -> Postfix -> inet: milter -> Maildir"
[ -n "$FILE" ] || diag <<<"$SWAKS_OUT"
[ -n "$FILE" ] && check_filtered pf-tcp "inet: milter"
[ -n "$FILE" ] && grep -q "^X-Sample-Id: [0-9A-F]" "$FILE"
ok $? "Postfix sends the queue id macro i at end of message"

send pf-unix "$PPORT2"
delivered pf-unix
ok $? "swaks -> Postfix (second listener) -> unix: milter -> Maildir"
[ -n "$FILE" ] && check_filtered pf-unix "unix: milter"

inject pf-sendmail
delivered pf-sendmail
ok $? "sendmail(1) -> pickup -> non_smtpd_milters -> Maildir"
[ -n "$FILE" ] && check_filtered pf-sendmail "sendmail"

# Tempfail: SMTP clients get 451 (Postfix queues nothing: the client must
# retry); a sendmail(1) message stays in the maildrop and pickup retries it.
kill_milters KILL tcp
start_milter tcp "inet:$MPORT@127.0.0.1" -T || echo "Bail out! milter -T did not start"
send pf-tempfail "$PF_PORT"
grep -q "<\*\* *451 4.7.1" <<<"$SWAKS_OUT"
ok $? "milter tempfails: swaks sees 451 4.7.1 at end of DATA"
grep -q "<\*\* *451" <<<"$SWAKS_OUT" || diag <<<"$SWAKS_OUT"
inject pf-held-tempfail
for _ in $(seq 40); do
	grep -q "milter-reject: END-OF-MESSAGE from localhost" "$PF_LOG" && break
	sleep 0.05
done
[ "$(maildrop_count)" -ge 1 ] && [ -z "$(found pf-held-tempfail)" ]
ok $? "milter tempfails: the sendmail(1) message is held in the maildrop"

kill_milters KILL tcp
send pf-down "$PF_PORT"
grep -q "<\*\* *451 4.7.1" <<<"$SWAKS_OUT"
ok $? "milter down: swaks sees 451 4.7.1 (milter_default_action = tempfail)"
grep -q "<\*\* *451" <<<"$SWAKS_OUT" || diag <<<"$SWAKS_OUT"
inject pf-held-down
sleep 0.3
[ "$(maildrop_count)" -ge 2 ] && [ -z "$(found pf-held-down)" ]
ok $? "milter down: the sendmail(1) message is held too"

start_milter tcp "inet:$MPORT@127.0.0.1" || echo "Bail out! milter did not restart"
delivered pf-held-tempfail 10
ok $? "milter back: the message held during tempfail is delivered (pickup retry)"
[ -n "$FILE" ] && check_filtered pf-held-tempfail "retried message"
delivered pf-held-down 10
ok $? "milter back: the message held while it was down is delivered"
send pf-again "$PF_PORT"
delivered pf-again
ok $? "milter back: SMTP delivery works again"
[ -z "$(found pf-tempfail)" ] && [ -z "$(found pf-down)" ]
ok $? "the messages answered 451 were never delivered"
[ "$(maildrop_count)" -eq 0 ]
ok $? "maildrop empty"

# ================================ teardown ==================================
"$postfix_sh" stop "$PF" >/dev/null 2>&1
"$postfix_sh" status "$PF"
[ $? -eq 3 ]
ok $? "postfix.sh stop: status reports not running"
"$postfix_sh" stop "$PF" >/dev/null 2>&1
ok $? "postfix.sh stop again: idempotent"
kill_milters TERM "${!PIDS[@]}"
# Anything alive that names the work directory or runs in it (Postfix daemons
# chdir to their queue directory).
left=$(ps -eo pid=,stat=,args= | grep -F "$W" | grep -v grep | awk '$2 !~ /^Z/')
for d in /proc/[0-9]*; do
	case $(readlink "$d/cwd" 2>/dev/null) in
	"$W"*) gone "${d#/proc/}" || left+=" ${d#/proc/}:$(tr '\0' ' ' <"$d/cmdline")" ;;
	esac
done
[ -z "$left" ]
ok $? "nothing left running"
[ -z "$left" ] || diag <<<"$left"

if [ $fails -gt 0 ] && [ -r "$PF/log/postfix.log" ]; then
	echo "# postfix log (last lines):"
	tail -n 30 "$PF/log/postfix.log" | diag 30
fi
echo "1..$n"
[ $fails -eq 0 ]
