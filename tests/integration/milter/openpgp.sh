#!/usr/bin/env bash
# openpgp.sh - danemail-milter end to end with OpenPGP (OPENPGPKEY, RFC 7929;
# PGP/MIME, RFC 3156): real Postfix on loopback delivering to a Maildir
# through the milter, real NSD + libunbound (the testbed).  Every encrypted
# delivery is parsed with Python's email package (an independent MIME
# parser), its armour decrypted with gpg and the result compared byte for
# byte with the original MIME entity.  The format choice (prefer, formats,
# partial) and the keys that must never be used (expired, revoked, sign-only,
# wrong user ID, not a key, bogus) are checked against real DNS answers.
# Prints TAP.
#
# Needs: DANEMAIL_MILTER, the testbed.env variables (run under with-testbed.sh).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
W=$TB_DIR/milter-pgp
# shellcheck source=tests/integration/milter/lib.sh
. "$here/lib.sh"
make_workdir
mkdir -p "$W/msgs" "$W/out"

# ---- gpg: one fresh home per recipient key, so "decrypts with carol's key"
# means exactly that key (imported from the testbed's secret key export) ----
GPG_HOMES=()
gpg_home() { # gpg_home NAME SECRET-KEY-FILE
	local h=$W/gpg-$1
	mkdir -p "$h"
	chmod 700 "$h"
	GPG_HOMES+=("$h")
	gpg --homedir "$h" --batch --quiet --import "$2" 2>"$W/out/import-$1.err" ||
		{ diag <"$W/out/import-$1.err"; return 1; }
}

cleanup() {
	local h
	stop_milter_postfix
	for h in "${GPG_HOMES[@]}"; do gpgconf --homedir "$h" --kill all >/dev/null 2>&1; done
}
trap cleanup EXIT

for k in carol:$TB_CAROL_PGP_SEC dave:$TB_DAVE_PGP_SEC bob:$TB_BOB_PGP_SEC \
	wronguid:$TB_WRONGUID_PGP_SEC; do
	gpg_home "${k%%:*}" "${k#*:}" || {
		echo "Bail out! cannot import ${k%%:*}'s secret key"
		exit 1
	}
done
mkdir -p "$W/gpg-none" && chmod 700 "$W/gpg-none" # no keys: for --list-packets
GPG_HOMES+=("$W/gpg-none")

write_conf
start_milter_postfix 2525

# ---- messages ----
id=0
# new_msg TO... : the next id, a text message to these recipients, sent
new_msg() {
	id=$((id + 1))
	make_msg $id "$(IFS=,; echo "$*")" "$CT_TEXT" "$W/body-text"
	send $id "$@"
}
tempfailed() { grep -q "<\*\* *451" <<<"$SWAKS_OUT"; }
# nothing_delivered ID: Postfix did not queue the message (a 451 at end of
# data drops it) and, after a moment, none is in the Maildir
nothing_delivered() {
	! grep -q "queued as" <<<"$SWAKS_OUT" || return 1
	sleep 0.3
	! grep -qs "^X-Test-Id: $1\$" "$PF_MAILDIR"/new/* "$PF_MAILDIR"/tmp/*
}

# pgp_mime FILE: the delivered message is RFC 3156 PGP/MIME, checked with
# Python's email parser: multipart/encrypted, protocol
# application/pgp-encrypted, exactly two parts: application/pgp-encrypted
# holding "Version: 1", then application/octet-stream holding one armoured
# OpenPGP message (written to $W/out/armour).  Errors on stdout.
pgp_mime() {
	python3 - "$1" "$W/out/armour" <<'PY'
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
def fail(why):
    print(why)
    sys.exit(1)
if msg.get_content_type() != "multipart/encrypted":
    fail("Content-Type is %s" % msg.get_content_type())
if msg.get_param("protocol") != "application/pgp-encrypted":
    fail("protocol is %r" % msg.get_param("protocol"))
parts = msg.get_payload()
if not isinstance(parts, list) or len(parts) != 2:
    fail("want 2 parts, got %s" % (len(parts) if isinstance(parts, list) else "none"))
if parts[0].get_content_type() != "application/pgp-encrypted":
    fail("part 1 is %s" % parts[0].get_content_type())
if parts[0].get_payload().strip() != "Version: 1":
    fail("part 1 body is %r" % parts[0].get_payload()[:40])
if parts[1].get_content_type() != "application/octet-stream":
    fail("part 2 is %s" % parts[1].get_content_type())
armour = parts[1].get_payload()
lines = [l.rstrip("\r") for l in armour.splitlines()]
if lines.count("-----BEGIN PGP MESSAGE-----") != 1 or lines.count("-----END PGP MESSAGE-----") != 1:
    fail("part 2 is not one armoured OpenPGP message")
open(sys.argv[2], "w").write(armour)
PY
}
# is_pgp FILE COUNT: PGP/MIME with the trace header for COUNT recipients
is_pgp() {
	pgp_mime "$1" | diag
	[ "${PIPESTATUS[0]}" -eq 0 ] && grep -q "^X-DANE-Encrypted: openpgp; recipients=$2\$" "$1"
}
# pgp_decrypts FILE KEYNAME ENTITY: the armour decrypts with that one key to
# exactly the entity
pgp_decrypts() {
	pgp_mime "$1" >/dev/null &&
		gpg --homedir "$W/gpg-$2" --batch --quiet --yes --output "$W/out/plain" \
			--decrypt "$W/out/armour" 2>"$W/out/gpg.err" &&
		cmp -s "$W/out/plain" "$3"
}
# pkesk_count FILE: how many public-key encrypted session key packets
pkesk_count() {
	pgp_mime "$1" >/dev/null &&
		gpg --homedir "$W/gpg-none" --batch --list-packets "$W/out/armour" 2>/dev/null |
		grep -c '^:pubkey enc packet:'
}
is_smime() { # is_smime FILE
	grep -qi "^Content-Type: application/pkcs7-mime; smime-type=enveloped-data" "$1" &&
		grep -q "^X-DANE-Encrypted: smime; recipients=" "$1"
}
smime_decrypts() { # smime_decrypts FILE KEY CERT ENTITY
	openssl cms -decrypt -in "$1" -inkey "$2" -recip "$3" -out "$W/out/plain" \
		2>"$W/out/err" && cmp -s "$W/out/plain" "$4"
}
unchanged() { # unchanged FILE ID: body and Content-Type as sent, no trace header
	local f=$1 mid=$2
	! grep -q "^X-DANE-Encrypted" "$f" &&
		grep -q "^Content-Type: text/plain; charset=utf-8$" "$f" &&
		[ "$(sed '1,/^$/d' "$f" | md5sum)" = "$(sed '1,/^\r$/d' "$W/msgs/$mid.eml" | tr -d '\r' | md5sum)" ]
}
# says TEXT...: the summary line of the last message contains every TEXT
says() {
	local t
	for t in "$@"; do
		grep -qF -- "$t" <<<"$SUMMARY" || {
			echo "summary line lacks '$t': $SUMMARY" | diag
			return 1
		}
	done
}

printf 'Hello Carol,\r\nthis is line two: \xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9.\r\n.leading dot\r\nFrom the start of a line\r\n  trailing spaces  \r\n' >"$W/body-text"
CT_TEXT=$'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n'

# 1. carol: RSA-3072, OPENPGPKEY only
new_msg carol@secure.test
delivered $id 1
ok $? "carol (RSA-3072, OPENPGPKEY only): delivered"
f=${FOUND[0]:-/nonexistent}
grep -q '^Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=' "$f"
ok $? "carol: Content-Type multipart/encrypted; protocol=\"application/pgp-encrypted\""
is_pgp "$f" 1
ok $? "carol: RFC 3156 structure (Version: 1 part, armoured part), X-DANE-Encrypted: openpgp; recipients=1"
pgp_decrypts "$f" carol "$W/msgs/$id.entity"
ok $? "carol: gpg --decrypt with carol's key gives back exactly the original entity"
grep -q "^Subject: test $id\$" "$f" && ! grep -qi "^Content-Transfer-Encoding: 8bit" "$f" &&
	[ "$(grep -ci '^Content-Type:' "$f")" -eq 3 ]
ok $? "carol: outer Subject kept, old Content-* headers replaced"
! pgp_decrypts "$f" dave "$W/msgs/$id.entity"
ok $? "carol: dave's key cannot decrypt it"
says "action=encrypt(openpgp)" "<carol@secure.test>=smime:no-key(no record (secure proof)),openpgp:key(exact)"
ok $? "carol: summary log line: encrypt(openpgp), carol has only an OpenPGP key"

# 2. dave: Curve25519
new_msg dave@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 1 && pgp_decrypts "${FOUND[0]}" dave "$W/msgs/$id.entity"
ok $? "dave (Curve25519): PGP/MIME, decrypts exactly with dave's key"

# 2b. mixed-case local part: the key is found under the lower-cased owner
# (RFC 7929 section 3), and its user ID is checked against the lower-cased
# address it was found for.
new_msg Carol@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 1 && pgp_decrypts "${FOUND[0]}" carol "$W/msgs/$id.entity"
ok $? "mixed-case local part (Carol): encrypted to the key found under the lower-cased owner"

# 3. carol + dave: one message, both can decrypt it
id=$((id + 1))
make_msg $id "carol@secure.test, dave@secure.test" "$CT_TEXT" "$W/body-text"
send $id carol@secure.test dave@secure.test
# one catch-all Maildir: Postfix may deliver both recipients' copies as one file
delivered $id 1 && is_pgp "${FOUND[0]}" 2
ok $? "carol + dave: one PGP/MIME message, trace header counts 2"
f=${FOUND[0]:-/nonexistent}
pgp_decrypts "$f" carol "$W/msgs/$id.entity" && pgp_decrypts "$f" dave "$W/msgs/$id.entity"
ok $? "carol + dave: decrypts exactly with carol's key alone and with dave's key alone"
[ "$(pkesk_count "$f")" = 2 ]
ok $? "carol + dave: two session key packets (one per recipient)"

# 4. multipart/mixed with a folded Content-Type and a binary attachment;
# a message above spool_threshold (encrypted through the spool file)
make_body_mixed
id=$((id + 1))
make_msg $id dave@secure.test $'Content-Type: multipart/mixed;\r\n boundary="mix"\r\n' "$W/body-mixed"
send $id dave@secure.test
delivered $id 1 && pgp_decrypts "${FOUND[0]}" dave "$W/msgs/$id.entity"
ok $? "multipart/mixed with an attachment: decrypts exactly"
head -c 1000000 /dev/urandom | base64 -w 76 | sed 's/$/\r/' >"$W/body-big"
id=$((id + 1))
make_msg $id carol@secure.test $'Content-Type: text/plain\r\n' "$W/body-big"
send $id carol@secure.test
delivered $id 1 && pgp_decrypts "${FOUND[0]}" carol "$W/msgs/$id.entity"
ok $? "1.3 MB message (above spool_threshold): PGP/MIME, decrypts exactly"
[ -z "$(ls -A "$W/tmp")" ]
ok $? "no spool file left behind"

# 5. prefer: bob has SMIMEA and OPENPGPKEY
new_msg bob@secure.test
delivered $id 1 && is_smime "${FOUND[0]}" &&
	smime_decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "bob (both records), default prefer = smime: S/MIME, decrypts exactly"
reload "prefer = openpgp"
ok $? "SIGHUP: prefer = openpgp in force"
new_msg bob@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 1 && pgp_decrypts "${FOUND[0]}" bob "$W/msgs/$id.entity"
ok $? "bob, prefer = openpgp: PGP/MIME, decrypts exactly with bob's OpenPGP key"
new_msg bob-ec@secure.test
delivered $id 1 && is_smime "${FOUND[0]}" &&
	smime_decrypts "${FOUND[0]}" "$TB_BOB_EC_KEY" "$TB_BOB_EC_CERT" "$W/msgs/$id.entity"
ok $? "bob-ec (SMIMEA only), prefer = openpgp: still S/MIME (the only format it has)"
reload

# 6. mixed recipients: no format covers bob-ec (S/MIME only) and dave (OpenPGP only)
new_msg bob-ec@secure.test dave@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "bob-ec (SMIMEA only) + dave (OPENPGPKEY only), partial = clear: delivered unchanged"
says "action=pass" "no format covers every recipient (partial = clear)"
ok $? "bob-ec + dave: the log says no format covers every recipient"
reload "partial = tempfail"
new_msg bob-ec@secure.test dave@secure.test
tempfailed
ok $? "bob-ec + dave, partial = tempfail: 451"
nothing_delivered $id
ok $? "bob-ec + dave, partial = tempfail: nothing delivered"
reload
new_msg bob@secure.test carol@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 2
ok $? "bob + carol, prefer = smime: OpenPGP is the one format covering both: PGP/MIME"
f=${FOUND[0]:-/nonexistent}
pgp_decrypts "$f" bob "$W/msgs/$id.entity" && pgp_decrypts "$f" carol "$W/msgs/$id.entity"
ok $? "bob + carol: decrypts exactly with bob's key and with carol's key"

# 7. keys that must never be used: the recipient has no key
#    who  what the summary line must say (lib/mail/pgpkey.c's reasons)
bad_keys=(
	"expired|the primary key expired on 2020-01-02"
	"revoked|the primary key is revoked"
	"signonly|no valid, unexpired, unrevoked key that may encrypt"
	"wronguid|no valid user ID contains <wronguid@secure.test>"
	"garbage|not OpenPGP key data"
)
for e in "${bad_keys[@]}"; do
	who=${e%%|*}
	why=${e#*|}
	new_msg "$who@secure.test"
	delivered $id 1 && unchanged "${FOUND[0]}" $id
	ok $? "$who@secure.test: no usable key, delivered unchanged"
	says "action=pass" "no recipient has a key" "<$who@secure.test>=smime:no-key(no record (secure proof)),openpgp:no-key($why)"
	ok $? "$who@secure.test: the summary log line says \"$why\""
	alive
	ok $? "$who@secure.test: the milter is still running"
done
# with a recipient that has a key: partial applies
new_msg dave@secure.test revoked@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id &&
	says "no format covers every recipient (partial = clear)"
ok $? "dave + revoked, partial = clear: delivered unchanged"
reload "partial = tempfail"
new_msg dave@secure.test expired@secure.test
tempfailed
ok $? "dave + expired, partial = tempfail: 451"
reload

# 8. openpgp_require_uid = no: the key with the wrong user ID is used
reload "openpgp_require_uid = no"
new_msg wronguid@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 1 && pgp_decrypts "${FOUND[0]}" wronguid "$W/msgs/$id.entity"
ok $? "openpgp_require_uid = no: wronguid's key is used, decrypts exactly"
new_msg revoked@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "openpgp_require_uid = no: the revoked key is still refused"

# 9. formats = smime: OPENPGPKEY is not even looked up
reload "formats = smime" "prefer = openpgp"
new_msg bob@secure.test
delivered $id 1 && is_smime "${FOUND[0]}" &&
	smime_decrypts "${FOUND[0]}" "$TB_BOB_RSA_KEY" "$TB_BOB_RSA_CERT" "$W/msgs/$id.entity"
ok $? "formats = smime, prefer = openpgp: bob gets S/MIME"
new_msg carol@secure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "formats = smime: carol (OpenPGP only) passes unchanged"
says "<carol@secure.test>=smime:no-key" && ! grep -q "openpgp" <<<"${SUMMARY#*<carol}"
ok $? "formats = smime: the log line names no OpenPGP state"
reload "formats = openpgp"
new_msg bob@secure.test
delivered $id 1 && is_pgp "${FOUND[0]}" 1 && pgp_decrypts "${FOUND[0]}" bob "$W/msgs/$id.entity"
ok $? "formats = openpgp, prefer = smime: bob gets PGP/MIME"

# 10. bogus OPENPGPKEY: 451 (on_bogus = tempfail), even with only OpenPGP enabled
reload
new_msg bob@bogus.test
tempfailed && says "action=tempfail" "openpgp:bogus"
ok $? "bob@bogus.test (bogus SMIMEA and OPENPGPKEY): 451"
reload "formats = openpgp"
new_msg bob@bogus.test
tempfailed && says "action=tempfail" "DNSSEC validation failed" "openpgp:bogus(validation failure"
ok $? "bogus OPENPGPKEY alone (formats = openpgp): 451"
# With only the second format enabled the summary line has no stray comma.
says "<bob@bogus.test>=openpgp:bogus"
ok $? "formats = openpgp: the log line has no stray comma before openpgp:"
nothing_delivered $id
ok $? "bogus OPENPGPKEY: nothing delivered"
reload "formats = openpgp" "on_bogus = pass"
new_msg bob@bogus.test
delivered $id 1 && unchanged "${FOUND[0]}" $id
ok $? "bogus OPENPGPKEY with on_bogus = pass: treated as no key, delivered unchanged"

# 11. insecure zone: OPENPGPKEY present but unsigned => not used
reload
new_msg bob@insecure.test
delivered $id 1 && unchanged "${FOUND[0]}" $id && says "openpgp:no-key(insecure (no DNSSEC))"
ok $? "bob@insecure.test (unsigned OPENPGPKEY): not used, delivered unchanged"

# 12. an already PGP/MIME-encrypted message passes untouched
printf 'opaque\r\n' >"$W/body-opaque"
id=$((id + 1))
make_msg $id carol@secure.test $'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r\n' "$W/body-opaque"
send $id carol@secure.test
delivered $id 1 && ! grep -q "^X-DANE-Encrypted" "${FOUND[0]}" && says "already encrypted"
ok $? "already PGP/MIME-encrypted message: passes untouched"

# 13. the milter survived everything and stops cleanly; no content in the log
! grep -q "Hello Carol" "$W/milter.log"
ok $? "no message content in the log"
alive
ok $? "the milter is still running after every case"
stop_milter TERM
grep -q "stopped" "$W/milter.log"
ok $? "SIGTERM: the milter stops cleanly"

echo "1..$n"
[ "$fails" -eq 0 ]
