#!/usr/bin/env bash
# openpgpkey.sh - `danemail record openpgpkey`: records for the testbed's
# keys carry the packets the testbed serves at the same owners; every user
# ID's address without --email; keys that are refused (secret, encrypted
# secret, no encryption subkey, expired, wrong address, garbage).  Prints TAP.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# b64_packets B64: the packet list of base64 key data
b64_packets() {
	base64 -d <<<"$1" >"$W/key.bin" 2>/dev/null || return 1
	packets "$W/key.bin"
}
served_bob=$(b64_packets "$TB_BOB_OPENPGPKEY_B64")
served_carol=$(b64_packets "$TB_CAROL_OPENPGPKEY_B64")
grep -q ":public sub key packet:" <<<"$served_bob"
ok $? "oracle: gpg lists the packets of the key the testbed serves"

# --- the testbed's keys ---
expect 0 "bob, binary" dm record openpgpkey --key "$TB_BOB_PGP_PUB"
same "$(wc -l <<<"$out")" 1 "bob: one record (one user ID)"
same "$(field 1) $(field 2) $(field 3) $(field 4)" "$TB_BOB_OPENPGPKEY_OWNER. 3600 IN OPENPGPKEY" "bob: owner as served"
bob_b64=$(field 5)
# gpg (which made the served key) writes legacy packet headers; librnp writes
# OpenPGP-format headers, as RFC 9580 section 4.2 asks of new data: the same
# packets, 5 CTB octets differ.  Compare the packets, not the framing.
same "$(b64_packets "$bob_b64")" "$served_bob" "bob: the same packets as served (framing aside)"
same "$(base64 -d <<<"$bob_b64" | wc -c)" "$(base64 -d <<<"$TB_BOB_OPENPGPKEY_B64" | wc -c)" "bob: the same size as served"
expect 0 "bob, armoured" dm record openpgpkey --key "$TB_BOB_PGP_PUB_ASC"
same "$(field 5)" "$bob_b64" "armoured and binary input give the same record"
expect 0 "carol, RSA-3072" dm record openpgpkey --key "$TB_CAROL_PGP_PUB" --email carol@secure.test
same "$(field 1)" "$TB_CAROL_OPENPGPKEY_OWNER." "carol: owner as served"
same "$(b64_packets "$(field 5)")" "$served_carol" "carol: the same packets as served"
expect 0 "generic" dm record openpgpkey --key "$TB_BOB_PGP_PUB" --format generic
same "$(field 4) $(field 5) $(field 6)" "TYPE61 \\# $(base64 -d <<<"$bob_b64" | wc -c)" "generic: TYPE61 and the length"
same "$(field 7)" "$(base64 -d <<<"$bob_b64" | od -An -v -tx1 | tr -d ' \n')" "generic: hex of the same key"
expect 0 "json" dm record openpgpkey --key "$TB_BOB_PGP_PUB" --format json
same "$(python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["owner"], r["type"], r["fingerprint"], r["address"])' <<<"$out")" \
	"$TB_BOB_OPENPGPKEY_OWNER. OPENPGPKEY $TB_BOB_PGP_FPR bob@secure.test" "json: owner, type, fingerprint, address"

# --- keys of our own ---
mkgnupg
gpgq --passphrase '' --quick-gen-key 'Dave <Dave@secure.test>' future-default default 1y
dfpr=$(gpgq --with-colons --list-keys '<Dave@secure.test>' | awk -F: '$1 == "fpr" { print $10; exit }')
gpgq --passphrase '' --quick-add-uid "$dfpr" 'dave.two@secure.test'
gpgq --passphrase '' --quick-add-uid "$dfpr" 'Dave Old <dave.old@secure.test>'
gpgq --passphrase '' --quick-add-uid "$dfpr" 'Just A Name'
gpgq --passphrase '' --quick-revoke-uid "$dfpr" 'Dave Old <dave.old@secure.test>'
gpgq --export "$dfpr" >"$W/dave.pub"
expect 0 "every user ID's address" dm record openpgpkey --key "$W/dave.pub"
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$(owner_of Dave _openpgpkey secure.test) $(owner_of dave.two _openpgpkey secure.test) " \
	"one record per valid user ID address, case exact; revoked and address-less user IDs left out"
has_err "Just A Name" "a user ID without an address: warned"
has_err "dave.old@secure.test" "a revoked user ID: warned"
expect 0 "--case both" dm record openpgpkey --key "$W/dave.pub" --case both
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$(owner_of Dave _openpgpkey secure.test) $(owner_of dave _openpgpkey secure.test) $(owner_of dave.two _openpgpkey secure.test) " \
	"--case both: Dave and dave, then dave.two once"
expect 0 "--email one of them" dm record openpgpkey --key "$W/dave.pub" --email dave.two@secure.test
same "$(wc -l <<<"$out") $(field 1)" "1 $(owner_of dave.two _openpgpkey secure.test)" "--email: that address only"
bad 65 65 "--email not in a user ID" dm record openpgpkey --key "$W/dave.pub" --email eve@secure.test
has_err "no valid user ID contains" "wrong address: the message says so"
bad 65 65 "--email of a revoked user ID" dm record openpgpkey --key "$W/dave.pub" --email dave.old@secure.test
bad 65 65 "--email bob's address with dave's key" dm record openpgpkey --key "$W/dave.pub" --email bob@secure.test

# minimal: a third-party certification is not exported
gpgq --passphrase '' --quick-gen-key 'Frank <frank@secure.test>' future-default default 1y
gpgq --passphrase '' --quick-gen-key 'Signer <signer@secure.test>' ed25519 sign 1y
skeyid=$(gpgq --with-colons --list-keys '<signer@secure.test>' | awk -F: '$1 == "pub" { print $5; exit }')
gpgq --passphrase '' --default-key "$skeyid" --quick-sign-key \
	"$(gpgq --with-colons --list-keys '<frank@secure.test>' | awk -F: '$1 == "fpr" { print $10; exit }')" >/dev/null
gpgq --export '<frank@secure.test>' >"$W/frank-signed.pub"
packets "$W/frank-signed.pub" | grep -q "keyid $skeyid"
ok $? "oracle: the export carries the signer's certification"
expect 0 "key with a third-party signature" dm record openpgpkey --key "$W/frank-signed.pub"
base64 -d <<<"$(field 5)" >"$W/min.bin"
packets "$W/min.bin" | grep -q "keyid $skeyid"
[ $? -ne 0 ]
ok $? "the record leaves the third-party certification out"
gpgq --export --export-options export-minimal '<frank@secure.test>' >"$W/frank-min.pub"
same "$(packets "$W/min.bin")" "$(packets "$W/frank-min.pub")" "the record holds the packets of gpg's export-minimal"

# --- refused ---
bad 65 65 "secret key" dm record openpgpkey --key "$TB_BOB_PGP_SEC"
has_err "secret key" "secret key: the message says so"
gpgq --passphrase 'sesame' --quick-gen-key 'Enc <enc@secure.test>' future-default default 1y
gpgq --passphrase 'sesame' --armor --export-secret-keys '<enc@secure.test>' >"$W/enc.sec.asc"
grep -q "BEGIN PGP PRIVATE KEY BLOCK" "$W/enc.sec.asc"
ok $? "oracle: gpg exported the pass-phrase protected secret key"
bad 65 65 "encrypted secret key" dm record openpgpkey --key "$W/enc.sec.asc"
gpgq --passphrase '' --quick-gen-key 'Sig <sig@secure.test>' ed25519 sign 1y
gpgq --export '<sig@secure.test>' >"$W/sig.pub"
bad 65 65 "key without an encryption subkey" dm record openpgpkey --key "$W/sig.pub"
has_err "cannot be used to encrypt" "no encryption subkey: the message says so"
gpgq --passphrase '' --faked-system-time 20200101T000000! --quick-gen-key 'Old <old@secure.test>' future-default default 1y
gpgq --export '<old@secure.test>' >"$W/old.pub"
bad 65 65 "expired key" dm record openpgpkey --key "$W/old.pub"
has_err "expired" "expired key: the message says so"
cat "$TB_BOB_PGP_PUB" "$TB_CAROL_PGP_PUB" >"$W/two.pub"
bad 65 65 "two keys in one file" dm record openpgpkey --key "$W/two.pub"
head -c 200 /dev/urandom >"$W/random.bin"
bad 65 65 "random bytes" dm record openpgpkey --key "$W/random.bin"
bad 65 65 "a certificate given as a key" dm record openpgpkey --key "$TB_BOB_RSA_CERT"
: >"$W/empty"
bad 65 65 "empty file" dm record openpgpkey --key "$W/empty"
bad 66 66 "missing file" dm record openpgpkey --key "$W/nonexistent.pub"
bad 66 66 "a folder" dm record openpgpkey --key "$W"
bad 64 64 "--selector does not apply" dm record openpgpkey --key "$TB_BOB_PGP_PUB" --selector 1
bad 64 64 "no --key" dm record openpgpkey --email bob@secure.test

finish
