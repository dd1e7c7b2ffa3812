#!/usr/bin/env bash
# testbed.sh -- a throw-away, loopback-only DNSSEC testbed for danemail tests.
#
#   testbed.sh start  DIR   generate keys/certs, build + sign zones, start NSD
#   testbed.sh start-smtp DIR  (optional, after start) start the SMTP servers
#                           for `verify tlsa` on their 127.0.x.y addresses
#   testbed.sh stop   DIR   stop everything started for DIR (idempotent)
#   testbed.sh status DIR   exit 0 if the testbed in DIR is up, 3 if not
#
# Environment (all optional):
#   TB_ADDR       loopback IPv4 address NSD listens on      (default 127.0.0.1)
#   TB_PORT       port NSD listens on (UDP and TCP)          (default 15353)
#   TB_DOWN_PORT  port where nothing listens, for the
#                 "DNS server down" resolver config          (default 15354)
#   TB_SMTP_PORT  port of the SMTP servers (start-smtp), also the port in
#                 their TLSA owner names _<port>._tcp         (default 25)
#   TB_SMTPD      the smtpd_test binary start-smtp runs
#                 (default build/tests/tools/smtpd/smtpd_test in the repository)
#   TB_VERBOSE    non-empty: print each step with its time to stderr
#   TB_BENCH_NAMES  N: also publish SMIMEA for u0..u<N-1>@secure.test (benchmarks)
#
# After `start`, DIR/testbed.env (sourceable by sh and bash) names every file
# and every expected value; see tests/testbed/README.md for the zone contents
# and the validation state each name must give.
#
# Nothing here is cached between runs: keys, certificates and signatures are
# made fresh at every start (signatures would otherwise expire), and nothing
# ever leaves 127.0.0.0/8.
set -euo pipefail
# Bash 5.2 would expand '&' in ${var//pat/rep}; the replacements below are
# quoted anyway, this just makes sure.
shopt -u patsub_replacement 2>/dev/null || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATES=$HERE/zones

TB_ADDR=${TB_ADDR:-127.0.0.1}
TB_PORT=${TB_PORT:-15353}
TB_DOWN_PORT=${TB_DOWN_PORT:-15354}
TB_SMTP_PORT=${TB_SMTP_PORT:-25}
TB_SMTPD=${TB_SMTPD:-$HERE/../../build/tests/tools/smtpd/smtpd_test}

# How long `start` waits for NSD to answer, and `stop` for a process to exit.
READY_TIMEOUT_US=5000000
STOP_TIMEOUT_US=5000000

# Validity periods used for the expired bogus.test signatures.
BOGUS_INCEPTION=20200101000000
BOGUS_EXPIRATION=20200201000000

# Files and directories `start` creates in DIR. Only these are wiped at the
# next start, so a mistaken DIR (say $HOME) never loses anything else.
GENERATED=(certs pgp keys zones tmp smtp nsd.conf nsd.log nsd.out nsd.pid
	testbed.pid unbound.conf unbound-down.conf trust-anchor.ds testbed.env
	testbed.env.tmp)

die() {
	printf 'testbed: %s\n' "$*" >&2
	exit 1
}

usage() {
	printf 'usage: %s start|start-smtp|stop|status DIR\n' "${0##*/}" >&2
	exit 2
}

now_us() { # wall clock in microseconds (bash 5 $EPOCHREALTIME)
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s\n' "$((10#$t))"
}

T0=$(now_us)
step() { # progress note with elapsed time, only when TB_VERBOSE is set
	[[ -z ${TB_VERBOSE:-} ]] && return 0
	local ms=$((($(now_us) - T0) / 1000))
	printf 'testbed: [%d.%03d s] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

# ---------------------------------------------------------------------------
# Process helpers. A process counts as alive when it exists and is not a
# zombie: orphans are reaped late on this kind of machine, and `kill -0`
# succeeds on a zombie.
# ---------------------------------------------------------------------------
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ -n $st && $st != Z* ]]
}

# Is PID the NSD we started for this DIR? Guards against pid reuse: we never
# signal a process whose command line does not name our nsd.conf.
is_our_nsd() {
	local pid=$1 dir=$2 cmd
	alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *nsd* && $cmd == *"$dir/nsd.conf"* ]]
}

# Wait until every given pid is gone (or a zombie), up to $1 microseconds.
wait_gone() {
	local limit=$1 deadline p left
	shift
	deadline=$(($(now_us) + limit))
	while :; do
		left=0
		for p in "$@"; do
			if alive "$p"; then left=1; fi
		done
		((left)) || return 0
		(($(now_us) < deadline)) || return 1
		sleep 0.05
	done
}

# Every descendant of a pid, depth first. NSD's tree is: the pid we started
# (which turns into the zone-transfer daemon "xfrd"), its child "main" and
# main's "server" child(ren).
descendants() {
	local kid
	for kid in $(pgrep -P "$1" 2>/dev/null); do
		printf '%s\n' "$kid"
		descendants "$kid"
	done
}

# SIGTERM to the process we started (NSD's documented way to stop: the pid of
# its pidfile), a bounded wait for it and all its descendants, then SIGKILL
# for whatever is left.
terminate() {
	local pid=$1 tree
	tree=$(descendants "$pid" | tr '\n' ' ')
	kill -TERM "$pid" 2>/dev/null || true
	# shellcheck disable=SC2086 # $tree is a space-separated pid list
	if ! wait_gone "$STOP_TIMEOUT_US" "$pid" $tree; then
		printf 'testbed: pid %s did not exit on SIGTERM, sending SIGKILL\n' \
			"$pid" >&2
		# shellcheck disable=SC2086
		kill -KILL "$pid" $tree 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 2000000 "$pid" $tree ||
			die "pid $pid survived SIGKILL"
	fi
}

# ---------------------------------------------------------------------------
# Port check: is anything listening on ADDR:PORT (UDP or TCP)? A listener on
# the wildcard address blocks a specific bind just the same, so 0.0.0.0, *
# and [::] count as busy too.
# ---------------------------------------------------------------------------
port_busy() {
	local addr=$1 port=$2 proto=$3 local_addr
	while read -r local_addr; do
		case $local_addr in
		"$addr:$port" | "0.0.0.0:$port" | "*:$port" | "[::]:$port" | \
			"[::ffff:$addr]:$port" | "$addr%"*":$port")
			return 0 ;;
		esac
	done < <(ss -Hln"$proto" "( sport = :$port )" 2>/dev/null |
		awk '{print $4}')
	return 1
}

check_port_free() {
	local addr=$1 port=$2 what=$3
	if port_busy "$addr" "$port" u; then
		die "$what UDP port $addr:$port is already in use (see: ss -lnup 'sport = :$port'); choose another with ${4}"
	fi
	if port_busy "$addr" "$port" t; then
		die "$what TCP port $addr:$port is already in use (see: ss -lntp 'sport = :$port'); choose another with ${4}"
	fi
}

# ---------------------------------------------------------------------------
# Small data helpers.
# ---------------------------------------------------------------------------
hexdump_file() { od -An -v -tx1 "$1" | tr -d ' \n'; } # lowercase hex

# SMIMEA/OPENPGPKEY owner label: SHA2-256 of the UTF-8 local part, first 28
# octets, lowercase hex (RFC 8162 sec. 3, RFC 7929 sec. 3).
owner_label() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -c1-56; }

# SHA2-256 of a certificate's DER SubjectPublicKeyInfo (TLSA x 1 1).
spki_sha256() {
	openssl x509 -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -c1-64
}

# fill_template IN OUT: replace every @@NAME@@ with ${SUBST[NAME]}; fail if a
# placeholder is left over (a typo would otherwise give a broken zone).
declare -A SUBST=()
fill_template() {
	local in=$1 out=$2 text key left
	text=$(<"$in")
	for key in "${!SUBST[@]}"; do
		text=${text//"@@${key}@@"/"${SUBST[$key]}"}
	done
	left=$(grep -o '@@[A-Za-z0-9_]*@@' <<<"$text" | sort -u | tr '\n' ' ') || true
	[[ -z $left ]] || die "unfilled placeholders in $in: $left"
	printf '%s\n' "$text" >"$out"
}

# Emit `export NAME='value'` safely quoted for any POSIX shell.
env_line() {
	local v=${2//\'/\'\\\'\'}
	printf "export %s='%s'\n" "$1" "$v"
}

# ---------------------------------------------------------------------------
# Certificates (all self-signed, 1 year, made with a minimal OpenSSL config
# so the system openssl.cnf adds no extensions of its own).
# ---------------------------------------------------------------------------
make_cert() { # make_cert NAME KEYSPEC SUBJECT EXT...
	local name=$1 keyspec=$2 subj=$3 c=$DIR/certs
	shift 3
	local args=() e
	for e in "$@"; do args+=(-addext "$e"); done
	if [[ $keyspec == ec ]]; then
		set -- -newkey ec -pkeyopt ec_paramgen_curve:P-256
	else
		set -- -newkey "$keyspec"
	fi
	openssl req -x509 -config "$c/openssl.cnf" "$@" -nodes -sha256 \
		-days 365 -subj "$subj" -keyout "$c/$name.key" -out "$c/$name.pem" \
		-addext "basicConstraints=critical,CA:FALSE" "${args[@]}" 2>/dev/null ||
		die "openssl req failed for $name"
	chmod 600 "$c/$name.key"
	openssl x509 -in "$c/$name.pem" -outform DER -out "$c/$name.der"
}

smime_cert() { # smime_cert NAME KEYSPEC EMAIL DISPLAYNAME KEYUSAGE
	make_cert "$1" "$2" "/CN=$4/emailAddress=$3" \
		"subjectAltName=email:$3" "keyUsage=critical,$5" \
		"extendedKeyUsage=emailProtection"
}

gen_certs() {
	mkdir -p "$DIR/certs"
	printf '[req]\ndistinguished_name = dn\n[dn]\n' >"$DIR/certs/openssl.cnf"
	# RSA key generation dominates; two CPUs here, so run them in pairs.
	local pids=() p
	smime_cert bob-rsa rsa:2048 bob@secure.test Bob \
		digitalSignature,keyEncipherment &
	pids+=($!)
	smime_cert bob-ec ec bob-ec@secure.test "Bob EC" \
		digitalSignature,keyAgreement &
	pids+=($!)
	smime_cert alice-rsa rsa:2048 alice@secure.test Alice \
		digitalSignature,keyEncipherment &
	pids+=($!)
	smime_cert mallory-rsa rsa:2048 mallory@secure.test Mallory \
		digitalSignature,keyEncipherment &
	pids+=($!)
	make_cert mail.secure.test rsa:2048 /CN=mail.secure.test \
		"subjectAltName=DNS:mail.secure.test" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || die "certificate generation failed"
	done
}

# ---------------------------------------------------------------------------
# SMTP server certificates for `verify tlsa` (EC P-256: fast), in
# certs/smtp/. A testbed CA issues some with `openssl ca`, which can
# back-date validity (expired certificates); the others are self-signed.
# Runs in the background next to the OpenPGP keys (output: certs/smtp/gen.log)
# and ends by writing certs/smtp/values: "NAME hex" lines for the zones.
# ---------------------------------------------------------------------------
spki_sha256_of_key() { # SHA2-256 of the SPKI of a private key file
	openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -c1-64
}
cert_sha256() { # SHA2-256 of a certificate's DER (TLSA x 0 1)
	openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64
}

# shellcheck disable=SC2016 # $dir is openssl ca's own variable
SMTP_CA_CNF='[ca]
default_ca = tbca
[tbca]
dir = @DIR@/ca
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[req]
distinguished_name = dn
[dn]'

gen_smtp_certs() {
	local s=$DIR/certs/smtp
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	mkdir -p "$s/ca/new"
	: >"$s/ca/index.txt"
	printf '1000\n' >"$s/ca/serial"
	printf '%s\n' "${SMTP_CA_CNF//@DIR@/$s}" >"$s/ca.cnf"

	# self_signed NAME DNSNAME
	self_signed() {
		openssl req -x509 -config "$s/ca.cnf" "${ec[@]}" -sha256 -days 365 \
			-subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
			-addext "basicConstraints=critical,CA:FALSE" \
			-addext "extendedKeyUsage=serverAuth" \
			-keyout "$s/$1.key" -out "$s/$1.pem"
	}
	# ca_issue NAME DNSNAME [STARTDATE ENDDATE]: NAME.pem from the testbed CA,
	# and NAME.chain.pem (leaf + CA: what its server sends)
	ca_issue() {
		local name=$1 dns=$2 dates=(-days 365)
		[[ -z ${3:-} ]] || dates=(-startdate "$3" -enddate "$4")
		openssl req -new -config "$s/ca.cnf" "${ec[@]}" -subj "/CN=$dns" \
			-keyout "$s/$name.key" -out "$s/$name.csr"
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
			"subjectAltName=DNS:$dns" >"$s/$name.ext"
		openssl ca -batch -config "$s/ca.cnf" -cert "$s/ca.pem" -keyfile "$s/ca.key" \
			-in "$s/$name.csr" -out "$s/$name.pem" -extfile "$s/$name.ext" \
			-notext "${dates[@]}"
		cat "$s/$name.pem" "$s/ca.pem" >"$s/$name.chain.pem"
	}

	openssl req -x509 -config "$s/ca.cnf" "${ec[@]}" -sha256 -days 365 \
		-subj "/CN=danemail testbed CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$s/ca.key" -out "$s/ca.pem"
	self_signed dane-ee dane-ee.secure.test
	self_signed mismatch mismatch.secure.test
	self_signed unusable unusable.secure.test
	self_signed oldtls oldtls.secure.test
	self_signed ee-name unrelated.example
	self_signed elsewhere dane.insecure.test
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$s/next.key"
	ca_issue dane-ta dane-ta.secure.test
	ca_issue badname www.example.net
	ca_issue cname-orig cname-orig.secure.test
	ca_issue expired expired.secure.test 20200101000000Z 20200201000000Z
	ca_issue ta-expired ta-expired.secure.test 20200101000000Z 20200201000000Z
	chmod 600 "$s"/*.key
	{
		printf 'CA_SHA256 %s\n' "$(cert_sha256 "$s/ca.pem")"
		printf 'DANE_EE_SPKI %s\n' "$(spki_sha256 "$s/dane-ee.pem")"
		printf 'NEXT_KEY_SPKI %s\n' "$(spki_sha256_of_key "$s/next.key")"
		printf 'UNUSABLE_SPKI %s\n' "$(spki_sha256 "$s/unusable.pem")"
		printf 'EXPIRED_SPKI %s\n' "$(spki_sha256 "$s/expired.pem")"
		printf 'OLDTLS_SPKI %s\n' "$(spki_sha256 "$s/oldtls.pem")"
		printf 'EE_NAME_SHA256 %s\n' "$(cert_sha256 "$s/ee-name.pem")"
		printf 'ELSEWHERE_SPKI %s\n' "$(spki_sha256 "$s/elsewhere.pem")"
	} >"$s/values.tmp"
	mv "$s/values.tmp" "$s/values"
}

# The SMTP servers of start-smtp, one per line: NAME ADDRESS smtpd_test
# options (start-smtp adds --listen, --name, --pidfile and --log). The zones
# publish their A and TLSA records; README.md says what each must give.
smtp_servers() {
	local s=$DIR/certs/smtp c=$DIR/certs
	printf '%s\n' \
		"dane-ee.secure.test 127.0.1.2 --cert $s/dane-ee.pem --key $s/dane-ee.key --cert $c/mail.secure.test.pem --key $c/mail.secure.test.key" \
		"dane-ta.secure.test 127.0.1.3 --cert $s/dane-ta.chain.pem --key $s/dane-ta.key --multiline-greeting --greeting-delay 200" \
		"mismatch.secure.test 127.0.1.4 --cert $s/mismatch.pem --key $s/mismatch.key" \
		"unusable.secure.test 127.0.1.5 --cert $s/unusable.pem --key $s/unusable.key" \
		"expired.secure.test 127.0.1.6 --cert $s/expired.pem --key $s/expired.key" \
		"nostarttls.secure.test 127.0.1.7 --no-starttls" \
		"oldtls.secure.test 127.0.1.8 --cert $s/oldtls.pem --key $s/oldtls.key --tls-min 1.0 --tls-max 1.0" \
		"badname.secure.test 127.0.1.9 --cert $s/badname.chain.pem --key $s/badname.key" \
		"ta-expired.secure.test 127.0.1.10 --cert $s/ta-expired.chain.pem --key $s/ta-expired.key" \
		"ee-name.secure.test 127.0.1.11 --cert $s/ee-name.pem --key $s/ee-name.key" \
		"stall.secure.test 127.0.1.12 --stall-after-greeting" \
		"greet421.secure.test 127.0.1.13 --greeting-421" \
		"plain.secure.test 127.0.1.14 --cert $s/cname-orig.chain.pem --key $s/cname-orig.key" \
		"dane.insecure.test 127.0.2.2 --cert $s/elsewhere.pem --key $s/elsewhere.key" \
		"dane.bogus.test 127.0.3.2 --cert $s/elsewhere.pem --key $s/elsewhere.key"
}

# ---------------------------------------------------------------------------
# OpenPGP keys, all in one GNUPGHOME, no passphrase:
#   bob, dave   Curve25519 (gpg's future-default: ed25519 + cv25519 encryption
#               subkey)
#   carol       RSA-3072 primary + RSA-3072 encryption subkey
# and the OPENPGPKEY edge cases, all Curve25519 (fast):
#   expired     made with a faked clock on 2020-01-01, 1-day expiry
#   revoked     carries a key revocation signature (gpg's own revocation
#               certificate from openpgp-revocs.d, imported)
#   signonly    ed25519 primary, signing only: nothing may encrypt
#   wronguid    valid, but its only user ID is <someone@else.test>
# (garbage@secure.test's record is no key at all: random bytes, see
# start.) Exports are minimal (export-minimal); secret keys are exported for
# those a test decrypts with (bob, carol, dave, wronguid). The agent is
# killed at the end. Runs in the background while the rest is built; output
# to pgp/gen.log. Carol's RSA key (~1.5 s) is made beside the others.
# ---------------------------------------------------------------------------
PGP_KEYS=(bob carol dave expired revoked signonly wronguid)
PGP_SECRETS=(bob carol dave wronguid)
# The user ID each key is looked up by in gpg (wronguid's names another address).
pgp_uid() {
	case $1 in
	wronguid) printf '<someone@else.test>\n' ;;
	*) printf '<%s@secure.test>\n' "$1" ;;
	esac
}

# shellcheck disable=SC2030,SC2031 # the subshell's own gh is meant to stay there
gen_pgp() {
	local p=$DIR/pgp gh=$DIR/pgp/gnupg fpr carol_pid who uid
	gpgb() {
		gpg --homedir "$gh" --batch --no-tty --quiet --pinentry-mode loopback \
			--passphrase '' "$@"
	}
	fpr_of() { # fpr_of USERID: the primary key's fingerprint
		gpgb --with-colons --list-keys "$1" | awk -F: '$1 == "fpr" { print $10; exit }'
	}
	# Carol's slow RSA key in a GNUPGHOME of its own (two gpg processes on
	# one keyring race: gpg 2.2 replaces the file while the other reads),
	# imported into the main one at the end.
	(
		gh=$DIR/pgp/gnupg-rsa
		gpgb --quick-gen-key 'Carol <carol@secure.test>' rsa3072 cert,sign 1y
		gpgb --quick-add-key "$(fpr_of '<carol@secure.test>')" rsa3072 encr 1y
		gpgb --armor --export-secret-keys '<carol@secure.test>' >"$DIR/pgp/carol.sec.asc"
		gpgconf --homedir "$gh" --kill all
	) &
	carol_pid=$!
	gpgb --quick-gen-key 'Bob <bob@secure.test>' future-default default 1y
	gpgb --quick-gen-key 'Dave <dave@secure.test>' future-default default 1y
	gpgb --faked-system-time '20200101T000000!' \
		--quick-gen-key 'Expired <expired@secure.test>' future-default default 1d
	gpgb --quick-gen-key 'Revoked <revoked@secure.test>' future-default default 1y
	fpr=$(fpr_of '<revoked@secure.test>')
	# gpg writes a revocation certificate at key generation, its armour
	# header line prefixed with ':' against accidental import.
	sed 's/^:-----BEGIN/-----BEGIN/' "$gh/openpgp-revocs.d/$fpr.rev" | gpgb --import
	gpgb --quick-gen-key 'Signonly <signonly@secure.test>' ed25519 sign 1y
	gpgb --quick-gen-key '<someone@else.test>' future-default default 1y
	wait "$carol_pid"
	rm -rf "$DIR/pgp/gnupg-rsa"
	gpgb --import "$DIR/pgp/carol.sec.asc"
	# ultimate trust, like the keys made here (gpg --list-keys says "u")
	printf '%s:6:\n' "$(fpr_of '<carol@secure.test>')" | gpgb --import-ownertrust
	for who in "${PGP_KEYS[@]}"; do
		uid=$(pgp_uid "$who")
		local clock=()
		# An expired key exported today would lose its (expired) subkey.
		[[ $who == expired ]] && clock=(--faked-system-time '20200101T120000!')
		gpgb "${clock[@]}" --export --export-options export-minimal "$uid" >"$p/$who.pub"
		gpgb "${clock[@]}" --armor --export --export-options export-minimal "$uid" \
			>"$p/$who.pub.asc"
		fpr_of "$uid" >"$p/$who.fpr"
		[[ -s $p/$who.pub && -s $p/$who.fpr ]]
	done
	for who in "${PGP_SECRETS[@]}"; do
		[[ $who == carol ]] && continue # exported above
		gpgb --armor --export-secret-keys "$(pgp_uid "$who")" >"$p/$who.sec.asc"
		[[ -s $p/$who.sec.asc ]]
	done
	chmod 600 "$p"/*.sec.asc
	gpgconf --homedir "$gh" --kill all
}

kill_gpg_agent() {
	local gh
	for gh in "$DIR/pgp/gnupg" "$DIR/pgp/gnupg-rsa"; do
		if [[ -d $gh ]]; then
			gpgconf --homedir "$gh" --kill all >/dev/null 2>&1 || true
		fi
	done
}

# ---------------------------------------------------------------------------
# DNSSEC keys and signing (ldns). One KSK + one ZSK per signed zone.
# ---------------------------------------------------------------------------
gen_zone_keys() { # gen_zone_keys ZONE -> keys/ZONE.ksk, keys/ZONE.zsk (basenames)
	local z=$1 k=$DIR/keys ksk zsk
	ksk=$(cd "$k" && ldns-keygen -a ECDSAP256SHA256 -k "$z.")
	zsk=$(cd "$k" && ldns-keygen -a ECDSAP256SHA256 "$z.")
	printf '%s\n' "$k/$ksk" >"$k/$z.ksk"
	printf '%s\n' "$k/$zsk" >"$k/$z.zsk"
}

sign_zone() { # sign_zone ZONE [extra ldns-signzone args] -> zones/ZONE.zone.signed
	local z=$1 zd=$DIR/zones
	shift
	ldns-signzone "$@" -o "$z." -f "$zd/$z.zone.signed" "$zd/$z.zone" \
		"$(<"$DIR/keys/$z.zsk")" "$(<"$DIR/keys/$z.ksk")" ||
		die "ldns-signzone failed for $z"
}

# DS rdata ("keytag alg 2 digest") of ZONE's KSK, for the parent zone.
ds_rdata() {
	ldns-key2ds -n -2 "$(<"$DIR/keys/$1.ksk").key" | awk '{ print $5, $6, $7, $8 }'
}

# Edit two RRsets of the signed secure.test zone, keeping their RRSIGs, so
# that exactly those names validate BOGUS: mallory's SMIMEA (last hex digit
# of the certificate flipped: still parses as DER, signature no longer
# matches) and tampered.secure.test TXT ("original" -> "tampered").
tamper_secure() {
	local f=$DIR/zones/secure.test.zone.signed
	awk -v smimea="$MALLORY_OWNER." -v txt="tampered.secure.test." '
		BEGIN { OFS = "\t" }
		$1 == smimea && $4 == "SMIMEA" {
			hex = $8; last = substr(hex, length(hex), 1)
			hex = substr(hex, 1, length(hex) - 1) (last == "0" ? "1" : "0")
			$0 = $1 OFS $2 OFS $3 OFS $4 OFS $5 " " $6 " " $7 " " hex
			n1++
		}
		$1 == txt && $4 == "TXT" {
			n2 += sub(/"original"/, "\"tampered\"")
		}
		{ print }
		END { if (n1 != 1 || n2 != 1) exit 3 }
	' "$f" >"$f.tmp" || die "tampering secure.test failed (record not found once)"
	mv "$f.tmp" "$f"
	MALLORY_TAMPERED_HEX=$(awk -v o="$MALLORY_OWNER." \
		'$1 == o && $4 == "SMIMEA" { print $8 }' "$f")
	[[ $MALLORY_TAMPERED_HEX != "$MALLORY_HEX" ]] || die "tampering had no effect"
}

# bench_names ZONEFILE: with TB_BENCH_NAMES=N, append SMIMEA records (bob's
# certificate) for u0@secure.test .. u<N-1>@secure.test, for the resolver
# benchmarks' uncached lookups.  python3 (meson's own runtime) hashes fast.
bench_names() {
	local n=${TB_BENCH_NAMES:-0}
	[[ $n =~ ^[0-9]+$ ]] || die "TB_BENCH_NAMES must be a number"
	((n > 0)) || return 0
	python3 - "$n" "$BOB_RSA_HEX" >>"$1" <<'PY'
import hashlib, sys
n, rdata = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    label = hashlib.sha256(b"u%d" % i).hexdigest()[:56]
    print(f"{label}._smimecert 300 IN SMIMEA 3 0 0 {rdata}")
PY
}

build_zones() {
	local zd=$DIR/zones z
	mkdir -p "$zd" "$DIR/keys"
	for z in test secure.test bogus.test; do gen_zone_keys "$z"; done

	# Values for the templates.
	SUBST[ADDR]=$TB_ADDR
	SUBST[H_BOB]=$(owner_label bob)
	SUBST[H_BOB_EC]=$(owner_label bob-ec)
	SUBST[H_ALICE]=$(owner_label alice)
	SUBST[H_MALLORY]=$(owner_label mallory)
	SUBST[H_GENERIC]=$(owner_label generic)
	SUBST[H_CAROL]=$(owner_label carol)
	SUBST[BOB_RSA_HEX]=$BOB_RSA_HEX
	SUBST[BOB_RSA_RDLEN]=$((${#BOB_RSA_HEX} / 2 + 3)) # usage+selector+mtype
	SUBST[BOB_EC_HEX]=$BOB_EC_HEX
	SUBST[ALICE_RSA_HEX]=$ALICE_HEX
	SUBST[MALLORY_RSA_HEX]=$MALLORY_HEX
	SUBST[MAIL_TLSA_HEX]=$MAIL_TLSA_HEX
	SUBST[BOB_PGP_B64]=$BOB_PGP_B64
	SUBST[CAROL_PGP_B64]=$CAROL_PGP_B64
	SUBST[GARBAGE_PGP_B64]=$GARBAGE_PGP_B64
	SUBST[H_GARBAGE]=$(owner_label garbage)
	local who up
	for who in dave expired revoked signonly wronguid; do
		up=${who^^}
		SUBST[H_$up]=$(owner_label "$who")
		SUBST[${up}_PGP_B64]=$(base64 -w0 "$DIR/pgp/$who.pub")
	done
	# SMTP servers of start-smtp: their port and TLSA association data
	SUBST[SMTP_PORT]=$TB_SMTP_PORT
	local name value
	while read -r name value; do
		[[ $value =~ ^[0-9a-f]{64}$ ]] ||
			die "bad $name '$value' from SMTP certificates; see $DIR/certs/smtp/gen.log"
		SUBST[$name]=$value
	done <"$DIR/certs/smtp/values"
	[[ -n ${SUBST[CA_SHA256]:-} && -n ${SUBST[ELSEWHERE_SPKI]:-} ]] ||
		die "SMTP certificate values missing; see $DIR/certs/smtp/gen.log"

	# Children first: the parent needs their DS.
	fill_template "$TEMPLATES/secure.test.zone.in" "$zd/secure.test.zone"
	bench_names "$zd/secure.test.zone"
	fill_template "$TEMPLATES/insecure.test.zone.in" "$zd/insecure.test.zone"
	fill_template "$TEMPLATES/bogus.test.zone.in" "$zd/bogus.test.zone"
	sign_zone secure.test
	tamper_secure
	sign_zone bogus.test -i "$BOGUS_INCEPTION" -e "$BOGUS_EXPIRATION"

	SUBST[SECURE_DS]=$(ds_rdata secure.test)
	SUBST[BOGUS_DS]=$(ds_rdata bogus.test)
	fill_template "$TEMPLATES/test.zone.in" "$zd/test.zone"
	sign_zone test

	# The trust anchor: DS of test.'s KSK, one line in zone-file format.
	ldns-key2ds -n -2 "$(<"$DIR/keys/test.ksk").key" >"$DIR/trust-anchor.ds"
	[[ $(wc -l <"$DIR/trust-anchor.ds") == 1 ]] || die "bad trust anchor file"

	# Independent syntax check of what NSD will load.
	local f
	for f in test:test.zone.signed secure.test:secure.test.zone.signed \
		insecure.test:insecure.test.zone bogus.test:bogus.test.zone.signed; do
		nsd-checkzone "${f%%:*}." "$zd/${f#*:}" >/dev/null ||
			die "nsd-checkzone failed for $zd/${f#*:}"
	done
}

# ---------------------------------------------------------------------------
# Configuration files.
# ---------------------------------------------------------------------------
write_nsd_conf() {
	# Every path NSD would otherwise take from /etc, /var or /run points into
	# DIR, so several testbeds (and a system NSD) can coexist.
	cat >"$DIR/nsd.conf" <<EOF
# Generated by tests/testbed/testbed.sh -- do not edit.
server:
	ip-address: $TB_ADDR@$TB_PORT
	do-ip4: yes
	do-ip6: no
	server-count: 1
	reuseport: no
	username: ""
	chroot: ""
	zonesdir: ""
	database: ""
	zonefiles-write: 0
	zonelistfile: "$DIR/tmp/zone.list"
	xfrdfile: "$DIR/tmp/xfrd.state"
	xfrdir: "$DIR/tmp"
	cookie-secret-file: "$DIR/tmp/nsd_cookiesecrets.txt"
	pidfile: "$DIR/nsd.pid"
	logfile: "$DIR/nsd.log"
	verbosity: 1
	hide-version: yes
	# Tests may query fast (bulk scanner): no response rate limiting.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0

remote-control:
	control-enable: no

zone:
	name: "test."
	zonefile: "$DIR/zones/test.zone.signed"
zone:
	name: "secure.test."
	zonefile: "$DIR/zones/secure.test.zone.signed"
zone:
	name: "insecure.test."
	zonefile: "$DIR/zones/insecure.test.zone"
zone:
	name: "bogus.test."
	zonefile: "$DIR/zones/bogus.test.zone.signed"
EOF
	nsd-checkconf "$DIR/nsd.conf" || die "nsd-checkconf failed for $DIR/nsd.conf"
}

write_unbound_conf() { # write_unbound_conf FILE PORT COMMENT
	local out_if=127.0.0.1
	[[ $TB_ADDR == 127.* ]] && out_if=$TB_ADDR
	cat >"$1" <<EOF
# Generated by tests/testbed/testbed.sh -- for libunbound ub_ctx_config()
# and unbound-host -C. $3
server:
	# Answers from 127.0.0.0/8 are refused by default (=> SERVFAIL).
	do-not-query-localhost: no
	# RFC 6761 makes "test." a static NXDOMAIN zone by default.
	local-zone: "test." nodefault
	# The chain of trust starts at test.; no root anchor, no root hints used.
	trust-anchor-file: "$DIR/trust-anchor.ds"
	# Guard: queries can only leave from loopback, hence only reach loopback.
	outgoing-interface: $out_if
	do-ip6: no
	module-config: "validator iterator"
	# Detailed why_bogus strings in ub_result (and in the log).
	val-log-level: 2
	# No sentinel/_ta queries, no prefetching: only the queries asked for.
	trust-anchor-signaling: no
	root-key-sentinel: no
	prefetch: no
	# Keep a failing lookup short (the "DNS server down" case): give up on
	# an unresponsive server quickly instead of retrying for seconds.
	outbound-msg-retry: 1
	infra-cache-max-rtt: 1000

# Everything, not just test., goes to the testbed server: a stub for test.
# alone would send any other name to the real root servers.
forward-zone:
	name: "."
	forward-addr: $TB_ADDR@$2
EOF
}

write_env() {
	local c=$DIR/certs p=$DIR/pgp
	{
		printf '# Generated by tests/testbed/testbed.sh start -- source me.\n'
		env_line TB_DIR "$DIR"
		env_line TB_ADDR "$TB_ADDR"
		env_line TB_PORT "$TB_PORT"
		env_line TB_DOWN_PORT "$TB_DOWN_PORT"
		env_line TB_SMTP_PORT "$TB_SMTP_PORT"
		env_line TB_NSD_PID "$NSD_PID"
		env_line TB_NSD_CONF "$DIR/nsd.conf"
		env_line TB_NSD_LOG "$DIR/nsd.log"
		env_line TB_UNBOUND_CONF "$DIR/unbound.conf"
		env_line TB_UNBOUND_DOWN_CONF "$DIR/unbound-down.conf"
		env_line TB_TRUST_ANCHOR "$DIR/trust-anchor.ds"
		env_line TB_TRUST_ANCHOR_DS "$(head -n1 "$DIR/trust-anchor.ds")"

		# Certificates and keys (PEM, plus DER copies).
		local n v
		for n in bob-rsa:BOB_RSA bob-ec:BOB_EC alice-rsa:ALICE_RSA \
			mallory-rsa:MALLORY_RSA mail.secure.test:MAIL_SECURE; do
			v=${n#*:}
			env_line "TB_${v}_CERT" "$c/${n%%:*}.pem"
			env_line "TB_${v}_KEY" "$c/${n%%:*}.key"
			env_line "TB_${v}_DER" "$c/${n%%:*}.der"
		done

		# OpenPGP.
		env_line TB_GNUPGHOME "$p/gnupg"
		for n in "${PGP_KEYS[@]}"; do
			v=${n^^}
			env_line "TB_${v}_PGP_PUB" "$p/$n.pub"
			env_line "TB_${v}_PGP_PUB_ASC" "$p/$n.pub.asc"
			[[ ! -e $p/$n.sec.asc ]] || env_line "TB_${v}_PGP_SEC" "$p/$n.sec.asc"
			env_line "TB_${v}_PGP_FPR" "$(<"$p/$n.fpr")"
		done
		env_line TB_GARBAGE_PGP_BIN "$p/garbage.bin"

		# Expected DNS names and values (names without the trailing dot).
		env_line TB_BOB_SMIMEA_OWNER "${SUBST[H_BOB]}._smimecert.secure.test"
		env_line TB_BOB_SMIMEA_HEX "$BOB_RSA_HEX"
		env_line TB_GENERIC_SMIMEA_OWNER "${SUBST[H_GENERIC]}._smimecert.secure.test"
		env_line TB_BOB_EC_SMIMEA_OWNER "${SUBST[H_BOB_EC]}._smimecert.secure.test"
		env_line TB_BOB_EC_SMIMEA_HEX "$BOB_EC_HEX"
		env_line TB_ALICE_SMIMEA_OWNER "${SUBST[H_ALICE]}._smimecert.secure.test"
		env_line TB_ALICE_MIXEDCASE_SMIMEA_OWNER \
			"$(owner_label Alice)._smimecert.secure.test"
		env_line TB_ALICE_SMIMEA_HEX "$ALICE_HEX"
		env_line TB_MALLORY_SMIMEA_OWNER "$MALLORY_OWNER"
		env_line TB_MALLORY_SMIMEA_HEX "$MALLORY_HEX"
		env_line TB_MALLORY_SMIMEA_TAMPERED_HEX "$MALLORY_TAMPERED_HEX"
		env_line TB_BOB_OPENPGPKEY_OWNER "${SUBST[H_BOB]}._openpgpkey.secure.test"
		env_line TB_BOB_OPENPGPKEY_B64 "$BOB_PGP_B64"
		env_line TB_CAROL_OPENPGPKEY_OWNER "${SUBST[H_CAROL]}._openpgpkey.secure.test"
		env_line TB_CAROL_OPENPGPKEY_B64 "$CAROL_PGP_B64"
		for n in dave expired revoked signonly wronguid garbage; do
			v=${n^^}
			env_line "TB_${v}_OPENPGPKEY_OWNER" "${SUBST[H_$v]}._openpgpkey.secure.test"
			env_line "TB_${v}_OPENPGPKEY_B64" "${SUBST[${v}_PGP_B64]}"
		done
		env_line TB_MAIL_TLSA_OWNER "_25._tcp.mail.secure.test"
		env_line TB_MAIL_TLSA_HEX "$MAIL_TLSA_HEX"

		# SMTP servers for `verify tlsa` (start-smtp): certificates and the
		# association data the zones publish (names as in certs/smtp/values).
		env_line TB_SMTP_CERTS "$c/smtp"
		env_line TB_SMTP_CA_CERT "$c/smtp/ca.pem"
		local name value
		while read -r name value; do
			env_line "TB_SMTP_$name" "$value"
		done <"$c/smtp/values"
		env_line TB_INSECURE_BOB_SMIMEA_OWNER "${SUBST[H_BOB]}._smimecert.insecure.test"
		env_line TB_INSECURE_BOB_OPENPGPKEY_OWNER "${SUBST[H_BOB]}._openpgpkey.insecure.test"
		env_line TB_BOGUS_BOB_SMIMEA_OWNER "${SUBST[H_BOB]}._smimecert.bogus.test"
		env_line TB_BOGUS_BOB_OPENPGPKEY_OWNER "${SUBST[H_BOB]}._openpgpkey.bogus.test"
	} >"$DIR/testbed.env.tmp"
	mv "$DIR/testbed.env.tmp" "$DIR/testbed.env"
}

# ---------------------------------------------------------------------------
# NSD.
# ---------------------------------------------------------------------------
# Does NSD answer? First one query (each unanswered query costs dig's 1 s
# timeout), then all four zones must answer with their SOA.
soa_count() {
	dig @"$TB_ADDR" -p "$TB_PORT" +norec +tries=1 +time=1 +short "$@" \
		2>/dev/null | grep -c ' 60$' || true
}
nsd_ready() {
	[[ $(soa_count SOA test.) == 1 ]] &&
		[[ $(soa_count SOA test. SOA secure.test. SOA insecure.test. \
			SOA bogus.test.) == 4 ]]
}

start_nsd() {
	# Plain background process in the foreground mode (-d): its pid is $!.
	# stdin/stdout/stderr are detached so a caller reading our output
	# through a pipe is not kept waiting by NSD.
	nsd -d -c "$DIR/nsd.conf" </dev/null >>"$DIR/nsd.out" 2>&1 &
	NSD_PID=$!
	printf '%s\n' "$NSD_PID" >"$DIR/testbed.pid"

	local deadline
	deadline=$(($(now_us) + READY_TIMEOUT_US))
	until nsd_ready; do
		if ! alive "$NSD_PID"; then
			die "nsd exited during start-up; see $DIR/nsd.log and $DIR/nsd.out: $(tail -n 3 "$DIR/nsd.log" "$DIR/nsd.out" 2>/dev/null | tr '\n' ' ')"
		fi
		if (($(now_us) >= deadline)); then
			die "nsd did not answer on $TB_ADDR@$TB_PORT within 5 s; see $DIR/nsd.log"
		fi
		sleep 0.05
	done
	# The answers could come from someone else who grabbed the port between
	# our check and NSD's bind (NSD then exits): make sure the UDP socket
	# on TB_ADDR:TB_PORT belongs to our NSD's process tree.
	local ours p
	ours=" $NSD_PID $(descendants "$NSD_PID" | tr '\n' ' ')"
	for p in $(ss -Hlnup "( sport = :$TB_PORT )" 2>/dev/null |
		grep -F "$TB_ADDR:$TB_PORT " | grep -oE 'pid=[0-9]+' | cut -d= -f2); do
		[[ $ours == *" $p "* ]] && return 0
	done
	die "something else answers on $TB_ADDR@$TB_PORT, not our nsd; see $DIR/nsd.log"
}

# ---------------------------------------------------------------------------
# Commands.
# ---------------------------------------------------------------------------
check_config() {
	[[ $TB_ADDR =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
		die "TB_ADDR must be an IPv4 loopback address (127.x.y.z), got '$TB_ADDR'"
	local p
	for p in "$TB_PORT" "$TB_DOWN_PORT"; do
		if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
			die "ports must be numbers 1-65535, got '$p'"
		fi
	done
	[[ $TB_PORT != "$TB_DOWN_PORT" ]] || die "TB_PORT and TB_DOWN_PORT must differ"
	if ! [[ $TB_SMTP_PORT =~ ^[0-9]+$ ]] || ((TB_SMTP_PORT < 1 || TB_SMTP_PORT > 65535)); then
		die "TB_SMTP_PORT must be a number 1-65535, got '$TB_SMTP_PORT'"
	fi
	local t
	for t in nsd nsd-checkzone nsd-checkconf ldns-keygen ldns-signzone \
		ldns-key2ds openssl gpg gpgconf dig ss ps pgrep od awk; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
}

set_dir() { # resolve DIR to an absolute path usable inside config files
	[[ -n ${1:-} ]] || usage
	[[ $1 != *[[:space:]\"\'\\]* ]] ||
		die "DIR must not contain spaces, quotes or backslashes: '$1'"
	mkdir -p "$1"
	DIR=$(cd "$1" && pwd -P)
	[[ $DIR != / ]] || die "refusing to use / as DIR"
}

running_pid() { # print the pid of a live NSD of ours in DIR, if any
	local f pid
	for f in "$DIR/testbed.pid" "$DIR/nsd.pid"; do
		[[ -s $f ]] || continue
		pid=$(<"$f")
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if is_our_nsd "$pid" "$DIR"; then
			printf '%s\n' "$pid"
			return 0
		fi
	done
	return 1
}

# On any failure during start: stop what was started, leave the logs.
START_OK=0
PGP_PID=
SMTPCERT_PID=
start_cleanup() {
	((START_OK)) && return 0
	if [[ -n $PGP_PID ]]; then kill "$PGP_PID" 2>/dev/null || true; fi
	if [[ -n $SMTPCERT_PID ]]; then kill "$SMTPCERT_PID" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	kill_gpg_agent
	if [[ -n ${NSD_PID:-} ]] && is_our_nsd "$NSD_PID" "$DIR"; then
		terminate "$NSD_PID"
	fi
	rm -f "$DIR/testbed.pid" "$DIR/testbed.env"
}

cmd_start() {
	check_config
	set_dir "$1"

	local pid
	if pid=$(running_pid); then
		die "an NSD of a previous run in $DIR is still running (pid $pid); run: $0 stop $DIR"
	fi
	if pid=$(smtp_running); then
		die "an SMTP server of a previous run in $DIR is still running (pid $pid); run: $0 stop $DIR"
	fi
	check_port_free "$TB_ADDR" "$TB_PORT" "TB_PORT" "TB_PORT=..."
	check_port_free "$TB_ADDR" "$TB_DOWN_PORT" "TB_DOWN_PORT (must stay unused)" \
		"TB_DOWN_PORT=..."

	# gpg-agent puts its sockets into GNUPGHOME here (no /run/user/UID):
	# a Unix socket path is limited to 107 bytes.
	local sock=$DIR/pgp/gnupg/S.gpg-agent.browser
	((${#sock} <= 107)) ||
		die "DIR path too long for gpg-agent sockets (${#sock} > 107 bytes): use a shorter DIR"

	# Fresh state: remove what an earlier start generated (and its agent).
	kill_gpg_agent
	local g
	for g in "${GENERATED[@]}"; do rm -rf "${DIR:?}/$g"; done
	mkdir -p "$DIR/tmp" "$DIR/pgp/gnupg" "$DIR/pgp/gnupg-rsa"
	chmod 700 "$DIR/pgp/gnupg" "$DIR/pgp/gnupg-rsa"

	trap start_cleanup EXIT

	step "generating keys and certificates"
	# 1. OpenPGP keys in the background (RSA-3072 takes ~1.5 s).
	(gen_pgp) >"$DIR/pgp/gen.log" 2>&1 &
	PGP_PID=$!
	# ... and the SMTP servers' certificates (EC, ~0.3 s).
	mkdir -p "$DIR/certs/smtp"
	(set -e; gen_smtp_certs) >"$DIR/certs/smtp/gen.log" 2>&1 &
	SMTPCERT_PID=$!

	# 2. X.509 certificates and the values derived from them.
	gen_certs
	BOB_RSA_HEX=$(hexdump_file "$DIR/certs/bob-rsa.der")
	BOB_EC_HEX=$(hexdump_file "$DIR/certs/bob-ec.der")
	ALICE_HEX=$(hexdump_file "$DIR/certs/alice-rsa.der")
	MALLORY_HEX=$(hexdump_file "$DIR/certs/mallory-rsa.der")
	MAIL_TLSA_HEX=$(spki_sha256 "$DIR/certs/mail.secure.test.pem")
	MALLORY_OWNER=$(owner_label mallory)._smimecert.secure.test
	# Self-check of the owner hashing against RFC 8162's example and the
	# value documented in TESTBED-NOTES.
	[[ $(owner_label hugh) == c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6 &&
		$(owner_label bob) == 81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd ]] ||
		die "owner label hashing is broken"

	step "certificates done, waiting for OpenPGP keys"
	# 3. Wait for the OpenPGP keys (the zones need them).
	wait "$PGP_PID" || die "OpenPGP key generation failed; see $DIR/pgp/gen.log"
	PGP_PID=
	wait "$SMTPCERT_PID" || die "SMTP certificate generation failed; see $DIR/certs/smtp/gen.log"
	SMTPCERT_PID=
	BOB_PGP_B64=$(base64 -w0 "$DIR/pgp/bob.pub")
	CAROL_PGP_B64=$(base64 -w0 "$DIR/pgp/carol.pub")
	# garbage.secure.test: an OPENPGPKEY record that is no key at all. The
	# first byte is ASCII (bit 7 clear: no OpenPGP packet starts so), the
	# rest random.
	{ printf 'not a key: '; head -c 48 /dev/urandom; } >"$DIR/pgp/garbage.bin"
	GARBAGE_PGP_B64=$(base64 -w0 "$DIR/pgp/garbage.bin")

	step "OpenPGP keys done, building and signing zones"
	# 4. Zones: fill templates, sign, tamper, check.
	build_zones

	# 5. Configuration for NSD and for the resolver under test.
	write_nsd_conf
	write_unbound_conf "$DIR/unbound.conf" "$TB_PORT" \
		"Forwards everything to the testbed NSD."
	write_unbound_conf "$DIR/unbound-down.conf" "$TB_DOWN_PORT" \
		"Forwards to a port where NOTHING listens: the 'DNS server down' case."

	step "zones and configuration done, starting NSD"
	# 6. NSD, then the env file (its presence means "testbed is up").
	start_nsd
	step "NSD answers"
	write_env
	START_OK=1
	printf 'testbed: up: NSD pid %s on %s@%s; env: %s\n' \
		"$NSD_PID" "$TB_ADDR" "$TB_PORT" "$DIR/testbed.env"
}

cmd_stop() {
	[[ -n ${1:-} ]] || usage
	if [[ ! -d $1 ]]; then return 0; fi # nothing was ever started there
	DIR=$(cd "$1" && pwd -P)

	local f pid
	for f in "$DIR/testbed.pid" "$DIR/nsd.pid"; do
		[[ -s $f ]] || continue
		pid=$(<"$f")
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if is_our_nsd "$pid" "$DIR"; then terminate "$pid"; fi
	done
	stop_smtp
	# Tests may have used the testbed's GNUPGHOME, which starts an agent.
	kill_gpg_agent
	rm -f "$DIR/testbed.pid" "$DIR/nsd.pid"
}

# ---------------------------------------------------------------------------
# SMTP servers (start-smtp): one smtpd_test per line of smtp_servers, on
# TB_SMTP_PORT of its address. DIR/smtp/NAME.pid is the pid we started,
# NAME.ready the pid file smtpd_test writes once it listens, NAME.log its
# event log, NAME.err its stderr.
# ---------------------------------------------------------------------------
is_our_smtpd() { # is PID an smtpd_test started for this DIR?
	local cmd
	alive "$1" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *smtpd_test* && $cmd == *"$DIR/smtp/"* ]]
}

smtp_running() { # print the pid of a live SMTP server of ours in DIR, if any
	local f pid
	for f in "$DIR"/smtp/*.pid; do
		[[ -s $f ]] || continue
		pid=$(<"$f")
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if is_our_smtpd "$pid"; then
			printf '%s\n' "$pid"
			return 0
		fi
	done
	return 1
}

# SIGTERM to all at once, a bounded wait, then SIGKILL for what is left.
# Their connection processes follow (PR_SET_PDEATHSIG).
stop_smtp() {
	local f pid pids=()
	for f in "$DIR"/smtp/*.pid; do
		[[ -s $f ]] || continue
		pid=$(<"$f")
		if [[ $pid =~ ^[0-9]+$ ]] && is_our_smtpd "$pid"; then pids+=("$pid"); fi
		rm -f "$f"
	done
	((${#pids[@]})) || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	if ! wait_gone "$STOP_TIMEOUT_US" "${pids[@]}"; then
		printf 'testbed: SMTP servers did not exit on SIGTERM, sending SIGKILL\n' >&2
		kill -KILL "${pids[@]}" 2>/dev/null || true
		wait_gone 2000000 "${pids[@]}" || die "SMTP servers survived SIGKILL"
	fi
}

cmd_start_smtp() {
	[[ -n ${1:-} && -d $1 ]] || die "no testbed in '${1:-}': run start first"
	DIR=$(cd "$1" && pwd -P)
	if [[ ! -s $DIR/testbed.env ]] || ! running_pid >/dev/null; then
		die "the testbed in $DIR is not running: run start first"
	fi
	local port
	port=$(sed -n "s/^export TB_SMTP_PORT='\(.*\)'$/\1/p" "$DIR/testbed.env")
	[[ -n $port ]] || die "$DIR/testbed.env has no TB_SMTP_PORT (made by an older testbed.sh?)"
	[[ -x $TB_SMTPD ]] ||
		die "no smtpd_test at $TB_SMTPD: build it (ninja -C build) or set TB_SMTPD"
	if smtp_running >/dev/null; then
		die "the SMTP servers of $DIR are already running; run: $0 stop $DIR"
	fi
	mkdir -p "$DIR/smtp"
	rm -f "$DIR"/smtp/*

	local name addr args pids=() names=()
	while read -r name addr args; do
		if port_busy "$addr" "$port" t; then
			die "TCP port $addr:$port is already in use (see: ss -lntp 'sport = :$port'); choose another with TB_SMTP_PORT=... at start"
		fi
	done < <(smtp_servers)
	trap 'stop_smtp' EXIT
	while read -r name addr args; do
		# shellcheck disable=SC2086 # args is a list of options without spaces
		"$TB_SMTPD" --listen "$addr:$port" --name "$name" \
			--pidfile "$DIR/smtp/$name.ready" --log "$DIR/smtp/$name.log" $args \
			</dev/null >/dev/null 2>"$DIR/smtp/$name.err" &
		printf '%s\n' "$!" >"$DIR/smtp/$name.pid"
		pids+=("$!")
		names+=("$name")
	done < <(smtp_servers)

	local deadline i left
	deadline=$(($(now_us) + READY_TIMEOUT_US))
	while :; do
		left=0
		for i in "${!pids[@]}"; do
			[[ -s $DIR/smtp/${names[i]}.ready ]] && continue
			alive "${pids[i]}" ||
				die "smtpd_test for ${names[i]} exited: $(head -c 300 "$DIR/smtp/${names[i]}.err")"
			left=1
		done
		((left)) || break
		(($(now_us) < deadline)) || die "the SMTP servers did not listen within 5 s; see $DIR/smtp/"
		sleep 0.02
	done
	trap - EXIT
	printf 'testbed: %d SMTP servers up on port %s; logs: %s\n' "${#pids[@]}" "$port" "$DIR/smtp/"
}

cmd_status() {
	[[ -n ${1:-} && -d $1 ]] || { echo "testbed: not running"; return 3; }
	DIR=$(cd "$1" && pwd -P)
	local pid
	if pid=$(running_pid); then
		printf 'testbed: running, NSD pid %s (%s)\n' "$pid" "$DIR/testbed.env"
		if pid=$(smtp_running); then
			printf 'testbed: SMTP servers running (%s)\n' "$DIR/smtp/"
		fi
		return 0
	fi
	echo "testbed: not running"
	return 3
}

main() {
	[[ $# -eq 2 ]] || usage
	case $1 in
	start) cmd_start "$2" ;;
	start-smtp) cmd_start_smtp "$2" ;;
	stop) cmd_stop "$2" ;;
	status) cmd_status "$2" ;;
	*) usage ;;
	esac
}

main "$@"
