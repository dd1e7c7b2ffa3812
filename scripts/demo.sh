#!/bin/sh
# scripts/demo.sh - install what is missing, build, and show danemail on the
# local testbed: NSD serving DNSSEC-signed zones on loopback, validated by
# libunbound.  Looks up a secure, an insecure, a bogus and a missing name;
# then sends a message through real Postfix with danemail-milter, shows it
# arriving encrypted, and decrypts it with the recipient's key.  Every step
# is checked.  Idempotent; ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

./scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

dir=$(mktemp -d "${TMPDIR:-/tmp}/danemail-demo.XXXXXX")
mpid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null
	./tests/testbed/postfix.sh stop "$dir/pf" >/dev/null 2>&1
	./tests/testbed/testbed.sh stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
# pick a free port for the testbed's DNS server
for p in $(seq 15353 2 15553); do
	if ! ss -Hlnu "sport = :$p" | grep -q . && ! ss -Hlnu "sport = :$((p + 1))" | grep -q .; then
		break
	fi
done
echo "== starting the testbed (NSD on 127.0.0.1:$p, zones signed now)"
TB_PORT=$p TB_DOWN_PORT=$((p + 1)) ./tests/testbed/testbed.sh start "$dir" >/dev/null
. "$dir/testbed.env"

passed=0
failed=0
show() { # show WANT-EXIT ARGS...
	want=$1
	shift
	echo
	echo "\$ danemail lookup $*"
	set +e
	./build/src/cli/danemail lookup --config "$TB_UNBOUND_CONF" "$@"
	got=$?
	set -e
	if [ "$got" -eq "$want" ]; then
		echo "-> exit $got, as expected"
		passed=$((passed + 1))
	else
		echo "-> exit $got, expected $want"
		failed=$((failed + 1))
	fi
}
show 0 smimea bob@secure.test
show 0 openpgpkey bob@secure.test
show 0 tlsa mail.secure.test
show 2 smimea bob@insecure.test
show 3 smimea bob@bogus.test
show 1 smimea nobody@secure.test
check() { # check DESCRIPTION COMMAND...: count a step
	what=$1
	shift
	if "$@"; then
		echo "-> $what: yes"
		passed=$((passed + 1))
	else
		echo "-> $what: NO"
		failed=$((failed + 1))
	fi
}

echo
echo "== danemail-milter in front of Postfix (both on loopback)"
chmod 755 "$dir"
mkdir -p "$dir/spool"
chown nobody "$dir/spool"
cat >"$dir/milter.conf" <<EOC
socket = unix:$dir/milter.sock
socket_mode = 0666
user = nobody
unbound_conf = $TB_UNBOUND_CONF
tmpdir = $dir/spool
mode = both
EOC
./build/src/milter/danemail-milter -f -c "$dir/milter.conf" >"$dir/milter.log" 2>&1 &
mpid=$!
for _ in $(seq 100); do [ -S "$dir/milter.sock" ] && break; sleep 0.05; done
pport=2525
while ss -Hlnt "sport = :$pport" | grep -q .; do pport=$((pport + 1)); done
PF_PORT=$pport PF_MILTER="unix:$dir/milter.sock" ./tests/testbed/postfix.sh start "$dir/pf" >/dev/null
. "$dir/pf/postfix.env"
printf 'From: Alice <alice@example.test>\r\nTo: Bob <bob@secure.test>\r\nSubject: demo\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob, this message was encrypted for you by danemail-milter.\r\n' >"$dir/demo.eml"
echo "\$ swaks --to bob@secure.test --server $PF_ADDR:$PF_PORT --data demo.eml"
swaks --server "$PF_ADDR" --port "$PF_PORT" --from alice@example.test --to bob@secure.test \
	--data "@$dir/demo.eml" >/dev/null 2>&1 || true
for _ in $(seq 50); do ls "$PF_MAILDIR"/new/* >/dev/null 2>&1 && break; sleep 0.1; done
f=$(ls "$PF_MAILDIR"/new/* 2>/dev/null | head -n 1)
echo "milter: $(grep -o 'action=.*' "$dir/milter.log" | head -n 1)"
echo "delivered to Bob's Maildir ($(basename "${f:-none}")):"
[ -n "$f" ] && sed -n '/^Subject/,/^$/p' "$f" | sed 's/^/  /' && sed -n '/^$/,$p' "$f" | sed -n 2,4p | sed 's/^/  /'
check "arrived as S/MIME (application/pkcs7-mime)" grep -q "^Content-Type: application/pkcs7-mime" "${f:-/nonexistent}"
echo "\$ openssl cms -decrypt -in message -inkey bob.key -recip bob.pem"
openssl cms -decrypt -in "${f:-/nonexistent}" -inkey "$TB_BOB_RSA_KEY" -recip "$TB_BOB_RSA_CERT" \
	-out "$dir/plain.txt" 2>/dev/null || true
sed 's/^/  /' "$dir/plain.txt" 2>/dev/null
check "decrypts with Bob's key to the original text" grep -q "encrypted for you by danemail-milter" "$dir/plain.txt"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
