#!/usr/bin/env bash
# bench/milter.sh - danemail-milter throughput: 4 KB messages to one recipient
# with a warm DNS cache, driven by tests/tools/miltclient (the MTA side of the
# milter protocol, TCP_NODELAY on, delayed ACKs as the kernel does them).
# Prints msg/s sequential (1 connection) and with 16 connections, over a
# unix socket and over TCP, the milter's CPU per message and its peak RSS,
# and the bare in-process CMS encryption of the same message for the ratio.
# Then the same over the unix socket for one OpenPGP-only recipient
# (OPENPGPKEY, Curve25519: PGP/MIME through librnp), with bench_pgp's bare
# in-process figures.  Every run first checks that the milter really
# encrypts in the expected format (a pass would be much faster).
#   BENCH_MSGS (2000) messages per run;  BENCH_RCPT (bob@secure.test)
#   BENCH_PGP_RCPT (dave@secure.test; "" skips the OpenPGP runs)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
MSGS=${BENCH_MSGS:-2000}
RCPT=${BENCH_RCPT:-bob@secure.test}
PGP_RCPT=${BENCH_PGP_RCPT-dave@secure.test}
MILTER=$PWD/build/src/milter/danemail-milter
CLIENT=$PWD/build/tests/tools/miltclient/miltclient
dir=$(mktemp -d /tmp/dm-bench.XXXXXX)
chmod 755 "$dir"
cleanup() {
	[ -n "${mpid:-}" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	./tests/testbed/testbed.sh stop "$dir/tb" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
TB_PORT=${TB_PORT:-53735} TB_DOWN_PORT=${TB_DOWN_PORT:-53736} \
	./tests/testbed/testbed.sh start "$dir/tb" >/dev/null
chmod 755 "$dir/tb"
. "$dir/tb/testbed.env"

# a 4 KB message
{
	printf 'From: a@example.test\r\nTo: %s\r\nSubject: bench\r\nMIME-Version: 1.0\r\n' "$RCPT"
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
	for i in $(seq 1 52); do printf 'line %02d of the benchmark message: the quick brown fox jumps over\r\n' "$i"; done
} >"$dir/msg.eml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # run LABEL SOCKET CONC [RCPT]
	local label=$1 sock=$2 conc=$3 rcpt=${4:-$RCPT} t0 t1 out rate
	t0=$(cpu_ticks "$mpid")
	out=$("$CLIENT" -p "$sock" -r "$rcpt" -n $((MSGS / conc)) -c "$conc" -q "$dir/msg.eml" 2>&1 | tail -n 3)
	t1=$(cpu_ticks "$mpid")
	rate=$(grep -o '[0-9.]* msg/s' <<<"$out" | tail -n 1)
	printf '%-34s %12s   milter CPU %6.0f us/msg\n' "$label" "$rate" \
		"$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v n="$MSGS" \
			'BEGIN { print (b - a) * 1e6 / hz / n }')"
}
# warm SOCKET RCPT FORMAT: one message fills the DNS cache; it must come back
# encrypted in FORMAT (smime|openpgp), or the figures would measure a pass
warm() {
	"$CLIENT" -p "$1" -r "$2" -o "$dir/warm.eml" -q "$dir/msg.eml" >/dev/null 2>&1 || true
	grep -q "^X-DANE-Encrypted: $3; recipients=1" "$dir/warm.eml" 2>/dev/null || {
		echo "milter.sh: $2 was not encrypted with $3; milter log:" >&2
		tail -n 3 "$dir/milter.log" >&2
		exit 1
	}
}

mkdir -p "$dir/tmp"
chown nobody "$dir/tmp"
for transport in unix inet; do
	if [ $transport = unix ]; then sock="unix:$dir/milter.sock"; else sock="inet:127.0.0.1:$((TB_PORT + 7))"; fi
	msock=$sock
	[ $transport = inet ] && msock="inet:$((TB_PORT + 7))@127.0.0.1"
	cat >"$dir/milter.conf" <<EOC
socket = $msock
socket_mode = 0666
user = nobody
unbound_conf = $TB_UNBOUND_CONF
tmpdir = $dir/tmp
mode = both
EOC
	"$MILTER" -f -c "$dir/milter.conf" >"$dir/milter.log" 2>&1 &
	mpid=$!
	for _ in $(seq 100); do grep -q "started on" "$dir/milter.log" && break; sleep 0.05; done
	warm "$sock" "$RCPT" smime
	run "$transport, 1 connection" "$sock" 1
	run "$transport, 16 connections" "$sock" 16
	if [ $transport = unix ] && [ -n "$PGP_RCPT" ]; then
		warm "$sock" "$PGP_RCPT" openpgp
		run "unix, OpenPGP $PGP_RCPT, 1 conn" "$sock" 1 "$PGP_RCPT"
		run "unix, OpenPGP $PGP_RCPT, 16 conn" "$sock" 16 "$PGP_RCPT"
	fi
	echo "$transport: milter peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$mpid/status")"
	kill "$mpid"
	wait "$mpid" 2>/dev/null || true
	mpid=
done
echo "bare CMS encryption of a 4 KB entity (bench_cms):"
./build/bench/bench_cms 3000 2>&1 | sed 's/^/  /'
if [ -n "$PGP_RCPT" ]; then
	echo "bare PGP/MIME encryption of a 4 KB entity (bench_pgp):"
	./build/bench/bench_pgp 2000 2>&1 | sed 's/^/  /'
fi
