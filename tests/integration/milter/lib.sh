# lib.sh - sourced by the danemail-milter integration tests (smime.sh,
# openpgp.sh, ../hardening/*.sh): TAP counters, and one milter process
# driven by a configuration file in the work directory.
#
# Needs: W (work directory), DANEMAIL_MILTER, TB_UNBOUND_CONF (testbed.env).
# Optional: SOCK (default $W/milter.sock), MILTER_USER (default nobody),
# MILTER_TMPDIR (default $W/tmp), MILTER_CONF_EXTRA (lines every
# configuration gets after the defaults), MILTER_WRAP (a command to run the
# milter under, e.g. "strace -f -o FILE"; word-split), MILTER_START_WAIT
# (seconds to wait for it to start, default 10; more under valgrind).
# Sets: n, fails (TAP counters), MILTER_PID.
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
