#!/usr/bin/env bash
# selftest.sh -- check the testbed against an independent oracle.
#
#   selftest.sh [--quick] [DIR]
#
# Starts a testbed (in DIR, default a fresh mktemp directory), resolves every
# published name with unbound-host (libunbound, validating from the testbed's
# trust anchor) and compares the DNSSEC state and the data with what
# testbed.env promises; checks the generated certificates and OpenPGP keys;
# then stops the testbed and checks that no process is left. Without
# --quick it also exercises the life cycle: repeated start/stop, two
# testbeds at once on different ports, refusal on a busy port and on a
# still-running NSD.
#
# Uses TB_ADDR / TB_PORT / TB_DOWN_PORT like testbed.sh; the life-cycle part
# also uses TB_PORT+10 and TB_PORT+11 for a second, concurrent testbed.
# The SMTP servers (start-smtp) are started, probed with openssl s_client and
# stopped when TB_SMTPD (default: the build tree's smtpd_test) exists, on
# TB_SMTP_PORT (default 25 when free, else one of 10125-10199).
# Exit status 0 when every check passes.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Without TB_PORT, find a free block of ports (TB_PORT..TB_PORT+11 are used).
port_in_use() { ss -Hlnu "sport = :$1" | grep -q . || ss -Hlnt "sport = :$1" | grep -q .; }
if [[ -z ${TB_PORT:-} ]]; then
	for p in $(seq 15853 20 16453); do
		free=1
		for o in 0 1 10 11; do if port_in_use $((p + o)); then free=0; fi; done
		if ((free)); then
			export TB_PORT=$p TB_DOWN_PORT=$((p + 1))
			break
		fi
	done
fi
TB=$HERE/testbed.sh
# SMTP servers: port 25 when nothing listens there, else a free high port.
if [[ -z ${TB_SMTP_PORT:-} ]]; then
	for p in 25 $(seq 10125 10199); do
		if ! port_in_use "$p"; then
			export TB_SMTP_PORT=$p
			break
		fi
	done
fi
TB_SMTPD=${TB_SMTPD:-$HERE/../../build/tests/tools/smtpd/smtpd_test}

QUICK=0
if [[ ${1:-} == --quick ]]; then
	QUICK=1
	shift
fi
OWN_DIR=0
if [[ -n ${1:-} ]]; then
	DIR=$1
else
	DIR=$(mktemp -d /tmp/tb-selftest.XXXXXX)
	OWN_DIR=1
fi
EXTRA_DIRS=()

PASS=0
FAIL=0
# TAP output, so the test harness counts every check.
ok() {
	PASS=$((PASS + 1))
	printf 'ok %d - %s\n' "$((PASS + FAIL))" "$*"
}
bad() {
	FAIL=$((FAIL + 1))
	printf 'not ok %d - %s\n' "$((PASS + FAIL))" "$*"
}
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

quiet() { "$@" >/dev/null 2>&1; }

cleanup() {
	local d
	"$TB" stop "$DIR" >/dev/null 2>&1 || true
	for d in "${EXTRA_DIRS[@]}"; do
		"$TB" stop "$d" >/dev/null 2>&1 || true
		rm -rf "$d"
	done
	if ((OWN_DIR)); then rm -rf "$DIR"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# unbound-host oracle. Output lines look like
#   NAME has SMIMEA record 3 0 0 3082... (secure)
#   NAME has no AAAA record (secure)
#   Host NAME not found: 3(NXDOMAIN). (secure)
#   Host NAME not found: 2(SERVFAIL). (error)
#   NAME has TXT record "x" (BOGUS (security failure))
# classify() reduces that to "<RESULT> <STATE>", e.g. "DATA secure",
# "NXDOMAIN secure", "SERVFAIL error", "DATA bogus". When there are several
# lines (CNAME chains), the last one counts.
# ---------------------------------------------------------------------------
OUT=
lookup() { # lookup CONF TYPE NAME -> sets OUT
	OUT=$(unbound-host -C "$1" -v -t "$2" "$3" 2>&1) || true
}
classify() {
	local last result state
	last=$(grep -v '^validation failure' <<<"$OUT" | tail -n 1)
	case $last in
	*"not found: 3(NXDOMAIN)"*) result=NXDOMAIN ;;
	*"not found: 2(SERVFAIL)"*) result=SERVFAIL ;;
	*" has no "*) result=NODATA ;;
	*" has "* | *" is an alias for "* | *" is handled by "*) result=DATA ;;
	*) result=OTHER ;;
	esac
	case $last in
	*"(secure)") state=secure ;;
	*"(insecure)") state=insecure ;;
	*"(BOGUS"*) state=bogus ;;
	*"(error)") state=error ;;
	*) state=unknown ;;
	esac
	printf '%s %s\n' "$result" "$state"
}
# expect TYPE NAME "RESULT STATE" [DATA-SUBSTRING] [CONF]
expect() {
	local type=$1 name=$2 want=$3 data=${4:-} conf=${5:-$TB_UNBOUND_CONF} got
	lookup "$conf" "$type" "$name"
	got=$(classify)
	if [[ $got != "$want" ]]; then
		bad "$type $name: want '$want', got '$got': $(head -c 300 <<<"$OUT")"
		return
	fi
	if [[ -n $data ]] && ! grep -qiF -- "$data" <<<"$OUT"; then
		bad "$type $name: $want but data differs from the expected value"
		return
	fi
	ok "$type $name -> $want${data:+ (data matches)}"
}

dns_checks() {
	echo "# == DNS (oracle: unbound-host, trust anchor $TB_TRUST_ANCHOR)"
	local s=secure.test i=insecure.test b=bogus.test

	# secure.test: everything secure.
	expect SOA $s "DATA secure"
	expect MX $s "DATA secure" "10 mail.secure.test."
	expect A $s "DATA secure" "127.0.1.1"
	expect A mail.$s "DATA secure" "127.0.1.1"
	expect AAAA mail.$s "NODATA secure"
	expect TXT $s "DATA secure" '"v=spf1 mx -all"'
	expect TXT _dmarc.$s "DATA secure" '"v=DMARC1; p=reject; rua=mailto:dmarc@secure.test"'
	expect TLSA "$TB_MAIL_TLSA_OWNER" "DATA secure" "3 1 1 $TB_MAIL_TLSA_HEX"
	expect SMIMEA "$TB_BOB_SMIMEA_OWNER" "DATA secure" "3 0 0 $TB_BOB_SMIMEA_HEX"
	expect TYPE53 "$TB_BOB_SMIMEA_OWNER" "DATA secure" "3 0 0 $TB_BOB_SMIMEA_HEX"
	expect SMIMEA "$TB_GENERIC_SMIMEA_OWNER" "DATA secure" "3 0 0 $TB_BOB_SMIMEA_HEX"
	expect SMIMEA "$TB_BOB_EC_SMIMEA_OWNER" "DATA secure" "3 0 0 $TB_BOB_EC_SMIMEA_HEX"
	expect SMIMEA "$TB_ALICE_SMIMEA_OWNER" "DATA secure" "3 0 0 $TB_ALICE_SMIMEA_HEX"
	expect SMIMEA "$TB_ALICE_MIXEDCASE_SMIMEA_OWNER" "NXDOMAIN secure"
	expect SMIMEA "$TB_MALLORY_SMIMEA_OWNER" "DATA bogus" "3 0 0 $TB_MALLORY_SMIMEA_TAMPERED_HEX"
	expect TXT tampered.$s "DATA bogus" '"tampered"'
	expect OPENPGPKEY "$TB_BOB_OPENPGPKEY_OWNER" "DATA secure" "$TB_BOB_OPENPGPKEY_B64"
	expect OPENPGPKEY "$TB_CAROL_OPENPGPKEY_OWNER" "DATA secure" "$TB_CAROL_OPENPGPKEY_B64"
	local pk po pb
	for pk in DAVE EXPIRED REVOKED SIGNONLY WRONGUID GARBAGE; do
		po=TB_${pk}_OPENPGPKEY_OWNER pb=TB_${pk}_OPENPGPKEY_B64
		expect OPENPGPKEY "${!po}" "DATA secure" "${!pb}"
	done
	expect SMIMEA "${TB_DAVE_OPENPGPKEY_OWNER%%.*}._smimecert.$s" "NXDOMAIN secure"
	expect A nonexistent.$s "NXDOMAIN secure"
	expect SMIMEA "$(printf '%056d' 0)._smimecert.$s" "NXDOMAIN secure"
	expect A chain.$s "DATA secure" "127.0.1.1"
	expect A to-insecure.$s "DATA insecure" "127.0.2.1"

	# SMTP servers for `verify tlsa` (owners carry TB_SMTP_PORT).
	local t=_$TB_SMTP_PORT._tcp
	expect A dane-ee.$s "DATA secure" "127.0.1.2"
	expect TLSA "$t.dane-ee.$s" "DATA secure" "3 1 1 $TB_SMTP_DANE_EE_SPKI"
	expect TLSA "$t.dane-ee.$s" "DATA secure" "3 1 1 $TB_MAIL_TLSA_HEX"
	expect TLSA "$t.dane-ta.$s" "DATA secure" "2 0 1 $TB_SMTP_CA_SHA256"
	expect TLSA "$t.mismatch.$s" "DATA secure" "3 1 1 $TB_SMTP_NEXT_KEY_SPKI"
	expect TLSA "$t.unusable.$s" "DATA secure" "1 1 1 $TB_SMTP_UNUSABLE_SPKI"
	expect TLSA "$t.unusable.$s" "DATA secure" "0 0 1 $TB_SMTP_CA_SHA256"
	expect TLSA "$t.expired.$s" "DATA secure" "3 1 1 $TB_SMTP_EXPIRED_SPKI"
	expect TLSA "$t.oldtls.$s" "DATA secure" "3 1 1 $TB_SMTP_OLDTLS_SPKI"
	expect TLSA "$t.ee-name.$s" "DATA secure" "3 0 1 $TB_SMTP_EE_NAME_SHA256"
	expect A ta-expired.$s "DATA secure" "127.0.1.10"
	expect A down.$s "DATA secure" "127.0.1.30"
	expect A cname-ta.$s "DATA secure" "127.0.1.3"
	expect A cname-orig.$s "DATA secure" "127.0.1.14"
	expect TLSA "$t.plain.$s" "NXDOMAIN secure"
	expect TLSA "$t.cname-orig.$s" "DATA secure" "2 0 1 $TB_SMTP_CA_SHA256"
	expect CNAME alias-insecure.$s "DATA secure" "dane.insecure.test."
	expect A alias-insecure.$s "DATA insecure" "127.0.2.2"
	expect MX dane-mx.$s "DATA secure" "20 dane-ta.secure.test."
	expect MX mixed-mx.$s "DATA secure" "20 mismatch.secure.test."

	# The generic-form record is the same rdata as bob's.
	local a g
	lookup "$TB_UNBOUND_CONF" SMIMEA "$TB_BOB_SMIMEA_OWNER"
	a=$(sed 's/.* record //; s/ (secure)$//' <<<"$OUT")
	lookup "$TB_UNBOUND_CONF" SMIMEA "$TB_GENERIC_SMIMEA_OWNER"
	g=$(sed 's/.* record //; s/ (secure)$//' <<<"$OUT")
	check "generic TYPE53 record decodes to bob's SMIMEA rdata" [ "$a" = "$g" ]

	# Carol's key does not fit a 1232-octet UDP answer: resolvers must use TCP.
	check "carol's OPENPGPKEY answer is truncated over UDP (exercises TCP)" \
		bash -c "dig @$TB_ADDR -p $TB_PORT +dnssec +bufsize=1232 +notcp +ignore \
			OPENPGPKEY $TB_CAROL_OPENPGPKEY_OWNER | grep -q 'flags:.* tc'"

	# Parent zone: DS present for secure/bogus, provably absent for insecure.
	expect DS $s "DATA secure"
	expect DS $b "DATA secure"
	expect DS $i "NODATA secure"

	# insecure.test: everything insecure.
	expect MX $i "DATA insecure" "10 mail.insecure.test."
	expect A mail.$i "DATA insecure" "127.0.2.1"
	expect TLSA _25._tcp.mail.$i "DATA insecure" "3 1 1 $TB_MAIL_TLSA_HEX"
	expect SMIMEA "$TB_INSECURE_BOB_SMIMEA_OWNER" "DATA insecure" "3 0 0 $TB_BOB_SMIMEA_HEX"
	expect OPENPGPKEY "$TB_INSECURE_BOB_OPENPGPKEY_OWNER" "DATA insecure" "$TB_BOB_OPENPGPKEY_B64"
	expect A nonexistent.$i "NXDOMAIN insecure"
	expect A dane.$i "DATA insecure" "127.0.2.2"
	expect TLSA "_$TB_SMTP_PORT._tcp.dane.$i" "DATA insecure" "3 1 1 $TB_SMTP_ELSEWHERE_SPKI"

	# bogus.test: everything bogus (expired signatures).
	expect MX $b "DATA bogus" "10 mail.bogus.test."
	expect A mail.$b "DATA bogus" "127.0.3.1"
	expect TLSA _25._tcp.mail.$b "DATA bogus" "3 1 1 $TB_MAIL_TLSA_HEX"
	expect SMIMEA "$TB_BOGUS_BOB_SMIMEA_OWNER" "DATA bogus" "3 0 0 $TB_BOB_SMIMEA_HEX"
	expect OPENPGPKEY "$TB_BOGUS_BOB_OPENPGPKEY_OWNER" "DATA bogus" "$TB_BOB_OPENPGPKEY_B64"
	expect TLSA "_$TB_SMTP_PORT._tcp.dane.$b" "DATA bogus" "3 1 1 $TB_SMTP_ELSEWHERE_SPKI"

	# Names outside test. are refused by NSD: SERVFAIL, never the real root.
	expect A example.com "SERVFAIL error"

	# "DNS server down": SERVFAIL, in bounded time.
	local t0 t1 ms
	t0=${EPOCHREALTIME/[.,]/}
	expect A mail.$s "SERVFAIL error" "" "$TB_UNBOUND_DOWN_CONF"
	t1=${EPOCHREALTIME/[.,]/}
	ms=$(((10#$t1 - 10#$t0) / 1000))
	check "lookup with unbound-down.conf failed within 5 s (took ${ms} ms)" \
		[ "$ms" -lt 5000 ]
	expect SMIMEA "$TB_BOB_SMIMEA_OWNER" "SERVFAIL error" "" "$TB_UNBOUND_DOWN_CONF"
}

# ---------------------------------------------------------------------------
# Certificates and OpenPGP keys.
# ---------------------------------------------------------------------------
cert_has() { # cert_has PEM TEXT...: every TEXT appears in `openssl x509 -text`
	local pem=$1 txt t
	shift
	txt=$(openssl x509 -in "$pem" -noout -text)
	for t in "$@"; do grep -qF -- "$t" <<<"$txt" || return 1; done
}
der_hex_is() { # the DER file's hex equals the given value
	[ "$(od -An -v -tx1 "$1" | tr -d ' \n')" = "$2" ]
}
key_matches() { # the private key belongs to the certificate
	[ "$(openssl x509 -in "$1" -noout -pubkey)" = \
		"$(openssl pkey -in "$2" -pubout)" ]
}

# shellcheck disable=SC2016 # single-quoted awk programs for show_keys
file_checks() {
	echo "# == certificates and keys"
	check "bob-rsa: RSA 2048, email SAN, keyEncipherment, emailProtection" \
		cert_has "$TB_BOB_RSA_CERT" "Public-Key: (2048 bit)" \
		"email:bob@secure.test" "Key Encipherment" "E-mail Protection" "CA:FALSE"
	check "bob-ec: P-256, email SAN bob-ec@, keyAgreement, emailProtection" \
		cert_has "$TB_BOB_EC_CERT" "prime256v1" "email:bob-ec@secure.test" \
		"Key Agreement" "E-mail Protection"
	check "alice-rsa: email SAN alice@secure.test" \
		cert_has "$TB_ALICE_RSA_CERT" "email:alice@secure.test"
	check "mallory-rsa: email SAN mallory@secure.test" \
		cert_has "$TB_MALLORY_RSA_CERT" "email:mallory@secure.test"
	check "mail.secure.test: DNS SAN, serverAuth" \
		cert_has "$TB_MAIL_SECURE_CERT" "DNS:mail.secure.test" "TLS Web Server Authentication"
	local v
	for v in BOB_RSA BOB_EC ALICE_RSA MALLORY_RSA MAIL_SECURE; do
		local c=TB_${v}_CERT k=TB_${v}_KEY
		check "$v: private key matches certificate" key_matches "${!c}" "${!k}"
		check "$v: certificate valid now and for 360 more days" \
			quiet openssl x509 -in "${!c}" -noout -checkend $((360 * 86400))
	done
	check "TB_BOB_SMIMEA_HEX is bob-rsa.der" der_hex_is "$TB_BOB_RSA_DER" "$TB_BOB_SMIMEA_HEX"
	check "TB_BOB_EC_SMIMEA_HEX is bob-ec.der" der_hex_is "$TB_BOB_EC_DER" "$TB_BOB_EC_SMIMEA_HEX"
	check "TB_ALICE_SMIMEA_HEX is alice-rsa.der" der_hex_is "$TB_ALICE_RSA_DER" "$TB_ALICE_SMIMEA_HEX"
	check "TLSA 3 1 1 hex is SHA-256 of mail cert SPKI (coreutils sha256sum)" \
		bash -c "openssl x509 -in '$TB_MAIL_SECURE_CERT' -noout -pubkey |
			openssl pkey -pubin -outform DER | sha256sum |
			grep -q '^$TB_MAIL_TLSA_HEX '"
	echo "# == SMTP server certificates"
	local sc=$TB_SMTP_CERTS
	spki_hex() { openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -c1-64; }
	check "testbed CA: CA:TRUE, keyCertSign" cert_has "$TB_SMTP_CA_CERT" "CA:TRUE" "Certificate Sign"
	check "TB_SMTP_CA_SHA256 is the CA's DER (sha256sum)" bash -c \
		"openssl x509 -in '$TB_SMTP_CA_CERT' -outform DER | sha256sum | grep -q '^$TB_SMTP_CA_SHA256 '"
	check "TB_SMTP_DANE_EE_SPKI is dane-ee's key (sha256sum)" \
		[ "$(spki_hex "$sc/dane-ee.key")" = "$TB_SMTP_DANE_EE_SPKI" ]
	check "TB_SMTP_NEXT_KEY_SPKI is next.key, which no server uses" \
		[ "$(spki_hex "$sc/next.key")" = "$TB_SMTP_NEXT_KEY_SPKI" ]
	local v
	for v in dane-ta badname cname-orig; do
		check "$v: issued by the testbed CA, valid now" \
			quiet openssl verify -CAfile "$TB_SMTP_CA_CERT" "$sc/$v.pem"
	done
	check "dane-ta: SAN dane-ta.secure.test" cert_has "$sc/dane-ta.pem" "DNS:dane-ta.secure.test"
	check "badname: SAN www.example.net only" bash -c \
		"openssl x509 -in '$sc/badname.pem' -noout -ext subjectAltName | grep -q 'DNS:www.example.net$'"
	for v in expired ta-expired; do
		check "$v: expired in 2020" bash -c \
			"! openssl x509 -in '$sc/$v.pem' -noout -checkend 0 >/dev/null &&
			 openssl x509 -in '$sc/$v.pem' -noout -enddate | grep -q 'Feb  1 00:00:00 2020'"
	done
	check "ee-name: self-signed for unrelated.example" cert_has "$sc/ee-name.pem" \
		"DNS:unrelated.example" "Issuer: CN = unrelated.example"
	check "dane-ta.chain.pem: leaf, then the CA" bash -c \
		"[ \$(grep -c 'BEGIN CERTIFICATE' '$sc/dane-ta.chain.pem') = 2 ]"

	check "bob's SMIMEA owner label is the RFC 8162 hash of 'bob'" \
		[ "${TB_BOB_SMIMEA_OWNER%%.*}" = 81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd ]

	echo "# == OpenPGP"
	local gpgq=(gpg --homedir "$TB_GNUPGHOME" --batch --no-tty --with-colons)
	check "bob.pub: ed25519 primary + cv25519 encryption subkey, uid bob@secure.test" \
		bash -c "gpg --batch --with-colons --show-keys '$TB_BOB_PGP_PUB' 2>/dev/null |
			awk -F: '\$1==\"pub\" && \$17==\"ed25519\" {p=1}
				\$1==\"sub\" && \$17==\"cv25519\" && \$12 ~ /e/ {s=1}
				\$1==\"uid\" && \$10 ~ /<bob@secure.test>/ {u=1}
				END {exit !(p && s && u)}'"
	check "carol.pub: RSA-3072 primary + RSA-3072 encryption subkey" \
		bash -c "gpg --batch --with-colons --show-keys '$TB_CAROL_PGP_PUB' 2>/dev/null |
			awk -F: '\$1==\"pub\" && \$3==3072 {p=1}
				\$1==\"sub\" && \$3==3072 && \$12 ~ /e/ {s=1}
				END {exit !(p && s)}'"
	check "OPENPGPKEY base64 is bob.pub" [ "$(base64 -w0 "$TB_BOB_PGP_PUB")" = "$TB_BOB_OPENPGPKEY_B64" ]
	check "bob.pub is a minimal export (one uid, one self-signature per key)" \
		bash -c "gpg --batch --list-packets '$TB_BOB_PGP_PUB' 2>/dev/null |
			grep -c '^:signature packet' | grep -qx 2"
	check "bob.sec.asc holds a secret key" grep -q 'BEGIN PGP PRIVATE KEY BLOCK' "$TB_BOB_PGP_SEC"
	check "carol.sec.asc holds a secret key" grep -q 'BEGIN PGP PRIVATE KEY BLOCK' "$TB_CAROL_PGP_SEC"
	# show_keys FILE AWK-PROGRAM: gpg --show-keys --with-colons of the file
	# satisfies it (the programs below are single-quoted awk on purpose)
	show_keys() {
		gpg --batch --with-colons --show-keys "$1" 2>/dev/null | awk -F: "$2"
	}
	check "dave.pub: ed25519 primary + cv25519 encryption subkey, uid dave@secure.test" \
		show_keys "$TB_DAVE_PGP_PUB" '$1=="pub" && $17=="ed25519" {p=1}
			$1=="sub" && $17=="cv25519" && $12 ~ /e/ {s=1}
			$1=="uid" && $10 ~ /<dave@secure.test>/ {u=1} END {exit !(p && s && u)}'
	check "expired.pub: created 2020-01-01, expired 2020-01-02 (validity e), with its subkey" \
		show_keys "$TB_EXPIRED_PGP_PUB" '$1=="pub" && $2=="e" && $6==1577836800 && $7==1577923200 {p=1}
			$1=="sub" && $12 ~ /e/ {s=1} END {exit !(p && s)}'
	check "revoked.pub: revoked (validity r), carries the key revocation signature (0x20)" \
		bash -c "gpg --batch --with-colons --show-keys '$TB_REVOKED_PGP_PUB' 2>/dev/null |
			grep -q '^pub:r:' && gpg --batch --list-packets '$TB_REVOKED_PGP_PUB' 2>/dev/null |
			grep -q 'sigclass 0x20'"
	check "signonly.pub: ed25519 primary, no subkey, nothing may encrypt" \
		show_keys "$TB_SIGNONLY_PGP_PUB" '$1=="pub" && $17=="ed25519" && $12 !~ /[eE]/ {p=1}
			$1=="sub" {s=1} END {exit !(p && !s)}'
	check "wronguid.pub: valid, encryption subkey, one user ID: <someone@else.test>" \
		show_keys "$TB_WRONGUID_PGP_PUB" '$1=="pub" && $2!~/[er]/ {p=1}
			$1=="sub" && $12 ~ /e/ {s=1} $1=="uid" {n++; if ($10=="<someone@else.test>") u=1}
			END {exit !(p && s && u && n==1)}'
	check "garbage record: not an OpenPGP key (gpg finds none)" bash -c \
		"! gpg --batch --with-colons --show-keys '$TB_GARBAGE_PGP_BIN' 2>/dev/null | grep -q '^pub'"
	local k b pub
	for k in DAVE EXPIRED REVOKED SIGNONLY WRONGUID GARBAGE; do
		b=TB_${k}_OPENPGPKEY_B64 pub=TB_${k}_PGP_PUB
		[[ $k == GARBAGE ]] && pub=TB_GARBAGE_PGP_BIN
		check "OPENPGPKEY base64 of ${k,,} is ${!pub##*/}" [ "$(base64 -w0 "${!pub}")" = "${!b}" ]
		b=TB_${k}_OPENPGPKEY_OWNER
		check "${k,,}'s OPENPGPKEY owner is SHA2-256('${k,,}') (sha256sum), first 28 octets" \
			[ "${!b}" = "$(printf '%s' "${k,,}" | sha256sum | cut -c1-56)._openpgpkey.secure.test" ]
	done
	check "dave.pub, wronguid.pub are minimal (one self-signature per key)" bash -c \
		"for f in '$TB_DAVE_PGP_PUB' '$TB_WRONGUID_PGP_PUB'; do
			gpg --batch --list-packets \"\$f\" 2>/dev/null | grep -c '^:signature packet' | grep -qx 2 || exit 1
		 done"
	check "dave.sec.asc, wronguid.sec.asc hold secret keys" bash -c \
		"grep -q 'BEGIN PGP PRIVATE KEY BLOCK' '$TB_DAVE_PGP_SEC' &&
		 grep -q 'BEGIN PGP PRIVATE KEY BLOCK' '$TB_WRONGUID_PGP_SEC'"
	check "GNUPGHOME has all seven secret keys, mode 700" bash -c \
		"[ \$(stat -c %a '$TB_GNUPGHOME') = 700 ] &&
		 [ \$(${gpgq[*]} --list-secret-keys 2>/dev/null | grep -c '^sec') = 7 ]"
	check "round trip: gpg encrypts to dave and decrypts with his key" bash -c \
		"echo hello | ${gpgq[*]} --trust-model always -q -e -r dave@secure.test |
		 ${gpgq[*]} -q -d 2>/dev/null | grep -qx hello"
	check "round trip: gpg encrypts to carol (RSA) and decrypts with her key" bash -c \
		"echo hello | ${gpgq[*]} --trust-model always -q -e -r carol@secure.test |
		 ${gpgq[*]} -q -d 2>/dev/null | grep -qx hello"
	check "round trip: gpg encrypts to bob and decrypts with his key" bash -c \
		"echo hello | ${gpgq[*]} --trust-model always -q -e -r bob@secure.test |
		 ${gpgq[*]} -q -d 2>/dev/null | grep -qx hello"
	check "round trip: openssl cms to bob-ec (ECDH) and back" bash -c \
		"echo hello | openssl cms -encrypt -binary -aes-256-cbc '$TB_BOB_EC_CERT' |
		 openssl cms -decrypt -recip '$TB_BOB_EC_CERT' -inkey '$TB_BOB_EC_KEY' |
		 grep -qx hello"
	check "round trip: openssl cms to bob-rsa and back" bash -c \
		"echo hello | openssl cms -encrypt -binary -aes-256-cbc '$TB_BOB_RSA_CERT' |
		 openssl cms -decrypt -recip '$TB_BOB_RSA_CERT' -inkey '$TB_BOB_RSA_KEY' |
		 grep -qx hello"
	gpgconf --homedir "$TB_GNUPGHOME" --kill all
}

no_process_left() { # no_process_left DIR PID: nothing of that testbed runs
	local st
	st=$(ps -o stat= -p "$2" 2>/dev/null) || true
	[[ -z $st || $st == Z* ]] || return 1
	! pgrep -f -- "-c $1/nsd.conf" >/dev/null &&
		! pgrep -f -- "gpg-agent --homedir $1/" >/dev/null &&
		! pgrep -f -- "smtpd_test.*$1/smtp/" >/dev/null
}

# start-smtp: every server up, probed with openssl s_client; refusals; stop.
smtp_checks() {
	echo "# == SMTP servers (start-smtp, port $TB_SMTP_PORT)"
	if [[ ! -x $TB_SMTPD ]]; then
		PASS=$((PASS + 1))
		printf 'ok %d # SKIP no smtpd_test at %s (build it first)\n' "$((PASS + FAIL))" "$TB_SMTPD"
		return
	fi
	if ! TB_SMTPD=$TB_SMTPD "$TB" start-smtp "$DIR" >"$DIR/start-smtp.out" 2>&1; then
		if grep -q "already in use" "$DIR/start-smtp.out"; then
			PASS=$((PASS + 1))
			printf 'ok %d # SKIP port %s taken meanwhile: %s\n' "$((PASS + FAIL))" \
				"$TB_SMTP_PORT" "$(head -n 1 "$DIR/start-smtp.out")"
			return
		fi
		bad "start-smtp: $(tr '\n' ' ' <"$DIR/start-smtp.out" | head -c 300)"
		return
	fi
	ok "start-smtp: $(cat "$DIR/start-smtp.out")"
	check "start-smtp on running servers is refused" \
		bash -c "! TB_SMTPD='$TB_SMTPD' '$TB' start-smtp '$DIR' 2>/dev/null"
	check "status reports the SMTP servers" bash -c "'$TB' status '$DIR' | grep -q 'SMTP servers'"
	check "start on a DIR whose SMTP servers run is refused" bash -c \
		"! '$TB' start '$DIR' 2>/dev/null"
	local p=$TB_SMTP_PORT
	sclient() { # sclient ADDR NAME [options]: s_client -starttls smtp, DANE 3 1 1
		timeout 10 openssl s_client -starttls smtp -connect "$1:$p" -servername "$2" \
			-dane_tlsa_domain "$2" -dane_tlsa_rrdata "3 1 1 $3" -verify_return_error \
			-brief "${@:4}" </dev/null >/dev/null 2>&1
	}
	check "dane-ee: DANE-EE verified by openssl s_client" \
		sclient 127.0.1.2 dane-ee.secure.test "$TB_SMTP_DANE_EE_SPKI"
	fails() { ! "$@"; }
	check "dane-ee: the RSA certificate too (mail.secure.test's key and name)" \
		sclient 127.0.1.2 dane-ee.secure.test "$TB_MAIL_TLSA_HEX" -sigalgs rsa_pss_rsae_sha256 \
		-dane_ee_no_namechecks
	check "mismatch: the published key is not the server's" \
		fails sclient 127.0.1.4 mismatch.secure.test "$TB_SMTP_NEXT_KEY_SPKI"
	check "dane.insecure.test serves the key its TLSA names" \
		sclient 127.0.2.2 dane.insecure.test "$TB_SMTP_ELSEWHERE_SPKI"
	check "oldtls: TLS 1.0 at security level 0" \
		sclient 127.0.1.8 oldtls.secure.test "$TB_SMTP_OLDTLS_SPKI" -cipher DEFAULT:@SECLEVEL=0
	check "oldtls: refused at the default security level" \
		fails sclient 127.0.1.8 oldtls.secure.test "$TB_SMTP_OLDTLS_SPKI"
	dialogue() { # dialogue ADDR: the greeting, then the reply to EHLO (plain TCP)
		local line
		exec 3<>"/dev/tcp/$1/$p" || return 1
		IFS= read -r -t 3 line <&3 && printf '%s\n' "$line"
		if [[ $line == 220\ * ]]; then
			printf 'EHLO selftest\r\n' >&3
			while IFS= read -r -t 3 line <&3; do
				printf '%s\n' "$line"
				[[ $line == 250\ * ]] && break
			done
			printf 'QUIT\r\n' >&3
		fi
		exec 3<&-
	}
	check "greet421 answers 421" bash -c "$(declare -f dialogue); p=$p; dialogue 127.0.1.13 | grep -q '^421 '"
	check "nostarttls answers EHLO without STARTTLS" bash -c \
		"$(declare -f dialogue); p=$p; out=\$(dialogue 127.0.1.7); grep -q '^250 ' <<<\"\$out\" && ! grep -q STARTTLS <<<\"\$out\""
	check "dane-ee offers STARTTLS (the same check can see it)" bash -c \
		"$(declare -f dialogue); p=$p; dialogue 127.0.1.2 | grep -q '^250-STARTTLS'"
	check "nothing listens on down.secure.test" bash -c "! (exec 3<>/dev/tcp/127.0.1.30/$p) 2>/dev/null"
}

lifecycle_checks() {
	echo "# == life cycle"
	local pid i t0 t1
	for i in 1 2 3; do
		t0=${EPOCHREALTIME/[.,]/}
		if "$TB" start "$DIR" >/dev/null; then
			t1=${EPOCHREALTIME/[.,]/}
			pid=$(sed -n "s/^export TB_NSD_PID='\(.*\)'/\1/p" "$DIR/testbed.env")
			lookup "$DIR/unbound.conf" SMIMEA "$TB_BOB_SMIMEA_OWNER"
			check "run $i: start took $(((10#$t1 - 10#$t0) / 1000)) ms, bob SMIMEA secure" \
				[ "$(classify)" = "DATA secure" ]
			check "run $i: second start on a running DIR is refused" \
				bash -c "! '$TB' start '$DIR' 2>/dev/null"
			check "run $i: status says running" quiet "$TB" status "$DIR"
			"$TB" stop "$DIR"
			check "run $i: stop leaves no process" no_process_left "$DIR" "$pid"
			check "run $i: status says stopped" bash -c "! '$TB' status '$DIR' >/dev/null"
			check "run $i: second stop succeeds (idempotent)" "$TB" stop "$DIR"
		else
			bad "run $i: start failed"
		fi
	done

	# Two testbeds at once, on different ports.
	local d2 p2=$((TB_PORT + 10)) q2=$((TB_PORT + 11)) pid2
	d2=$(mktemp -d /tmp/tb-selftest2.XXXXXX)
	EXTRA_DIRS+=("$d2")
	"$TB" start "$DIR" >/dev/null &
	local j1=$!
	TB_PORT=$p2 TB_DOWN_PORT=$q2 "$TB" start "$d2" >/dev/null &
	local j2=$!
	if wait "$j1" && wait "$j2"; then
		ok "two concurrent starts on ports $TB_PORT and $p2"
		lookup "$DIR/unbound.conf" A mail.secure.test
		check "testbed 1 answers secure" [ "$(classify)" = "DATA secure" ]
		lookup "$d2/unbound.conf" A mail.secure.test
		check "testbed 2 answers secure" [ "$(classify)" = "DATA secure" ]
		check "testbeds have different trust anchors" \
			bash -c "! cmp -s '$DIR/trust-anchor.ds' '$d2/trust-anchor.ds'"
		# Testbed 2's anchor does not validate testbed 1's data: they are
		# really separate.
		sed "s|$DIR/trust-anchor.ds|$d2/trust-anchor.ds|" "$DIR/unbound.conf" >"$d2/cross.conf"
		lookup "$d2/cross.conf" A mail.secure.test
		check "testbed 1 data is BOGUS under testbed 2's anchor" \
			[ "$(classify)" = "DATA bogus" ]

		# Busy ports: the NSD port (UDP and TCP) and the "down" port.
		local d3
		d3=$(mktemp -d /tmp/tb-selftest3.XXXXXX)
		EXTRA_DIRS+=("$d3")
		check "start refused: TB_PORT busy" bash -c \
			"! TB_PORT=$TB_PORT TB_DOWN_PORT=$((TB_PORT + 20)) '$TB' start '$d3' 2>'$d3.err' &&
			 grep -q 'already in use' '$d3.err'"
		check "start refused: TB_DOWN_PORT busy" bash -c \
			"! TB_PORT=$((TB_PORT + 20)) TB_DOWN_PORT=$p2 '$TB' start '$d3' 2>'$d3.err' &&
			 grep -q 'already in use' '$d3.err'"
		check "refused starts left nothing running" no_process_left "$d3" 0
		rm -f "$d3.err"
	else
		bad "two concurrent starts"
	fi
	pid=$(sed -n "s/^export TB_NSD_PID='\(.*\)'/\1/p" "$DIR/testbed.env")
	pid2=$(sed -n "s/^export TB_NSD_PID='\(.*\)'/\1/p" "$d2/testbed.env" 2>/dev/null) || true
	"$TB" stop "$DIR" &
	local s1=$!
	"$TB" stop "$d2" &
	local s2=$!
	if wait "$s1" && wait "$s2"; then
		ok "two concurrent stops"
	else
		bad "two concurrent stops"
	fi
	check "after stops: no process of testbed 1" no_process_left "$DIR" "$pid"
	check "after stops: no process of testbed 2" no_process_left "$d2" "${pid2:-0}"
}

main() {
	"$TB" start "$DIR" | sed "s/^/# /"
	# shellcheck source=/dev/null
	. "$DIR/testbed.env"
	dns_checks
	file_checks
	smtp_checks
	"$TB" stop "$DIR"
	check "stop leaves no process (NSD, gpg-agent, SMTP servers)" \
		no_process_left "$DIR" "$TB_NSD_PID"
	if ((!QUICK)); then lifecycle_checks; fi
	printf '1..%d\n# %d passed, %d failed\n' "$((PASS + FAIL))" "$PASS" "$FAIL"
	((FAIL == 0))
}

main
