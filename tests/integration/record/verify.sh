#!/usr/bin/env bash
# verify.sh - `danemail verify smimea|openpgpkey ADDR --cert|--key FILE`
# against the testbed: match, mismatch, secure proof of none, insecure,
# bogus (tampered RRset, expired signatures), lookup failure; the
# lower-cased fallback; OpenPGP content comparison; JSON; bad input.
# Prints TAP.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

vs() { dm verify smimea --config "$TB_UNBOUND_CONF" "$@"; }
vo() { dm verify openpgpkey --config "$TB_UNBOUND_CONF" "$@"; }

# --- SMIMEA ---
expect 0 "bob's certificate for bob" vs bob@secure.test --cert "$TB_BOB_RSA_CERT"
has "MATCHES the local certificate" "match: the record is named"
has "verdict: match" "match: verdict"
has "$TB_BOB_SMIMEA_OWNER. (local part exact)" "match: the owner that answered"
expect 0 "DER certificate" vs bob@secure.test --cert "$TB_BOB_RSA_DER"
expect 0 "bob-ec" vs bob-ec@secure.test --cert "$TB_BOB_EC_CERT"
expect 0 "RFC 3597 record (generic@)" vs generic@secure.test --cert "$TB_BOB_RSA_CERT"
expect 0 "quoted local part canonicalised" vs '"bob"@secure.test' --cert "$TB_BOB_RSA_CERT"
expect 0 "Alice@: found lower-cased" vs Alice@secure.test --cert "$TB_ALICE_RSA_CERT"
has "(local part lower-cased)" "Alice@: the lower-cased owner is named"
expect 1 "alice's certificate for bob" vs bob@secure.test --cert "$TB_ALICE_RSA_CERT"
has "verdict: no-match" "mismatch: verdict no-match"
has "does not match" "mismatch: the record is named"
expect 1 "nobody@: secure NXDOMAIN" vs nobody@secure.test --cert "$TB_BOB_RSA_CERT"
has "verdict: no-records" "no records: verdict no-records (not no-match)"
expect 3 "mallory: tampered RRset" vs mallory@secure.test --cert "$TB_MALLORY_RSA_CERT"
has "verdict: bogus" "tampered: verdict bogus"
expect 3 "bob@bogus.test: expired signatures" vs bob@bogus.test --cert "$TB_BOB_RSA_CERT"
expect 2 "bob@insecure.test" vs bob@insecure.test --cert "$TB_BOB_RSA_CERT"
has "verdict: insecure" "insecure: verdict"
has "1 of 1 records would match" "insecure: says the record would match"
expect 4 "DNS server down" dm verify smimea --config "$TB_UNBOUND_DOWN_CONF" bob@secure.test --cert "$TB_BOB_RSA_CERT"
has "verdict: lookup-failed" "server down: verdict lookup-failed"
expect 0 "json, match" vs --json bob@secure.test --cert "$TB_BOB_RSA_CERT"
same "$(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["verdict"], j["exit"], j["dnssec"], j["matches"], j["records"][0]["match"], j["records"][0]["usage"], j["local"]["sha256"] != "")' <<<"$out")" \
	"match 0 secure 1 True 3 True" "json: verdict, exit, state, per-record match"
expect 1 "json, no records" vs --json nobody@secure.test --cert "$TB_BOB_RSA_CERT"
same "$(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["verdict"], j["outcome"], len(j["records"]))' <<<"$out")" \
	"no-records nxdomain 0" "json: no-records is told apart from no-match"

# --- OPENPGPKEY ---
expect 0 "bob's key for bob" vo bob@secure.test --key "$TB_BOB_PGP_PUB"
has "SAME primary key" "match: same primary key"
has "content: same packets" "match: same content (framing aside: gpg wrote the served key)"
expect 0 "armoured key" vo bob@secure.test --key "$TB_BOB_PGP_PUB_ASC"
expect 0 "carol (1.7 kB answer, TCP)" vo carol@secure.test --key "$TB_CAROL_PGP_PUB"
expect 1 "carol's key for bob" vo bob@secure.test --key "$TB_CAROL_PGP_PUB"
has "another key" "mismatch: another key"
has "verdict: no-match" "mismatch: verdict"
expect 1 "nobody@" vo nobody@secure.test --key "$TB_BOB_PGP_PUB"
has "verdict: no-records" "none: verdict no-records"
expect 2 "insecure" vo bob@insecure.test --key "$TB_BOB_PGP_PUB"
expect 3 "bogus" vo bob@bogus.test --key "$TB_BOB_PGP_PUB"
# the same primary key with another user ID: a match, but the content differs
mkgnupg
cp -r "$TB_GNUPGHOME/pubring.kbx" "$TB_GNUPGHOME/private-keys-v1.d" "$TB_GNUPGHOME/trustdb.gpg" "$G/"
gpgq --passphrase '' --quick-add-uid "$TB_BOB_PGP_FPR" 'Bob Work <bob.work@secure.test>'
gpgq --export "$TB_BOB_PGP_FPR" >"$W/bob-more.pub"
expect 0 "bob's key with one more user ID" vo bob@secure.test --key "$W/bob-more.pub"
has "content: differs" "more user IDs: content differs"
expect 0 "json, content" vo --json bob@secure.test --key "$W/bob-more.pub"
same "$(python3 -c 'import json,sys; j=json.load(sys.stdin); r=j["records"][0]; print(j["verdict"], r["match"], r["content"], r["fingerprint"])' <<<"$out")" \
	"match True differs $TB_BOB_PGP_FPR" "json: match with content 'differs'"

# --- bad input: exit 64 and up, before any lookup ---
bad 66 66 "unreadable certificate" vs bob@secure.test --cert "$W/missing.pem"
echo "not a certificate" >"$W/garbage.pem"
bad 65 65 "garbage certificate" vs bob@secure.test --cert "$W/garbage.pem"
bad 65 65 "private key as certificate" vs bob@secure.test --cert "$TB_BOB_RSA_KEY"
bad 65 65 "secret OpenPGP key" vo bob@secure.test --key "$TB_BOB_PGP_SEC"
gpgq --passphrase 'sesame' --quick-gen-key 'Enc <enc@secure.test>' future-default default 1y
gpgq --passphrase 'sesame' --armor --export-secret-keys '<enc@secure.test>' >"$W/enc.sec.asc"
grep -q "BEGIN PGP PRIVATE KEY BLOCK" "$W/enc.sec.asc"
ok $? "oracle: gpg exported an encrypted secret key"
bad 65 65 "encrypted secret OpenPGP key" vo enc@secure.test --key "$W/enc.sec.asc"
bad 65 65 "a certificate as OpenPGP key" vo bob@secure.test --key "$TB_BOB_RSA_CERT"
bad 64 64 "unbalanced quote" vs '"bob@secure.test' --cert "$TB_BOB_RSA_CERT"
bad 64 64 "local part not UTF-8" vs "$(printf 'b\xe9b@secure.test')" --cert "$TB_BOB_RSA_CERT"
bad 64 64 "control character" vs "$(printf 'b\001b@secure.test')" --cert "$TB_BOB_RSA_CERT"
bad 64 64 "no @" vs bob.secure.test --cert "$TB_BOB_RSA_CERT"
bad 64 64 "non-ASCII domain that is no IDN" vs "bob@$(printf '\xe2\x98\x83\xe2\x80\x8b').test" --cert "$TB_BOB_RSA_CERT"
bad 64 64 "smimea without --cert" vs bob@secure.test
bad 64 64 "openpgpkey with --cert" vo bob@secure.test --cert "$TB_BOB_RSA_CERT"
bad 64 64 "no address" vs --cert "$TB_BOB_RSA_CERT"
# a valid non-ASCII address: NFC-normalised, hashed, secure NXDOMAIN
expect 1 "non-ASCII local part (NFC)" vs "$(printf 'b\xc3\xb8b')@secure.test" --cert "$TB_BOB_RSA_CERT"
has "verdict: no-records" "non-ASCII: looked up, none"

finish
