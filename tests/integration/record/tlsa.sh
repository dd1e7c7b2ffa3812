#!/usr/bin/env bash
# tlsa.sh - `danemail record tlsa`: from a certificate, a private or public
# key (PEM, DER), for --host and for every MX host (DNSSEC states of the MX
# lookup), --next-key rollover records, parameters, and refusals.  Prints TAP.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

spki_sha() { # spki_sha DGST KEYFILE: digest of a key's DER SubjectPublicKeyInfo (openssl)
	openssl pkey -in "$2" -pubout -outform DER 2>/dev/null | openssl dgst "-$1" -r | cut -d ' ' -f 1
}
want_line="$TB_MAIL_TLSA_OWNER. 3600 IN TLSA 3 1 1 $TB_MAIL_TLSA_HEX"

# --- sources: certificate, keys in every form ---
expect 0 "--cert" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test
same "$out" "$want_line" "--cert: the record the testbed serves (default 3 1 1, port 25)"
expect 0 "--cert DER" dm record tlsa --cert "$TB_MAIL_SECURE_DER" --host mail.secure.test
same "$out" "$want_line" "--cert DER: the same record"
expect 0 "--key private PEM" dm record tlsa --key "$TB_MAIL_SECURE_KEY" --host mail.secure.test
same "$out" "$want_line" "--key private key: the same record (its SPKI)"
openssl pkey -in "$TB_MAIL_SECURE_KEY" -pubout -out "$W/mail.pub.pem"
openssl pkey -in "$TB_MAIL_SECURE_KEY" -pubout -outform DER -out "$W/mail.pub.der"
openssl pkey -in "$TB_MAIL_SECURE_KEY" -outform DER -out "$W/mail.key.der"
for f in mail.pub.pem mail.pub.der mail.key.der; do
	expect 0 "--key $f" dm record tlsa --key "$W/$f" --host mail.secure.test
	same "$out" "$want_line" "--key $f: the same record"
done
expect 0 "--key a certificate" dm record tlsa --key "$TB_MAIL_SECURE_CERT" --host mail.secure.test
same "$out" "$want_line" "--key with a certificate: its SPKI"

# --- owner, port, parameters ---
expect 0 "host:port" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test:465
same "$(field 1)" "_465._tcp.mail.secure.test." "HOST:PORT names the owner"
expect 0 "--port" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test. --port 587
same "$(field 1)" "_587._tcp.mail.secure.test." "--port names the owner (final dot accepted)"
bad 64 64 "port twice, different" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test:465 --port 587
expect 0 "3 0 0" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --selector 0 --match 0
same "$(field 5) $(field 6) $(field 7) $(field 8)" "3 0 0 $(od -An -v -tx1 "$TB_MAIL_SECURE_DER" | tr -d ' \n')" "3 0 0: the certificate"
expect 0 "2 0 1" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --usage 2 --selector 0 --match 1
same "$(field 5) $(field 6) $(field 7) $(field 8)" "2 0 1 $(openssl dgst -sha256 -r "$TB_MAIL_SECURE_DER" | cut -c 1-64)" "2 0 1: SHA2-256 of the certificate"
expect 0 "3 1 2 from a key" dm record tlsa --key "$TB_MAIL_SECURE_KEY" --host mail.secure.test --match 2
same "$(field 8)" "$(spki_sha sha512 "$TB_MAIL_SECURE_KEY")" "3 1 2: SHA2-512 of the SPKI"
expect 0 "PKIX-EE on port 25" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --usage 1
has_err "unusable for SMTP" "usage 1 on port 25: warned (RFC 7672)"
expect 0 "generic" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --format generic
same "$out" "$TB_MAIL_TLSA_OWNER. 3600 IN TYPE52 \\# 35 030101$TB_MAIL_TLSA_HEX" "generic: TYPE52 \\# 35"
expect 0 "--origin" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --origin secure.test
same "$(field 1)" "_25._tcp.mail" "--origin: relative owner"

# --- rollover: current and next ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/next.key" 2>/dev/null
expect 0 "--next-key" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --next-key "$W/next.key"
same "$(awk '{print $1, $8}' <<<"$out" | tr '\n' ' ')" "$TB_MAIL_TLSA_OWNER. $TB_MAIL_TLSA_HEX $TB_MAIL_TLSA_OWNER. $(spki_sha sha256 "$W/next.key") " \
	"--next-key: current then next, same owner"
expect 0 "--next-key json" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --next-key "$W/next.key" --format json
same "$(python3 -c 'import json,sys; print(" ".join(r["key"] for r in json.load(sys.stdin)))' <<<"$out")" "current next" "json: the roles are named"
expect 0 "--next-key = current" dm record tlsa --key "$TB_MAIL_SECURE_KEY" --host mail.secure.test --next-key "$TB_MAIL_SECURE_CERT"
has_err "next key is the current key" "same key twice: warned"
same "$(wc -l <<<"$out")" 1 "same key twice: one record"

# --- MX hosts, with the DNSSEC state of the MX RRset ---
mx() { dm record tlsa --config "$TB_UNBOUND_CONF" "$@"; }
expect 0 "--mx secure.test" mx --mx secure.test --cert "$TB_MAIL_SECURE_CERT"
same "$out" "$want_line" "--mx: the record of the MX host"
[ -z "$err" ]
ok $? "--mx, secure MX RRset: no warning"
expect 0 "--mx with --next-key" mx --mx secure.test --key "$TB_MAIL_SECURE_KEY" --next-key "$W/next.key"
same "$(wc -l <<<"$out")" 2 "--mx --next-key: two records"
expect 0 "--mx insecure.test" mx --mx insecure.test --cert "$TB_MAIL_SECURE_CERT"
same "$(field 1)" "_25._tcp.mail.insecure.test." "--mx insecure: the record is written"
has_err "insecure" "--mx insecure: warned"
bad 3 3 "--mx bogus.test" mx --mx bogus.test --cert "$TB_MAIL_SECURE_CERT"
has_err "bogus" "--mx bogus: the message says so"
bad 1 1 "--mx of a name without MX (secure NXDOMAIN)" mx --mx nonexistent.secure.test --cert "$TB_MAIL_SECURE_CERT"
bad 4 4 "--mx, DNS server down" dm record tlsa --config "$TB_UNBOUND_DOWN_CONF" --mx secure.test --cert "$TB_MAIL_SECURE_CERT"

# --- fetching a chain: nothing listens on port 1, whether fetching works yet or not ---
bad 69 69 "--host without --cert: server unreachable" dm record tlsa --host 127.0.0.1:1
has_err "cannot fetch" "unreachable server: the message says so"

# --- refused ---
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:sesame -out "$W/enc.key" 2>/dev/null
grep -q "ENCRYPTED PRIVATE KEY" "$W/enc.key"
ok $? "oracle: openssl wrote an encrypted private key"
bad 65 65 "encrypted private key (no prompt)" timeout 10 "$DANEMAIL" record tlsa --key "$W/enc.key" --host mail.secure.test </dev/null
has_err "encrypted" "encrypted key: the message says so"
openssl pkey -in "$TB_MAIL_SECURE_KEY" -traditional -aes256 -passout pass:x -out "$W/enc-trad.key" 2>/dev/null
bad 65 65 "encrypted traditional (Proc-Type) key" timeout 10 "$DANEMAIL" record tlsa --key "$W/enc-trad.key" --host mail.secure.test </dev/null
bad 64 64 "--key with selector 0" dm record tlsa --key "$TB_MAIL_SECURE_KEY" --host mail.secure.test --selector 0
bad 65 65 "--next-key bare key with selector 0" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --selector 0 --next-key "$W/next.key"
bad 65 65 "--cert with a private key" dm record tlsa --cert "$TB_MAIL_SECURE_KEY" --host mail.secure.test
echo "-----BEGIN PUBLIC KEY-----" >"$W/garbage.pem"
bad 65 65 "--key garbage PEM" dm record tlsa --key "$W/garbage.pem" --host mail.secure.test
head -c 300 /dev/urandom >"$W/garbage.der"
bad 65 65 "--key random bytes" dm record tlsa --key "$W/garbage.der" --host mail.secure.test
bad 66 66 "--key missing file" dm record tlsa --key "$W/missing.key" --host mail.secure.test
bad 64 64 "no --host or --mx" dm record tlsa --cert "$TB_MAIL_SECURE_CERT"
bad 64 64 "--cert and --key" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --key "$TB_MAIL_SECURE_KEY" --host mail.secure.test
bad 65 65 "bad host name" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host 'mail secure.test'
bad 64 64 "port 0" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test:0
bad 64 64 "--usage 4" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --usage 4
bad 64 64 "--case for tlsa" dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --case lower

finish
