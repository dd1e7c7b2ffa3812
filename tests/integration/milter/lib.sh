# lib.sh - sourced by the danemail-milter integration tests (smime.sh,
# openpgp.sh, ../hardening/*.sh): TAP counters, the work directory, one
# milter process driven by a configuration file in it, a Postfix in front of
# the milter (tests/testbed/postfix.sh, in $W/pf), and test messages sent
# through that Postfix and found in its Maildir.
#
# Needs: W (work directory), DANEMAIL_MILTER, TB_DIR and TB_UNBOUND_CONF
# (testbed.env); for Postfix root, for the messages swaks and $W/msgs.
# Optional: SOCK (default $W/milter.sock), MILTER_USER (default nobody),
# MILTER_TMPDIR (default $W/tmp), MILTER_CONF_EXTRA (lines every
# configuration gets after the defaults), MILTER_WRAP (a command to run the
# milter under, e.g. "strace -f -o FILE"; word-split), MILTER_START_WAIT
# (seconds to wait for it to start, default 10; more under valgrind).
# Sets: n, fails (TAP counters), MILTER_PID, PF (Postfix's directory),
# postfix_sh (tests/testbed/postfix.sh);
# start_postfix: the PF_* variables of $PF/postfix.env (PF_ADDR, PF_PORT,
# PF_MAILDIR, PF_LOG, PF_SENDMAIL, ...); send: SWAKS_OUT, SUMMARY;
# delivered: FOUND.
# shellcheck shell=bash

n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
skip() { # skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
diag() { sed 's/^/# /'; }

SOCK=${SOCK:-$W/milter.sock}
MILTER_USER=${MILTER_USER:-nobody}
MILTER_TMPDIR=${MILTER_TMPDIR:-$W/tmp}
MILTER_PID=
# make_workdir: W and TB_DIR searchable by Postfix and the milter's user,
# MILTER_TMPDIR (the spool) that user's alone
make_workdir() {
	mkdir -p "$MILTER_TMPDIR"
	chmod 755 "$TB_DIR" "$W"
	chown "$MILTER_USER" "$MILTER_TMPDIR"
	chmod 700 "$MILTER_TMPDIR"
}
write_conf() { # write_conf EXTRA-LINES... (a later line wins over an earlier one)
	{
		echo "socket = unix:$SOCK"
		echo "socket_mode = 0666"
		echo "user = $MILTER_USER"
		echo "unbound_conf = $TB_UNBOUND_CONF"
		echo "tmpdir = $MILTER_TMPDIR"
		echo "mode = both"
		echo "spool_threshold = 256k"
		[ -n "${MILTER_CONF_EXTRA:-}" ] && printf '%s\n' "$MILTER_CONF_EXTRA"
		for l in "$@"; do echo "$l"; done
	} >"$W/milter.conf"
}
# write_load_conf: the configuration for load tests (soak.py): a pidfile
# ($W/milter.pid, where soak.py samples the RSS) and the resolver as in
# production, without the testbed's short "infra-cache-max-rtt: 1000": a
# server that timed out once (under valgrind, or NSD stopped for a while)
# would stay out of use for infra-host-ttl (900 s), since libunbound 1.17
# does not probe a server whose timeout reached that cap.  Both go into
# MILTER_CONF_EXTRA, so every later configuration keeps them.
write_load_conf() {
	grep -v "infra-cache-max-rtt" "$TB_UNBOUND_CONF" >"$W/unbound.conf"
	MILTER_CONF_EXTRA="pidfile = $W/milter.pid
unbound_conf = $W/unbound.conf"
	write_conf
}
# start_milter: start it and wait for its "started on" line (a new one: the
# log is appended to, and a unix socket left by a killed milter exists).
start_milter() {
	local before
	before=$(grep -c "started on" "$W/milter.log" 2>/dev/null)
	# shellcheck disable=SC2086
	${MILTER_WRAP:-} "$DANEMAIL_MILTER" -f -c "$W/milter.conf" >>"$W/milter.log" 2>&1 &
	MILTER_PID=$!
	for _ in $(seq $((${MILTER_START_WAIT:-10} * 20))); do
		[ -S "$SOCK" ] && [ "$(grep -c "started on" "$W/milter.log")" -gt "${before:-0}" ] &&
			return 0
		kill -0 "$MILTER_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "milter did not start:" | diag
	diag <"$W/milter.log"
	return 1
}
stop_milter() { # stop_milter [SIGNAL]
	[ -n "$MILTER_PID" ] || return 0
	kill "-${1:-TERM}" "$MILTER_PID" 2>/dev/null
	# libmilter's listener notices smfi_stop only at its next poll timeout:
	# an idle milter takes up to 5 s to exit after SIGTERM
	for _ in $(seq 200); do
		kill -0 "$MILTER_PID" 2>/dev/null || break
		case $(ps -o stat= -p "$MILTER_PID" 2>/dev/null) in Z*) break ;; esac
		sleep 0.05
	done
	kill -KILL "$MILTER_PID" 2>/dev/null
	wait "$MILTER_PID" 2>/dev/null
	MILTER_PID=
}
# reload EXTRA-LINES...: a new configuration by SIGHUP; waits until it is in force
reload() {
	local before
	before=$(grep -c "configuration reloaded" "$W/milter.log")
	write_conf "$@"
	kill -HUP "$MILTER_PID"
	for _ in $(seq 100); do
		[ "$(grep -c "configuration reloaded" "$W/milter.log")" -gt "$before" ] && return 0
		sleep 0.05
	done
	echo "reload not seen in the log" | diag
	return 1
}
alive() { # the milter still runs (not a zombie)
	kill -0 "$MILTER_PID" 2>/dev/null &&
		case $(ps -o stat= -p "$MILTER_PID" 2>/dev/null) in Z*) false ;; *) true ;; esac
}

# ---- Postfix ----
postfix_sh=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../testbed" && pwd)/postfix.sh
PF=$W/pf
# start_postfix PORT: Postfix on the first free port from PORT, passing mail
# to the milter on SOCK; sources its postfix.env.  Bails out (exit 1) when
# it does not start.
start_postfix() {
	local port=$1
	while ss -Hlnt "sport = :$port" | grep -q .; do port=$((port + 1)); done
	if ! PF_PORT=$port PF_MILTER="unix:$SOCK" "$postfix_sh" start "$PF" >"$W/pf.log" 2>&1; then
		echo "Bail out! postfix did not start"
		diag <"$W/pf.log"
		exit 1
	fi
	# shellcheck disable=SC1091
	. "$PF/postfix.env"
}
# start_milter_postfix PORT: the milter (configuration already written), then
# start_postfix PORT.  Bails out (exit 1) when the milter does not start.
start_milter_postfix() {
	start_milter || {
		echo "Bail out! milter did not start"
		exit 1
	}
	start_postfix "$1"
}
stop_milter_postfix() { # for the EXIT trap: both stopped (either may not run)
	stop_milter TERM
	"$postfix_sh" stop "$PF" >/dev/null 2>&1
}

# ---- messages (in $W/msgs) ----
# make_msg ID TO CONTENT-HEADERS BODY-FILE: the message file and the expected entity
make_msg() {
	local mid=$1 to=$2 ch=$3 body=$4
	{
		printf 'From: Alice <a@example.test>\r\nTo: %s\r\nSubject: test %s\r\n' "$to" "$mid"
		printf 'X-Test-Id: %s\r\nMIME-Version: 1.0\r\n' "$mid"
		[ -n "$ch" ] && printf '%s' "$ch"
		printf '\r\n'
		cat "$body"
	} >"$W/msgs/$mid.eml"
	{
		[ -n "$ch" ] && printf '%s' "$ch"
		printf '\r\n'
		cat "$body"
	} >"$W/msgs/$mid.entity"
}
# make_body_mixed: $W/body-mixed, a multipart/mixed body (boundary "mix"):
# a text part and a 30000-byte random attachment in base64
make_body_mixed() {
	{
		printf -- '--mix\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--mix\r\n'
		printf 'Content-Type: application/octet-stream; name="a.bin"\r\n'
		printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="a.bin"\r\n\r\n'
		head -c 30000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
		printf -- '--mix--\r\n'
	} >"$W/body-mixed"
}
# send ID RCPT...: SMTP through Postfix; sets SWAKS_OUT and SUMMARY (the
# milter's log line for this message: the last one, sends are sequential).
# swaks ends the data with CRLF . CRLF itself, so it gets the message
# without its final CRLF.
# shellcheck disable=SC2034 # SWAKS_OUT, SUMMARY: for the caller
send() {
	local mid=$1 to
	shift
	to=$(IFS=,; echo "$*") # swaks takes one --to with a comma-separated list
	head -c -2 "$W/msgs/$mid.eml" >"$W/msgs/$mid.data"
	SWAKS_OUT=$(swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.test \
		--to "$to" --data "@$W/msgs/$mid.data" --timeout 60 2>&1)
	SUMMARY=$(grep ' action=' "$W/milter.log" | tail -n 1)
}
# delivered ID COUNT: wait for COUNT files with this test id; list them in
# FOUND (empty when fewer came)
delivered() {
	local mid=$1 want=$2
	for _ in $(seq 100); do
		mapfile -t FOUND < <(grep -l "^X-Test-Id: $mid\$" "$PF_MAILDIR"/new/* 2>/dev/null)
		[ "${#FOUND[@]}" -ge "$want" ] && return 0
		sleep 0.1
	done
	FOUND=()
	return 1
}
