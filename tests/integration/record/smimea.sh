#!/usr/bin/env bash
# smimea.sh - `danemail record smimea`: records for the testbed's own
# certificates equal what the testbed serves; output formats, --origin,
# --ttl, --case; certificates that are refused, warned about or need
# --force; batch mode (file and folder).  Prints TAP.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# --- the testbed's certificates: owner and RDATA exactly as served ---
expect 0 "bob, RSA" dm record smimea --cert "$TB_BOB_RSA_CERT"
same "$(wc -l <<<"$out")" 1 "bob: one record (one email SAN)"
same "$(field 1)" "$TB_BOB_SMIMEA_OWNER." "bob: owner as served"
same "$(field 2) $(field 3) $(field 4)" "3600 IN SMIMEA" "bob: default TTL, class, type"
same "$(field 5) $(field 6) $(field 7)" "3 0 0" "bob: default 3 0 0"
same "$(field 8)" "$TB_BOB_SMIMEA_HEX" "bob: association data = the certificate as served"

expect 0 "bob, DER input" dm record smimea --cert "$TB_BOB_RSA_DER"
same "$(field 1) $(field 8)" "$TB_BOB_SMIMEA_OWNER. $TB_BOB_SMIMEA_HEX" "DER and PEM give the same record"

expect 0 "bob-ec, P-256" dm record smimea --cert "$TB_BOB_EC_CERT"
same "$(field 1) $(field 8)" "$TB_BOB_EC_SMIMEA_OWNER. $TB_BOB_EC_SMIMEA_HEX" "bob-ec: owner and data as served"
expect 0 "alice with --email" dm record smimea --cert "$TB_ALICE_RSA_CERT" --email alice@secure.test
same "$(field 1) $(field 8)" "$TB_ALICE_SMIMEA_OWNER. $TB_ALICE_SMIMEA_HEX" "alice: owner and data as served"
[ -z "$err" ]
ok $? "alice: an address the certificate names gives no warning"

# --- formats ---
expect 0 "generic form" dm record smimea --cert "$TB_BOB_RSA_CERT" --format generic
len=$(((${#TB_BOB_SMIMEA_HEX} / 2) + 3))
same "$out" "$TB_BOB_SMIMEA_OWNER. 3600 IN TYPE53 \\# $len 030000$TB_BOB_SMIMEA_HEX" "generic: RFC 3597 line"
expect 0 "--origin, --ttl" dm record smimea --cert "$TB_BOB_RSA_CERT" --origin secure.test. --ttl 300
same "$(field 1) $(field 2)" "${TB_BOB_SMIMEA_OWNER%.secure.test} 300" "owner relative to the origin, TTL 300"
expect 0 "--origin test" dm record smimea --cert "$TB_BOB_RSA_CERT" --origin test
same "$(field 1)" "${TB_BOB_SMIMEA_OWNER%.test}" "owner relative to a parent origin"
expect 0 "--origin elsewhere" dm record smimea --cert "$TB_BOB_RSA_CERT" --origin example.org
same "$(field 1)" "$TB_BOB_SMIMEA_OWNER." "owner outside the origin stays absolute"
has_err "outside --origin" "owner outside the origin: warned"
expect 0 "json" dm record smimea --cert "$TB_BOB_RSA_CERT" --format json
jowner=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), r[0]["owner"], r[0]["type"], r[0]["usage"], r[0]["selector"], r[0]["matching_type"], r[0]["address"], r[0]["local_part"], r[0]["ttl"])' <<<"$out")
same "$jowner" "1 $TB_BOB_SMIMEA_OWNER. SMIMEA 3 0 0 bob@secure.test exact 3600" "json: one object with owner, type, fields, address"
jdata=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["rdata"].split()[3], r[0]["generic"].split()[2][6:])' <<<"$out")
same "$jdata" "$TB_BOB_SMIMEA_HEX $TB_BOB_SMIMEA_HEX" "json: rdata and generic carry the certificate"
expect 0 "other parameters" dm record smimea --cert "$TB_BOB_RSA_CERT" --usage 3 --selector 1 --match 1
want=$(openssl x509 -in "$TB_BOB_RSA_CERT" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c 1-64)
same "$(field 5) $(field 6) $(field 7) $(field 8)" "3 1 1 $want" "3 1 1: SHA2-256 of the SPKI (openssl)"
expect 0 "3 0 2" dm record smimea --cert "$TB_BOB_RSA_CERT" --match 2
same "$(field 8)" "$(openssl dgst -sha512 -r "$TB_BOB_RSA_DER" | cut -c 1-128)" "3 0 2: SHA2-512 of the certificate"

# --- case of the local part (RFC 8162/7929 do not fold case) ---
expect 0 "--email Bob@, exact" dm record smimea --cert "$TB_BOB_RSA_CERT" --email Bob@secure.test
same "$(field 1)" "$(owner_of Bob _smimecert secure.test)" "exact: hash of 'Bob'"
has_err "does not name Bob@secure.test" "an address the certificate does not name: warned"
expect 0 "--case lower" dm record smimea --cert "$TB_BOB_RSA_CERT" --email Bob@secure.test --case lower
same "$(field 1)" "$TB_BOB_SMIMEA_OWNER." "lower: the testbed's (lower-case) owner"
expect 0 "--case both" dm record smimea --cert "$TB_BOB_RSA_CERT" --email Bob@secure.test --case both
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$(owner_of Bob _smimecert secure.test) $TB_BOB_SMIMEA_OWNER. " "both: two owners, exact first"
expect 0 "--case both, already lower" dm record smimea --cert "$TB_BOB_RSA_CERT" --case both
same "$(wc -l <<<"$out")" 1 "both: one owner when lower-casing changes nothing"

# --- certificates that are refused or warned about ---
mkcert multi ec "subjectAltName=email:one@secure.test,email:Two@secure.test,DNS:x.secure.test" \
	"keyUsage=critical,keyAgreement"
expect 0 "two email SANs" dm record smimea --cert "$W/multi.pem"
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$(owner_of one _smimecert secure.test) $(owner_of Two _smimecert secure.test) " "one record per email SAN, exact case"
mkcert nosan ec "keyUsage=critical,keyAgreement"
bad 65 65 "no email SAN" dm record smimea --cert "$W/nosan.pem"
has_err "names no email address" "no email SAN: the message says so"
expect 0 "no email SAN, --email" dm record smimea --cert "$W/nosan.pem" --email x@secure.test
mkcert signonly ec "subjectAltName=email:sign@secure.test" "keyUsage=critical,digitalSignature"
bad 65 65 "keyUsage digitalSignature only" dm record smimea --cert "$W/signonly.pem"
has_err "cannot encrypt" "cannot encrypt: the message says so"
has_err "--force" "cannot encrypt: the message names --force"
expect 0 "--force" dm record smimea --cert "$W/signonly.pem" --force
same "$(field 1)" "$(owner_of sign _smimecert secure.test)" "--force: the record is written"
has_err "warning" "--force: still warned"
mkcert ed ed25519 "subjectAltName=email:ed@secure.test"
bad 65 65 "Ed25519 key" dm record smimea --cert "$W/ed.pem"
mkcert_expired old old@secure.test
expect 0 "expired certificate" dm record smimea --cert "$W/old.pem"
has_err "expired" "expired: warned"
same "$(field 1)" "$(owner_of old _smimecert secure.test)" "expired: record still written"

# --- batch: a file with good and bad lines ---
mkdir -p "$W/batch/certs"
cp "$TB_BOB_RSA_CERT" "$W/batch/certs/bob.pem"
cp "$TB_ALICE_RSA_DER" "$W/batch/certs/alice.der"
cp "$W/signonly.pem" "$W/batch/certs/"
echo garbage >"$W/batch/certs/garbage.pem"
cat >"$W/batch/list.csv" <<EOF
# hoster's list: address,certificate
bob@secure.test,certs/bob.pem

  alice@secure.test , certs/alice.der
no-comma-here
carol@secure.test,certs/missing.pem
sign@secure.test,certs/signonly.pem
junk@secure.test,certs/garbage.pem
"bad@secure.test,certs/bob.pem
bob-ec@secure.test,$TB_BOB_EC_CERT
EOF
run dm record smimea --batch "$W/batch/list.csv"
[ "$got" -eq 65 ]
ok $? "batch with bad lines: exit $got, want 65"
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$TB_BOB_SMIMEA_OWNER. $TB_ALICE_SMIMEA_OWNER. $TB_BOB_EC_SMIMEA_OWNER. " "batch: the good lines' records, in order (relative and absolute paths)"
same "$(grep -c 'SMIMEA 3 0 0 ' <<<"$out")" 3 "batch: three records"
for l in 5 6 7 8 9; do
	grep -q "list.csv:$l: " <<<"$err"
	ok $? "batch: line $l reported with its number"
done
grep -q "list.csv:[1234]: \|list.csv:10: " <<<"$err"
[ $? -ne 0 ]
ok $? "batch: comments, blank and good lines are not reported"
has_err "5 inputs failed, 3 records written" "batch: summary line"
printf 'bob@secure.test,%s\n' "$TB_BOB_RSA_CERT" | dm record smimea --batch - >"$W/out" 2>/dev/null
same "$?:$(awk '{print $1}' "$W/out")" "0:$TB_BOB_SMIMEA_OWNER." "batch from stdin: exit 0, the record"

# --- batch folder: every *.pem/*.crt/*.der, one record per email SAN ---
mkdir -p "$W/dir"
cp "$TB_BOB_RSA_CERT" "$W/dir/a-bob.pem"
cp "$TB_ALICE_RSA_DER" "$W/dir/b-alice.der"
cp "$TB_BOB_EC_CERT" "$W/dir/c-bob-ec.crt"
cp "$W/multi.pem" "$W/dir/d-multi.PEM"
cp "$W/nosan.pem" "$W/dir/e-nosan.pem"
echo "not a certificate" >"$W/dir/f-garbage.der"
echo "ignored" >"$W/dir/notes.txt"
run dm record smimea --batch-dir "$W/dir"
[ "$got" -eq 65 ]
ok $? "batch folder with a bad file and a certificate without SAN: exit $got, want 65"
same "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "$TB_BOB_SMIMEA_OWNER. $TB_ALICE_SMIMEA_OWNER. $TB_BOB_EC_SMIMEA_OWNER. $(owner_of one _smimecert secure.test) $(owner_of Two _smimecert secure.test) " "batch folder: records in file-name order, one per SAN"
has_err "e-nosan.pem" "batch folder: the certificate without SAN is named"
has_err "f-garbage.der" "batch folder: the garbage file is named"
run dm record smimea --batch-dir "$W/dir" --case lower --format generic
same "$(grep -c ' IN TYPE53 \\# ' <<<"$out")" 5 "batch folder, generic: five RFC 3597 lines"
grep -q "$(owner_of two _smimecert secure.test)" <<<"$out"
ok $? "batch folder, --case lower: Two@ written lower-cased"

finish
