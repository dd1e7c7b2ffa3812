#!/usr/bin/env bash
# pg.sh - a throw-away PostgreSQL server on loopback for tests.
#
#   pg.sh start DIR    initdb in DIR/pg/data, start it on 127.0.0.1 on a free
#                      high port (and a unix socket in DIR/pg/sock), trust
#                      auth, a database "danemail"; writes DIR/pg/pg.env and
#                      prints the URI on stdout. ~1-2 s.
#   pg.sh stop DIR     fast shutdown, SIGKILL after 10 s; idempotent.
#   pg.sh status DIR   exit 0 = up, 3 = not running.
#
# As root the server runs as the "postgres" system user (runuser), which
# must be able to reach DIR (e.g. chmod o+x on a mktemp -d directory); as
# any other user it runs as that user.  Nothing listens beyond 127.0.0.1;
# fsync is off (test data only).  PG_PORT picks the port; PG_BIN the
# PostgreSQL binaries (default /usr/lib/postgresql/15/bin).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: pg.sh start|stop|status DIR" >&2
	exit 2
fi
dir=$(cd "$dir" && pwd) || exit 1
pg=$dir/pg
data=$pg/data
sock=$pg/sock

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

# Run a PostgreSQL program as the server's user.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! ss -Hlnt "sport = :$1" | grep -q .
}

# The postmaster's pid, if it runs for this data directory.
server_pid() {
	local pid
	[ -r "$data/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	# not some other process that reused the pid
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data" || return 1
	echo "$pid"
}

start() {
	local port tries=0 uri conninfo
	[ -x "$PG_BIN/initdb" ] || die "no initdb in $PG_BIN (apt-get install postgresql-15)"
	if server_pid >/dev/null; then die "a server for $dir is still running: pg.sh stop $dir"; fi
	rm -rf "$pg"
	mkdir -p "$pg" "$sock"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || die "no 'postgres' system user to run the server as"
		chown postgres: "$pg" "$sock"
		runuser -u postgres -- test -w "$pg" ||
			die "user postgres cannot reach $dir (chmod o+x it and its parents)"
	fi
	as_owner "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
		--no-sync --no-instructions >"$pg/initdb.log" 2>&1 ||
		{ sed 's/^/initdb: /' "$pg/initdb.log" >&2; die "initdb failed"; }
	while :; do
		if [ -n "${PG_PORT:-}" ]; then
			port=$PG_PORT
		else
			port=$((20000 + RANDOM % 40000))
			port_free "$port" || continue
		fi
		cat >>"$data/postgresql.conf" <<-EOF
			# pg.sh
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$sock'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_connections = 50
			shared_buffers = 32MB
			logging_collector = off
		EOF
		if as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$pg/server.log" -w -t 30 start \
			>"$pg/pg_ctl.log" 2>&1; then
			break
		fi
		as_owner "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
		tries=$((tries + 1))
		# someone took the port between the check and the bind: another one
		if [ -z "${PG_PORT:-}" ] && [ "$tries" -lt 5 ] &&
			grep -qi "in use" "$pg/server.log"; then
			continue
		fi
		sed 's/^/server: /' "$pg/server.log" >&2
		die "the server did not start"
	done
	if ! as_owner "$PG_BIN/psql" -h "$sock" -p "$port" -U postgres -d postgres -qAt \
		-c "CREATE DATABASE danemail" >"$pg/createdb.log" 2>&1; then
		sed 's/^/psql: /' "$pg/createdb.log" >&2
		stop
		die "CREATE DATABASE failed"
	fi
	uri="postgresql://postgres@127.0.0.1:$port/danemail"
	conninfo="host=127.0.0.1 port=$port user=postgres dbname=danemail"
	cat >"$pg/pg.env" <<-EOF
		export PG_URI='$uri'
		export PG_CONNINFO='$conninfo'
		export PG_PORT='$port'
		export PG_SOCKET_DIR='$sock'
		export PG_DATA='$data'
		export PG_BIN='$PG_BIN'
	EOF
	echo "$uri"
}

stop() {
	local pid
	pid=$(server_pid) || return 0
	if ! as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 10 stop >/dev/null 2>&1; then
		# children first (by parent pid), then the postmaster
		pkill -KILL -P "$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] || return 0
		# a zombie counts as gone
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	die "server $pid did not stop"
}

case $cmd in
start) start ;;
stop) stop ;;
status) server_pid >/dev/null || exit 3 ;;
*)
	echo "usage: pg.sh start|stop|status DIR" >&2
	exit 2
	;;
esac
