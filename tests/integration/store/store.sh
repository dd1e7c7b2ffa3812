#!/usr/bin/env bash
# store.sh - `danemail scan --db` (src/scan/store*.c) against the testbed's
# SMTP servers (testbed.sh start-smtp; each server's host name is a domain
# through the implicit MX rule, RFC 5321 5.1, as in ../scan/scan.sh), into
# SQLite and into a real PostgreSQL on loopback (tests/testbed/pg.sh).
#
# Checks: the stored rows are the JSON Lines the scan writes, byte for byte,
# invalid entries left out; the scans row (label, shard, count, times); two
# scans give every domain a history of two and the newest row is the second
# scan's; exit 73 (no store, a newer schema, no server) and 74 (a refused
# write); the same into PostgreSQL (URI and conninfo); two scanners on shards
# 1/2 and 2/2 at the same time into one empty PostgreSQL database: the union
# of their newest rows (store_latest and psql) has the domains and verdicts
# of an unsharded scan; the store.h contract (store_tool selftest) on both
# backends; pg.sh stop leaves no server behind.
# Needs DANEMAIL, TESTBED, TB_SMTPD, PGSH, STORE_TOOL and testbed.env (run
# through tests/integration/tlsa/run.sh + with-testbed.sh). Prints TAP.
# Exits 75 before any output when the SMTP port is taken.
set -uo pipefail

W=$TB_DIR/store
mkdir -p "$W"
pg_up=
cleanup() {
	[ -n "$pg_up" ] && "$PGSH" stop "$W" >/dev/null 2>&1
}
trap cleanup EXIT

# --- set-up: nothing printed before it is done (exit 75 = try another port)
if ! "$TESTBED" start-smtp "$TB_DIR" >"$TB_DIR/start-smtp.log" 2>&1; then
	grep -q "already in use" "$TB_DIR/start-smtp.log" && exit 75
	echo "Bail out! testbed.sh start-smtp failed:"
	sed 's/^/# /' "$TB_DIR/start-smtp.log"
	exit 1
fi
# the PostgreSQL server runs as "postgres" when we are root: let it reach $W
chmod o+x "$TB_DIR" "$W"
if ! "$PGSH" start "$W" >"$W/pg.out" 2>"$W/pg.err"; then
	echo "Bail out! pg.sh start failed:"
	sed 's/^/# /' "$W/pg.err"
	exit 1
fi
pg_up=1
# shellcheck disable=SC1091
. "$W/pg/pg.env"
psql_() { # psql_ DB SQL: unaligned, tuples only
	psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$1" \
		-c "$2"
}
pg_uri() { echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"; }
newdb() { psql_ postgres "CREATE DATABASE $1"; }

# The domains: every server's host name, secure.test itself, a name that
# does not exist and two entries that are no domain names (not stored):
# an empty label and one of 64 octets (RFC 1035 2.3.4).
S=secure.test
cat >"$W/domains" <<EOF
dane-ee.$S
dane-ta.$S
mismatch.$S
unusable.$S
expired.$S
nostarttls.$S
oldtls.$S
bad..name
badname.$S
ta-expired.$S
ee-name.$S
stall.$S
greet421.$S
plain.$S
$(printf 'l%.0s' {1..64}).$S
dane.insecure.test
dane.bogus.test
$S
nxdomain.$S
EOF
NVALID=17

# --- TAP
n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
same() { # same GOT_FILE WANT_FILE DESCRIPTION: byte-equal, else a diff
	if cmp -s "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diff "$2" "$1" | head -n 20 | sed 's/^/# /'
	fi
}
is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "# got '$1', want '$2'"
	fi
}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
# valid FILE: the JSON Lines of scanned domains (no "error" entries), sorted, verbatim
valid() {
	"$py" -c '
import json, sys
for line in open(sys.argv[1]):
    if "error" not in json.loads(line):
        sys.stdout.write(line)' "$1" | LC_ALL=C sort
}
# verdicts FILE: "domain verdict" of the scanned domains in JSON Lines, sorted
verdicts() {
	"$py" -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "error" not in o:
        print(o["domain"], o["verdict"])' "$1" | LC_ALL=C sort
}
scan() { # scan LOG ARGS...: danemail scan of the domains; exit code in $rc
	local log=$1
	shift
	"$DANEMAIL" scan --config "$TB_UNBOUND_CONF" --smtp-port "$TB_SMTP_PORT" --quiet \
		--timeout 1500 --no-mta-sts-fetch --input "$W/domains" "$@" 2>"$log"
	rc=$?
}

# --- SQLite
db=$W/results.db
scan "$W/s1.err" --jsonl "$W/s1.jsonl" --db "$db"
is "$rc" 65 "sqlite: scan --db exits 65 (two invalid entries)"
valid "$W/s1.jsonl" >"$W/s1.want"
is "$(wc -l <"$W/s1.want")" "$NVALID" "sqlite: the scan wrote $NVALID domains to --jsonl"
sqlite3 -batch "$db" "SELECT json FROM results" | LC_ALL=C sort >"$W/s1.got"
same "$W/s1.got" "$W/s1.want" "sqlite: the rows are the JSON Lines, byte for byte, without the invalid entries"
is "$(sqlite3 -batch "$db" "SELECT count(*) FROM results WHERE domain != json_extract(json, '$.domain')")" 0 \
	"sqlite: each row's domain is its object's"
is "$(sqlite3 -batch "$db" "SELECT id, label, shard IS NULL, domains, finished >= started,
	started > 1700000000 FROM scans")" "1|scan|1|$NVALID|1|1" "sqlite: the scan's row: label, no shard, count, times"
is "$(sqlite3 -batch "$db" "SELECT count(*) FROM results WHERE scanned < (SELECT started FROM scans)
	OR scanned > (SELECT finished FROM scans)")" 0 "sqlite: every row's time is within the scan's"

scan "$W/s2.err" --db "$db" --shard 1/1 >"$W/s2.out"
is "$rc" 65 "sqlite: second scan, --db only: exits 65"
is "$(wc -c <"$W/s2.out")" 0 "sqlite: --db without --jsonl writes nothing to stdout"
is "$(sqlite3 -batch "$db" "SELECT count(*), count(DISTINCT domain) FROM results")" "$((2 * NVALID))|$NVALID" \
	"sqlite: two scans: every domain twice"
is "$(sqlite3 -batch "$db" "SELECT id, shard, domains FROM scans WHERE id = 2")" "2|1/1|$NVALID" \
	"sqlite: the second scan's row keeps its --shard"
"$STORE_TOOL" "$db" history "dane-ee.$S" >"$W/hist" 2>&1
is "$(cut -f 1,2 "$W/hist" | tr '\t\n' ': ')" "dane-ee.$S:1 dane-ee.$S:2 " \
	"sqlite: store_history: two rows, oldest first"
"$STORE_TOOL" "$db" latest >"$W/latest" 2>&1
is "$(cut -f 2 "$W/latest" | sort -u | tr '\n' ' ')" "2 " "sqlite: store_latest: the second scan's rows"
is "$(cut -f 1 "$W/latest" | tr '\n' ' ')" "$(LC_ALL=C sort -u <(cut -f 1 "$W/latest") | tr '\n' ' ')" \
	"sqlite: store_latest: in domain order"
is "$(wc -l <"$W/latest")" "$NVALID" "sqlite: store_latest: one row per domain"
sqlite3 -batch "$db" "SELECT domain || ' ' || json_extract(json, '$.verdict') FROM results
	WHERE scan_id = 2" | LC_ALL=C sort >"$W/v2.got"
verdicts "$W/s1.jsonl" >"$W/v1.want"
same "$W/v2.got" "$W/v1.want" "sqlite: the second scan's verdicts are the first's"

# --- exit codes
scan "$W/e1.err" --db "$W/no/such/dir/x.db" --jsonl "$W/e1.jsonl"
is "$rc" 73 "no store: exit 73"
grep -q "cannot open the store" "$W/e1.err"
ok $? "no store: the message says so"
cp "$db" "$W/future.db"
sqlite3 -batch "$W/future.db" "INSERT INTO schema_version VALUES (99, 0)"
scan "$W/e2.err" --db "$W/future.db"
is "$rc" 73 "a newer schema: exit 73"
grep -q "newer than this program" "$W/e2.err"
ok $? "a newer schema: the message says so"
is "$(sqlite3 -batch "$W/future.db" "SELECT count(*) FROM scans")" 2 "a newer schema: nothing written"
scan "$W/e3.err" --db "postgresql://postgres@127.0.0.1:1/x?connect_timeout=3"
is "$rc" 73 "no PostgreSQL server: exit 73"
cp "$db" "$W/refuse.db"
sqlite3 -batch "$W/refuse.db" "CREATE TRIGGER refuse BEFORE INSERT ON results
	BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
scan "$W/e4.err" --db "$W/refuse.db" --jsonl "$W/e4.jsonl"
is "$rc" 74 "a refused write: exit 74"
grep -q "refused by the test" "$W/e4.err"
ok $? "a refused write: the reason is shown"
is "$(wc -l <"$W/e4.jsonl")" 19 "a refused write: --jsonl is still complete"

# --- PostgreSQL
newdb one
scan "$W/p1.err" --jsonl "$W/p1.jsonl" --db "$(pg_uri one)"
is "$rc" 65 "postgresql: scan --db exits 65"
[ "$rc" = 65 ] || sed 's/^/# /' "$W/p1.err"
valid "$W/p1.jsonl" >"$W/p1.want"
psql_ one "SELECT json FROM results" | LC_ALL=C sort >"$W/p1.got"
same "$W/p1.got" "$W/p1.want" "postgresql: the rows are the JSON Lines, byte for byte"
is "$(psql_ one "SELECT count(*) FROM results WHERE domain <> json::json->>'domain'")" 0 \
	"postgresql: each row's domain is its object's"
is "$(psql_ one "SELECT label, shard IS NULL, domains, finished >= started FROM scans")" "scan|t|$NVALID|t" \
	"postgresql: the scan's row"
is "$(psql_ one "SELECT max(version) FROM schema_version")" 1 "postgresql: schema version 1"
scan "$W/p2.err" --db "host=127.0.0.1 port=$PG_PORT user=postgres dbname=one"
is "$rc" 65 "postgresql: second scan through a conninfo string"
is "$(psql_ one "SELECT count(*) FROM (SELECT domain FROM results GROUP BY domain HAVING count(*) = 2) AS d")" \
	"$NVALID" "postgresql: two scans: every domain twice"
"$STORE_TOOL" "$(pg_uri one)" history "mismatch.$S" >"$W/phist" 2>&1
is "$(cut -f 1,2 "$W/phist" | tr '\t\n' ': ')" "mismatch.$S:1 mismatch.$S:2 " \
	"postgresql: store_history: two rows, oldest first"
"$STORE_TOOL" "$(pg_uri one)" latest >"$W/platest" 2>&1
is "$(cut -f 2 "$W/platest" | sort -u | tr '\n' ' ')" "2 " "postgresql: store_latest: the second scan's rows"
is "$(cut -f 1 "$W/platest" | tr '\n' ' ')" "$(cut -f 1 "$W/latest" | tr '\n' ' ')" \
	"postgresql: store_latest: the same domains in the same order as SQLite's"
psql_ one "INSERT INTO schema_version VALUES (2, 0)"
scan "$W/p3.err" --db "$(pg_uri one)"
is "$rc" 73 "postgresql: a newer schema: exit 73"
grep -q "newer than this program" "$W/p3.err"
ok $? "postgresql: a newer schema: the message says so"

# --- two shards at once into one empty database
newdb shards
scan "$W/full.err" --jsonl "$W/full.jsonl"
verdicts "$W/full.jsonl" >"$W/full.want"
"$DANEMAIL" scan --config "$TB_UNBOUND_CONF" --smtp-port "$TB_SMTP_PORT" --quiet --timeout 1500 \
	--no-mta-sts-fetch --input "$W/domains" --shard 1/2 --db "$(pg_uri shards)" 2>"$W/sh1.err" &
p1=$!
"$DANEMAIL" scan --config "$TB_UNBOUND_CONF" --smtp-port "$TB_SMTP_PORT" --quiet --timeout 1500 \
	--no-mta-sts-fetch --input "$W/domains" --shard 2/2 --db "$(pg_uri shards)" 2>"$W/sh2.err" &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
case "$r1 $r2" in
0\ 65 | 65\ 0 | 65\ 65) ok 0 "shards: both scanners finished (exit $r1, $r2)" ;;
*)
	ok 1 "shards: both scanners finished (exit $r1, $r2)"
	sed 's/^/# /' "$W/sh1.err" "$W/sh2.err"
	;;
esac
is "$(psql_ shards "SELECT string_agg(shard || ':' || domains, ' ' ORDER BY shard) FROM scans")" \
	"1/2:$(((NVALID + 1) / 2)) 2/2:$((NVALID / 2))" "shards: one scan row per shard, each with its count"
is "$(psql_ shards "SELECT count(*) FROM schema_version")" 1 "shards: the schema was made once"
"$STORE_TOOL" "$(pg_uri shards)" latest 2>&1 | "$py" -c '
import json, sys
for line in sys.stdin:
    domain, scan, obj = line.rstrip("\n").split("\t", 2)
    print(domain, json.loads(obj)["verdict"])' | LC_ALL=C sort >"$W/shards.got"
same "$W/shards.got" "$W/full.want" "shards: store_latest: the union has an unsharded scan's domains and verdicts"
psql_ shards "SELECT domain || ' ' || (json::json->>'verdict') FROM results" | LC_ALL=C sort >"$W/shards.psql"
same "$W/shards.psql" "$W/full.want" "shards: psql shows the same"
# the report over the sharded database equals the report over the unsharded scan
# (but for the line naming the source, and the scan times only a database has)
# (but for the line naming the source, and the scan times only a database has)
valid "$W/full.jsonl" >"$W/full.valid.jsonl"
for fmt in md json stats; do
	"$DANEMAIL" report --db "$(pg_uri shards)" --format "$fmt" 2>"$W/rep-db.err" |
		grep -v -e '"source"' -e 'entries) from ' -e '"first_scan' -e '"last_scan' >"$W/rep-db.$fmt"
	"$DANEMAIL" report "$W/full.valid.jsonl" --format "$fmt" 2>"$W/rep-file.err" |
		grep -v -e '"source"' -e 'entries) from ' -e '"first_scan' -e '"last_scan' >"$W/rep-file.$fmt"
	[ -s "$W/rep-db.$fmt" ] && cmp -s "$W/rep-db.$fmt" "$W/rep-file.$fmt"
	ok $? "shards: report --format $fmt over the sharded database equals the unsharded scan's"
	cmp -s "$W/rep-db.$fmt" "$W/rep-file.$fmt" || diff "$W/rep-db.$fmt" "$W/rep-file.$fmt" | sed 's/^/# /' | head -20
done

# --- the store.h contract on both backends
selftest() { # selftest NAME URI
	local line
	"$STORE_TOOL" "$2" selftest >"$W/$1.self" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "$1 store_tool: ${line#ok - }" ;;
		"not ok - "*) ok 1 "$1 store_tool: ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$W/$1.self"
	grep -q "^ok - alert delete" "$W/$1.self"
	ok $? "$1 store_tool: ran to the end"
}
selftest sqlite "$W/self.db"
newdb self
selftest postgresql "$(pg_uri self)"

# --- stop
pid=$(head -n 1 "$PG_DATA/postmaster.pid")
"$PGSH" stop "$W"
ok $? "pg.sh stop"
pg_up=
"$PGSH" status "$W"
is "$?" 3 "pg.sh status: not running"
left=$(ps -eo pid=,ppid=,stat=,args= | awk -v p="$pid" '($1 == p || $2 == p) && $3 !~ /^Z/')
is "$left" "" "pg.sh stop: no server process left"

echo "1..$n"
[ "$fails" -eq 0 ]
