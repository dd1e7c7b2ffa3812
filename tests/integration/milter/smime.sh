#!/usr/bin/env bash
# smime.sh - danemail-milter end to end: real Postfix on loopback delivering
# to a Maildir through the milter, real NSD + libunbound (the testbed).
# Every encrypted delivery is decrypted with the recipient's key and compared
# byte for byte with the original MIME entity.  Prints TAP.
#
# Needs: DANEMAIL_MILTER, the testbed.env variables (run under with-testbed.sh).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
W=$TB_DIR/milter-test
# shellcheck source=tests/integration/milter/lib.sh
. "$here/lib.sh"
make_workdir
mkdir -p "$W/msgs" "$W/out"
trap stop_milter_postfix EXIT

# ---- process: -n, refusal to run as root, bad configuration ----
write_conf
"$DANEMAIL_MILTER" -n -c "$W/milter.conf" >"$W/dump" 2>&1
ok $? "-n accepts a good configuration (and builds its resolver)"
grep -q "^unbound_conf = $TB_UNBOUND_CONF\$" "$W/dump"
ok $? "-n prints the effective configuration"
printf 'mode = outbound\ncache_size = lots\n' >"$W/bad.conf"
"$DANEMAIL_MILTER" -n -c "$W/bad.conf" >"$W/dump" 2>&1
rc=$?
[ "$rc" -eq 78 ] && grep -q "bad.conf:2: cache_size" "$W/dump"
ok $? "-n refuses a bad configuration with file and line (exit $rc)"
grep -v "^user" "$W/milter.conf" >"$W/root.conf"
"$DANEMAIL_MILTER" -f -c "$W/root.conf" >"$W/dump" 2>&1
rc=$?
[ "$rc" -eq 77 ] && grep -q "refusing to run as root" "$W/dump"
ok $? "refuses to run as root without a user (exit $rc)"

start_milter_postfix 2525

# ---- messages ----
id=0
# decrypts FILE KEY CERT ENTITY: the delivered file decrypts to exactly the entity
decrypts() {
	openssl cms -decrypt -in "$1" -inkey "$2" -recip "$3" -out "$W/out/plain" \
		2>"$W/out/err" && cmp -s "$W/out/plain" "$4"
}
is_smime() { # is_smime FILE [smime-type]
	grep -qi "^Content-Type: application/pkcs7-mime; smime-type=${2:-enveloped-data}" "$1" &&
		grep -q "^X-DANE-Encrypted: smime; recipients=" "$1"
}
unchanged() { # unchanged FILE ID: body and Content-Type as sent, no trace header
	local f=$1 mid=$2
	! grep -q "^X-DANE-Encrypted" "$f" &&
		[ "$(sed '1,/^$/d' "$f" | md5sum)" = "$(sed '1,/^\r$/d' "$W/msgs/$mid.eml" | tr -d '\r' | md5sum)" ]
}

printf 'Hello Bob,\r\nthis is line two: \xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9.\r\n.leading dot\r\n' >"$W/body-text"
CT_TEXT=$'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n'

# 1. one RSA recipient: encrypted, decrypts to exactly the original entity
id=$((id + 1))
make_msg $id bob@secure.test "$CT_TEXT" "$W/body-text"
send $id bob@secure.test
delivered $id 1
ok $? "RSA recipient: message delivered"
f=${FOUND[0]:-/nonexistent}
is_smime "$f"
ok $? "RSA recipient: delivered as application/pkcs7-mime with the trace header"
decrypts "$f" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "RSA recipient: openssl cms -decrypt gives back exactly the original entity"
grep -q "^Subject: test $id" "$f" && ! grep -qi "^Content-Transfer-Encoding: 8bit" "$f"
ok $? "RSA recipient: outer Subject kept, old Content-* headers removed"

# 2. EC recipient (ECDH key agreement)
id=$((id + 1))
make_msg $id bob-ec@secure.test "$CT_TEXT" "$W/body-text"
send $id bob-ec@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_EC_KEY" "$TB_BOB_EC_CERT" "$W/msgs/$id.entity"
ok $? "EC P-256 recipient: decrypts to the original entity"

# 3. two recipients: one CMS message, both decrypt
id=$((id + 1))
make_msg $id "bob@secure.test, bob-ec@secure.test" "$CT_TEXT" "$W/body-text"
send $id bob@secure.test bob-ec@secure.test
# one catch-all Maildir: Postfix may deliver both recipients' copies as one file
delivered $id 1
ok $? "two recipients: delivered"
decrypts "${FOUND[0]:-/x}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity" &&
	decrypts "${FOUND[0]:-/x}" "$TB_BOB_EC_KEY" "$TB_BOB_EC_CERT" "$W/msgs/$id.entity"
ok $? "two recipients: the message decrypts with either recipient's key"
grep -q "^X-DANE-Encrypted: smime; recipients=2" "${FOUND[0]:-/x}"
ok $? "two recipients: trace header counts 2"

# 4. mixed-case local part: found through the lower-cased owner
id=$((id + 1))
make_msg $id Alice@secure.test "$CT_TEXT" "$W/body-text"
send $id Alice@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_ALICE_RSA_KEY" "$TB_ALICE_RSA_CERT" "$W/msgs/$id.entity"
ok $? "mixed-case local part (Alice): encrypted to alice's certificate"
grep -q "<Alice@secure.test>=smime:key(lower-cased)" "$W/milter.log"
ok $? "mixed-case local part: the log says the lower-cased owner matched"

# 5. no key: insecure zone, secure proof of no record -> unchanged
for rc in bob@insecure.test nobody@secure.test; do
	id=$((id + 1))
	make_msg $id "$rc" "$CT_TEXT" "$W/body-text"
	send $id "$rc"
	delivered $id 1 && unchanged "${FOUND[0]}" $id
	ok $? "no usable key ($rc): delivered unchanged"
done

# 6. partial: one with a key, one without -> partial = clear: unchanged for both
id=$((id + 1))
make_msg $id "bob@secure.test, bob@insecure.test" "$CT_TEXT" "$W/body-text"
send $id bob@secure.test bob@insecure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "partial (default clear): delivered unchanged"

# 7. bogus: 4xx at end of data, nothing delivered
id=$((id + 1))
make_msg $id bob@bogus.test "$CT_TEXT" "$W/body-text"
send $id bob@bogus.test
grep -q "<\*\* *451" <<<"$SWAKS_OUT"
ok $? "bogus SMIMEA: 451 at end of data"
sleep 0.5
! delivered $id 1 2>/dev/null
ok $? "bogus SMIMEA: nothing delivered"
id=$((id + 1))
make_msg $id mallory@secure.test "$CT_TEXT" "$W/body-text"
send $id mallory@secure.test
grep -q "<\*\* *451" <<<"$SWAKS_OUT"
ok $? "tampered SMIMEA RRset: 451"

# 8. already encrypted forms pass untouched; signed-only is encrypted
printf 'opaque\r\n' >"$W/body-opaque"
enc_types=(
	$'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r\n'
	$'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
	$'Content-Type: application/x-pkcs7-mime; smime-type=authEnveloped-data\r\n'
	$'Content-Type: APPLICATION/PKCS7-MIME; SMIME-TYPE=Enveloped-Data\r\n'
)
for ct in "${enc_types[@]}"; do
	id=$((id + 1))
	make_msg $id bob@secure.test "$ct" "$W/body-opaque"
	send $id bob@secure.test
	delivered $id 1 && unchanged "${FOUND[0]}" $id
	ok $? "already encrypted ($(head -c 60 <<<"${ct//$'\r\n'/}")): passes untouched"
done
printf '\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n' >"$W/body-pgp"
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: text/plain\r\n' "$W/body-pgp"
send $id bob@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "inline PGP message passes untouched"
# only the body proves it: a .p7m name over SignedData, or text that merely starts like armour
printf 'MIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n' >"$W/body-p7m-signed"
printf '\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nmy password is hunter2\r\n' >"$W/body-pgp-fake"
not_encrypted() { # not_encrypted CONTENT-TYPE-FIELD BODY-FILE: must be encrypted like any other
	id=$((id + 1))
	make_msg $id bob@secure.test "$1" "$W/$2"
	send $id bob@secure.test
	delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
	ok $? "looks encrypted but is not ($2): encrypted, decrypts exactly"
}
not_encrypted $'Content-Type: application/pkcs7-mime; name="smime.p7m"\r\n' body-p7m-signed
not_encrypted $'Content-Type: text/plain\r\n' body-pgp-fake
not_encrypted $'Content-Type: multipart/encrypted; boundary=b\r\nContent-Type: text/plain\r\n' body-opaque
printf -- '--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--s--\r\n' >"$W/body-signed"
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"\r\n' "$W/body-signed"
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "signed-only message is encrypted, the signed entity intact inside"

# 9. multipart/mixed with an attachment; no Content-Type at all
make_body_mixed
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: multipart/mixed;\r\n boundary="mix"\r\n' "$W/body-mixed"
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "multipart/mixed with a folded Content-Type and an attachment: decrypts exactly"
id=$((id + 1))
make_msg $id bob@secure.test "" "$W/body-text"
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "message without Content-Type: encrypted, decrypts to the bare body"

# 10. a 20 MB message (spooled to a private file, not RAM)
head -c 15000000 /dev/urandom | base64 -w 76 | sed 's/$/\r/' >"$W/body-big"
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: text/plain\r\n' "$W/body-big"
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "20 MB message: encrypted, decrypts exactly"
[ -z "$(ls -A "$W/tmp")" ]
ok $? "no spool file left behind"

# 11. GCM (AuthEnvelopedData) and RSA-OAEP, switched by SIGHUP (reload)
write_conf "cipher = aes256-gcm" "rsa_padding = oaep"
kill -HUP "$MILTER_PID"
for _ in $(seq 50); do grep -q "configuration reloaded" "$W/milter.log" && break; sleep 0.1; done
id=$((id + 1))
make_msg $id bob@secure.test "$CT_TEXT" "$W/body-text"
send $id bob@secure.test
delivered $id 1 && is_smime "${FOUND[0]}" authEnveloped-data &&
	decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "after SIGHUP: AES-256-GCM AuthEnvelopedData with RSA-OAEP decrypts exactly"
kill -0 "$MILTER_PID"
ok $? "SIGHUP reloaded the configuration without stopping the milter"

# 12. a broken configuration on reload is refused, the old one kept
echo "mode = sideways" >>"$W/milter.conf"
kill -HUP "$MILTER_PID"
for _ in $(seq 50); do grep -q "reload failed" "$W/milter.log" && break; sleep 0.1; done
grep -q "reload failed" "$W/milter.log" && kill -0 "$MILTER_PID"
ok $? "broken configuration on SIGHUP: logged, old configuration kept"

# 13. DNS down: 4xx; DNS back: the retry is delivered encrypted
reload "unbound_conf = $TB_UNBOUND_DOWN_CONF"
id=$((id + 1))
make_msg $id bob@secure.test "$CT_TEXT" "$W/body-text"
send $id bob@secure.test
grep -q "<\*\* *451" <<<"$SWAKS_OUT"
ok $? "DNS server down: 451, the client keeps the message"
reload
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "DNS back: the retried message is delivered encrypted"

# 14. the milter killed mid-stream: Postfix tempfails; after restart it goes through
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: text/plain\r\n' "$W/body-big"
send $id bob@secure.test &
sender=$!
# kill it once the body streams in: its (unlinked) spool file is open
for _ in $(seq 500); do
	find "/proc/$MILTER_PID/fd" -lname "$W/tmp/*" 2>/dev/null | grep -q . && break
	sleep 0.02
done
stop_milter KILL
wait $sender
! delivered $id 1 2>/dev/null
ok $? "milter killed mid-stream: nothing delivered (Postfix tempfailed)"
start_milter
send $id bob@secure.test
delivered $id 1 && decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "after restart: the retried message is delivered encrypted"

# 15. a recipient without a domain (postmaster), straight through the milter protocol
MILTCLIENT=${MILTCLIENT:-$(dirname "$DANEMAIL_MILTER")/../../tests/tools/miltclient/miltclient}
id=$((id + 1))
make_msg $id postmaster "$CT_TEXT" "$W/body-text"
"$MILTCLIENT" -p "unix:$SOCK" -r postmaster -D i=PMTEST$id -o "$W/out/pm.eml" \
	"$W/msgs/$id.eml" 2>"$W/out/pm.verdict"
rc=$?
[ "$rc" -eq 0 ] && ! grep -q "X-DANE-Encrypted" "$W/out/pm.eml" &&
	grep -q "PMTEST$id: .*<postmaster>=smime:no-domain" "$W/milter.log"
ok $? "postmaster without a domain: no key, passed unchanged (exit $rc)"
"$MILTCLIENT" -p "unix:$SOCK" -r postmaster -r bob@secure.test -D i=PMTEST2 \
	-o "$W/out/pm2.eml" "$W/msgs/$id.eml" 2>/dev/null &&
	! grep -q "X-DANE-Encrypted" "$W/out/pm2.eml" &&
	grep -q "PMTEST2: .*no format covers every recipient" "$W/milter.log"
ok $? "postmaster plus a recipient with a key: partial policy (clear)"

# 16. a binary body (NUL, bare CR, high bytes), straight through the milter protocol
{
	printf 'From: a@example.test\r\nTo: bob@secure.test\r\nSubject: binary\r\n'
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	printf 'bin\0ary\r\n\x01\x02\xff\xfe\r\nlone CR\r in the middle\r\n'
	head -c 3000 /dev/urandom | tr -d '\r\n'
	printf '\r\n'
} >"$W/msgs/binary.eml"
sed -n '/^Content-Type/,$p' "$W/msgs/binary.eml" >"$W/msgs/binary.entity"
"$MILTCLIENT" -p "unix:$SOCK" -r bob@secure.test -C -o "$W/out/binary.eml" \
	"$W/msgs/binary.eml" 2>/dev/null &&
	decrypts "$W/out/binary.eml" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/binary.entity"
ok $? "binary body (NUL, bare CR, 8-bit): decrypts to exactly the original entity"

# 17. protected headers: the Subject travels inside, the outer one is a placeholder
reload "protected_headers = yes" "subject_placeholder = [encrypted]"
id=$((id + 1))
make_msg $id bob@secure.test "$CT_TEXT" "$W/body-text"
send $id bob@secure.test
delivered $id 1 && grep -q "^Subject: \[encrypted\]" "${FOUND[0]}" &&
	openssl cms -decrypt -in "${FOUND[0]}" -inkey "$TB_BOB_RSA_KEY" -recip "$TB_BOB_RSA_CERT" \
		-out "$W/out/plain" 2>/dev/null &&
	grep -q "^Subject: test $id" "$W/out/plain"
ok $? "protected headers: outer Subject is the placeholder, the real one is inside"
id=$((id + 1))
make_msg $id bob@secure.test $'Subject: second secret\r\n'"$CT_TEXT" "$W/body-text"
send $id bob@secure.test
delivered $id 1 && [ "$(sed '/^\r*$/q' "${FOUND[0]}" | grep -c '^Subject:')" -eq 1 ] &&
	grep -q "^Subject: \[encrypted\]" "${FOUND[0]}" && ! grep -q "second secret" "${FOUND[0]}"
ok $? "protected headers, two Subject fields: neither stays readable outside"

# 18. larger than max_message_size: passed on (on_oversize = pass) or tempfailed
reload "max_message_size = 2k"
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: text/plain\r\n' "$W/body-mixed"
send $id bob@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "over max_message_size (on_oversize = pass): delivered unchanged"
reload "max_message_size = 2k" "on_oversize = tempfail"
id=$((id + 1))
make_msg $id bob@secure.test $'Content-Type: text/plain\r\n' "$W/body-mixed"
send $id bob@secure.test
grep -q "<\*\* *451" <<<"$SWAKS_OUT"
ok $? "over max_message_size (on_oversize = tempfail): 451"
reload

# 19. summary log lines: one per message, queue id first, no content
grep -q "^danemail-milter\[[0-9]*\]: [0-9A-F]*: from=<a@example.test> rcpts=1 action=encrypt(smime)" "$W/milter.log"
ok $? "summary log line with queue id, action and reason"
! grep -q "Hello Bob" "$W/milter.log"
ok $? "no message content in the log"

# 20. SIGTERM: stops cleanly
stop_milter TERM
grep -q "stopped" "$W/milter.log"
ok $? "SIGTERM: the milter stops cleanly"

echo "1..$n"
[ "$fails" -eq 0 ]
