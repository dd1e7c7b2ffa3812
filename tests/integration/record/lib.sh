# lib.sh - shared by the record/verify integration scripts (sourced, bash).
# TAP helpers, a runner that keeps stdout/stderr/exit code, and makers of the
# extra certificates and keys the testbed does not publish.  Needs DANEMAIL
# and the testbed.env variables (run under with-testbed.sh).

n=0
fails=0
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

# Scratch space inside the testbed dir (removed with it).
W=$TB_DIR/rec
mkdir -p "$W"

# run CMD...: run it, keep $out, $err and $got (the exit code)
run() {
	out=$("$@" 2>"$W/stderr")
	got=$?
	err=$(cat "$W/stderr")
}
dm() { "$DANEMAIL" "$@"; }

# expect WANT DESCRIPTION CMD...: run, compare the exit code, show output on failure
expect() {
	local want=$1 what=$2
	shift 2
	run "$@"
	[ "$got" -eq "$want" ]
	ok $? "$what: exit $got, want $want"
	if [ "$got" -ne "$want" ]; then
		printf '%s\n%s\n' "$out" "$err" | cut -c 1-200 | sed 's/^/# /'
	fi
}
# same: compare two strings, show both on failure
same() { # same GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3"
	if [ "$1" != "$2" ]; then
		printf '# got:  %s\n# want: %s\n' "$(cut -c 1-160 <<<"$1")" "$(cut -c 1-160 <<<"$2")"
	fi
}
has() { # has STRING DESCRIPTION (in $out)
	grep -qF -- "$1" <<<"$out"
	ok $? "$2"
}
has_err() { # has_err STRING DESCRIPTION (in $err)
	grep -qF -- "$1" <<<"$err"
	ok $? "$2"
}
# bad WANT-MIN WANT-MAX DESCRIPTION CMD...: a refusal: exit in range, one clear
# line on stderr that is no crash (no sanitizer report, no signal), no records
bad() {
	local lo=$1 hi=$2 what=$3
	shift 3
	run "$@"
	[ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ] && [ -n "$err" ] && [ -z "$out" ] &&
		! grep -q -e 'Sanitizer' -e 'runtime error' <<<"$err"
	ok $? "$what: exit $got (want $lo..$hi): $(head -n 1 <<<"$err" | cut -c 1-150)"
}

# Field N (1-based) of the first line of $out.
field() { head -n 1 <<<"$out" | awk -v f="$1" '{ print $f }'; }

# owner_of LOCALPART KIND DOMAIN: the SMIMEA/OPENPGPKEY owner computed by
# openssl (an oracle independent of lib/dns/owner.c).
owner_of() {
	printf '%s.%s.%s.' "$(printf '%s' "$1" | openssl dgst -sha256 -r | cut -c 1-56)" "$2" "$3"
}

# mkcert NAME KEYSPEC EXT...: a self-signed certificate with these
# extensions, made with a minimal openssl config (no default extensions).
mkcert() {
	local name=$1 keyspec=$2 e args=()
	shift 2
	[ -f "$W/openssl.cnf" ] || printf '[req]\ndistinguished_name = dn\n[dn]\n' >"$W/openssl.cnf"
	for e in "$@"; do args+=(-addext "$e"); done
	case $keyspec in
	ec) set -- -newkey ec -pkeyopt ec_paramgen_curve:P-256 ;;
	*) set -- -newkey "$keyspec" ;;
	esac
	openssl req -x509 -config "$W/openssl.cnf" "$@" -nodes -sha256 -days 30 \
		-subj "/CN=$name" -keyout "$W/$name.key" -out "$W/$name.pem" \
		"${args[@]}" 2>/dev/null
}

# mkcert_expired NAME EMAIL: an EC certificate valid in 2020 only (openssl
# ca is the only openssl 3.0 tool that takes explicit dates).
mkcert_expired() {
	local name=$1 email=$2 d=$W/ca-$1
	mkdir -p "$d" && : >"$d/index" && echo 01 >"$d/serial"
	cat >"$d/ca.cnf" <<-EOF
		[ca]
		default_ca = c
		[c]
		database = $d/index
		serial = $d/serial
		new_certs_dir = $d
		default_md = sha256
		policy = p
		copy_extensions = copy
		[p]
		commonName = supplied
		[req]
		distinguished_name = dn
		[dn]
	EOF
	openssl req -new -config "$d/ca.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$W/$name.key" -out "$d/req.csr" -subj "/CN=$name" \
		-addext "subjectAltName=email:$email" -addext "keyUsage=critical,keyAgreement" \
		2>/dev/null &&
		openssl ca -batch -config "$d/ca.cnf" -selfsign -keyfile "$W/$name.key" \
			-in "$d/req.csr" -out "$W/$name.pem" -notext \
			-startdate 20200101000000Z -enddate 20210101000000Z >/dev/null 2>&1
}

# A GnuPG home of our own (short path: agent sockets must fit in 107 bytes).
mkgnupg() {
	G=$W/g
	mkdir -m 700 "$G"
}
gpgq() { # gpg in $G; its chatter on stderr is not TAP
	gpg --homedir "$G" --batch --no-tty --quiet --pinentry-mode loopback "$@" 2>/dev/null
}
stop_gnupg() {
	[ -n "${G:-}" ] && gpgconf --homedir "$G" --kill all >/dev/null 2>&1
	return 0
}
# an agent started for $G must not outlive the script, however it ends
trap stop_gnupg EXIT

# packets FILE: the packet list of an OpenPGP file, framing left out (legacy
# and OpenPGP-format headers carry the same packets, RFC 9580 section 4.2).
packets() {
	gpg --list-packets --batch --no-tty "$1" 2>/dev/null |
		sed -E 's/off=[0-9]+ //; s/ctb=[0-9a-f]+ //; s/hlen=[0-9]+ //; s/ new-ctb//'
}

finish() {
	stop_gnupg
	echo "1..$n"
	[ "$fails" -eq 0 ]
}
