#!/usr/bin/env bash
# formats.sh - what `danemail record` writes is loaded by the tools that
# will load it: the zone and RFC 3597 forms by nsd-checkzone and
# ldns-read-zone (both forms must parse to the same records), the nsupdate
# script by nsupdate (run with 'show' in place of 'send': nothing is sent).
# And cross-checks against hash-slinger (tlsa, openpgpkey) and gpg
# (export-dane), noting where they differ from us and why.  Prints TAP.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

recs() { # recs ARGS...: the records of bob's certificate and key and the mail server
	dm record smimea --cert "$TB_BOB_RSA_CERT" "$@" &&
		dm record openpgpkey --key "$TB_BOB_PGP_PUB" "$@" &&
		dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test "$@"
}
zone() { # zone FILE: a minimal secure.test zone around stdin
	{
		printf '$ORIGIN secure.test.\n$TTL 3600\n'
		printf '@ IN SOA ns.secure.test. hostmaster.secure.test. 1 3600 600 86400 300\n'
		printf '@ IN NS ns.secure.test.\nns IN A 127.0.0.1\n'
		cat
	} >"$1"
}
# canon FILE: the zone as ldns reads it, one record a line, sorted
canon() { ldns-read-zone -z "$1" 2>&1 | grep -v -e SOA -e '	NS	' -e '	A	' | sort; }

# --- zone files: nsd-checkzone and ldns-read-zone ---
recs >"$W/mnemonic.txt"
same "$(wc -l <"$W/mnemonic.txt")" 3 "three records (SMIMEA, OPENPGPKEY, TLSA)"
recs --format generic >"$W/generic.txt"
grep -c -e ' IN TYPE53 \\# ' -e ' IN TYPE61 \\# ' -e ' IN TYPE52 \\# ' "$W/generic.txt" | grep -qx 3
ok $? "generic: TYPE53, TYPE61, TYPE52 lines"
zone "$W/mnemonic.zone" <"$W/mnemonic.txt"
zone "$W/generic.zone" <"$W/generic.txt"
for f in mnemonic generic; do
	run nsd-checkzone secure.test "$W/$f.zone"
	[ "$got" -eq 0 ] && grep -q "is ok" <<<"$out"
	ok $? "nsd-checkzone accepts the $f form: $(head -n 1 <<<"$out$err")"
	run ldns-read-zone "$W/$f.zone"
	[ "$got" -eq 0 ]
	ok $? "ldns-read-zone accepts the $f form"
done
canon "$W/mnemonic.zone" >"$W/mnemonic.canon"
canon "$W/generic.zone" >"$W/generic.canon"
same "$(wc -l <"$W/generic.canon")" 3 "ldns reads three records"
cmp -s "$W/mnemonic.canon" "$W/generic.canon"
ok $? "ldns reads the generic and the mnemonic form as the same records"
grep -qi "$TB_BOB_SMIMEA_OWNER.	3600	IN	SMIMEA	3 0 0 $TB_BOB_SMIMEA_HEX" "$W/generic.canon"
ok $? "ldns: the generic SMIMEA line is bob's record as served"
grep -qi "$TB_MAIL_TLSA_OWNER.	3600	IN	TLSA	3 1 1 $TB_MAIL_TLSA_HEX" "$W/generic.canon"
ok $? "ldns: the generic TLSA line is the record as served"
recs --origin secure.test >"$W/relative.txt"
! grep -q 'secure\.test' "$W/relative.txt"
ok $? "--origin: no absolute owner left"
zone "$W/relative.zone" <"$W/relative.txt"
canon "$W/relative.zone" >"$W/relative.canon"
cmp -s "$W/mnemonic.canon" "$W/relative.canon"
ok $? "--origin: relative owners load as the same records"
# Negative controls: the checks above can fail.  Each tool is lax somewhere
# (measured with NSD 4.6 and ldns 1.8): nsd-checkzone does not compare the
# \# length with the data, ldns-read-zone takes odd-length hex in SMIMEA
# presentation form.  Between them, length and hex are both checked.
sed '0,/\\# \([0-9]*\) 03/s//\\# 1\1 03/' "$W/generic.txt" | zone "$W/badlen.zone"
ldns-read-zone "$W/badlen.zone" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "control: ldns-read-zone refuses a generic line whose length is wrong"
sed '0,/\\# \([0-9]*\) 0300/s//\\# \1 030/' "$W/generic.txt" | zone "$W/odd.zone"
nsd-checkzone secure.test "$W/odd.zone" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "control: nsd-checkzone refuses generic hex of odd length"

# --- nsupdate: the script parses; 'show' instead of 'send' sends nothing ---
run recs --format nsupdate --server "127.0.0.1@$TB_DOWN_PORT" --zone secure.test
same "$(head -n 2 <<<"$out" | tr '\n' '|')" "server 127.0.0.1 $TB_DOWN_PORT|zone secure.test|" "nsupdate: server and zone lines first"
same "$(grep -c '^update add ' <<<"$out") $(grep -c '^send$' <<<"$out")" "3 3" "nsupdate: update add lines, each run ends with send"
same "$(grep '^update add' <<<"$out" | head -n 1 | cut -d ' ' -f 3-6)" "$TB_BOB_SMIMEA_OWNER. 3600 SMIMEA 3" "nsupdate: 'update add OWNER TTL TYPE RDATA'"
sed 's/^send$/show/' <<<"$out" >"$W/update.txt"
run timeout 10 nsupdate "$W/update.txt"
[ "$got" -eq 0 ] && grep -q "UPDATE SECTION" <<<"$out"
ok $? "nsupdate parses the script: exit $got"
# nsupdate_rdata OWNER TYPE: the RDATA nsupdate shows for it, white space removed
# ('show' repeats the message so far: the first one will do)
nsupdate_rdata() {
	awk -v o="$1." -v t="$2" '$1 == o && $4 == t { $1 = $2 = $3 = $4 = ""; print; exit }' <<<"$out" | tr -d ' \t'
}
same "$(nsupdate_rdata "$TB_BOB_SMIMEA_OWNER" SMIMEA)" "300${TB_BOB_SMIMEA_HEX^^}" "nsupdate: the SMIMEA record it would send is bob's"
same "$(nsupdate_rdata "$TB_MAIL_TLSA_OWNER" TLSA)" "311${TB_MAIL_TLSA_HEX^^}" "nsupdate: the TLSA record it would send"
grep -q "^$TB_BOB_OPENPGPKEY_OWNER\.[[:space:]]*3600[[:space:]]*IN[[:space:]]*OPENPGPKEY" <<<"$out"
ok $? "nsupdate: the OPENPGPKEY record it would send"
run dm record smimea --cert "$TB_BOB_RSA_CERT" --format nsupdate
same "$(wc -l <<<"$out") $(head -c 11 <<<"$out")" "2 update add " "nsupdate without --server/--zone: no server or zone line"
sed 's/ SMIMEA 3 0 0 / SMIMEA 3 0 0 zz/; s/^send$/show/' <<<"$out" >"$W/bad-update.txt"
timeout 10 nsupdate "$W/bad-update.txt" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "control: nsupdate refuses a broken update line"
bad 64 64 "--server with a space (script injection)" dm record smimea --cert "$TB_BOB_RSA_CERT" --format nsupdate --server "1.2.3.4
send"
bad 64 64 "--zone without nsupdate" dm record smimea --cert "$TB_BOB_RSA_CERT" --zone secure.test

# --- hash-slinger tlsa: the same owner and RDATA ---
hs_tlsa() { # hs_tlsa U S M OUTPUT: hash-slinger's record line
	tlsa --create --certificate "$TB_MAIL_SECURE_CERT" --port 25 --usage "$1" --selector "$2" \
		--mtype "$3" --output "$4" mail.secure.test 2>/dev/null | grep '^_25\._tcp'
}
for p in "3 1 1" "3 0 1" "3 1 2" "2 0 1" "3 0 0"; do
	set -- $p
	hs=$(hs_tlsa "$1" "$2" "$3" rfc)
	run dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --usage "$1" --selector "$2" --match "$3"
	# hash-slinger writes no TTL: compare owner and RDATA
	same "$(awk '{print $1, $3, $4, $5, $6, $7, tolower($8)}' <<<"$out")" "$(awk '{print $1, $2, $3, $4, $5, $6, tolower($7)}' <<<"$hs")" \
		"hash-slinger tlsa $p: same owner and RDATA"
done
hs=$(hs_tlsa 3 1 1 generic)
run dm record tlsa --cert "$TB_MAIL_SECURE_CERT" --host mail.secure.test --format generic
same "$(awk '{print $1, $4, $5, $6, $7}' <<<"$out")" "$(awk '{print $1, $3, $4, $5, $6}' <<<"$hs")" "hash-slinger tlsa generic: same TYPE52 line"
# (hash-slinger 3.x cannot read a DER --certificate; we can, tlsa.sh checks it)

# --- gpg --export-options export-dane, hash-slinger openpgpkey ---
# Both take the key from a GnuPG home.  They write the key as gpg exports it:
# legacy packet headers; librnp (and so danemail) writes OpenPGP-format
# headers, as RFC 9580 section 4.2 asks of new data.  Same packets, so the
# comparison is of packets; the owner must be identical.
export GNUPGHOME=$TB_GNUPGHOME
gpg --batch --no-tty --export-options export-dane --export '<bob@secure.test>' 2>/dev/null >"$W/dane.txt"
g_label=$(awk '$2 == "TYPE61" { print $1 }' "$W/dane.txt")
g_origin=$(awk '$1 == "$ORIGIN" { print $2 }' "$W/dane.txt")
sed -n '/TYPE61/,/)/p' "$W/dane.txt" | sed '1d;$d' | tr -d ' \t\n' | xxd -r -p >"$W/gpg-dane.bin"
run dm record openpgpkey --key "$TB_BOB_PGP_PUB"
same "$(field 1)" "$g_label.$g_origin" "gpg export-dane: same owner"
base64 -d <<<"$(field 5)" >"$W/ours.bin"
grep -q ':public sub key packet:' <(packets "$W/gpg-dane.bin")
ok $? "oracle: the key of gpg's export-dane is readable"
same "$(packets "$W/ours.bin")" "$(packets "$W/gpg-dane.bin")" "gpg export-dane: same packets (framing aside)"
hs=$(openpgpkey --create bob@secure.test 2>/dev/null | grep '_openpgpkey')
same "$(awk '{print $1, $3}' <<<"$hs")" "$TB_BOB_OPENPGPKEY_OWNER. OPENPGPKEY" "hash-slinger openpgpkey: same owner"
base64 -d <<<"$(awk '{print $4}' <<<"$hs")" >"$W/hs.bin"
same "$(packets "$W/ours.bin")" "$(packets "$W/hs.bin")" "hash-slinger openpgpkey: same packets (framing aside)"
# (hash-slinger's --output generic crashes under Python 3 on Debian 12:
# asctohex() calls ord() on bytes; not compared.)
unset GNUPGHOME

# --- case of the local part: gpg and hash-slinger lower-case it, we do not ---
mkgnupg
gpgq --passphrase '' --quick-gen-key 'Dave <Dave@secure.test>' future-default default 1y
gpgq --export '<Dave@secure.test>' >"$W/dave.pub"
gd=$(gpg --homedir "$G" --batch --no-tty --export-options export-dane --export '<Dave@secure.test>' 2>/dev/null |
	awk '$1 == "$ORIGIN" { o = $2 } $2 == "TYPE61" { print $1 "." o }')
hsd=$(GNUPGHOME=$G openpgpkey --create Dave@secure.test 2>/dev/null | awk '/_openpgpkey/ { print $1 }')
same "$gd" "$(owner_of dave _openpgpkey secure.test)" "gpg export-dane hashes 'Dave' lower-cased"
same "$hsd" "$gd" "hash-slinger openpgpkey hashes 'Dave' lower-cased too"
run dm record openpgpkey --key "$W/dave.pub"
same "$(field 1)" "$(owner_of Dave _openpgpkey secure.test)" "danemail --case exact: 'Dave' as written (differs from gpg)"
run dm record openpgpkey --key "$W/dave.pub" --case lower
same "$(field 1)" "$gd" "danemail --case lower: the owner gpg and hash-slinger write"
run dm record smimea --cert "$TB_BOB_RSA_CERT" --email Bob@secure.test
[ "$(field 1)" != "$TB_BOB_SMIMEA_OWNER." ]
ok $? "SMIMEA Bob@, --case exact: not the lower-case owner"
run dm record smimea --cert "$TB_BOB_RSA_CERT" --email Bob@secure.test --case lower
same "$(field 1)" "$TB_BOB_SMIMEA_OWNER." "SMIMEA Bob@, --case lower: the lower-case owner"

finish
