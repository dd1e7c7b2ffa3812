#!/usr/bin/env bash
# scripts/test-package.sh - the Debian packages, built, installed and used.
#
# Builds danemail-milter and danemail-tools with dpkg-buildpackage from a
# copy of the source tree (the tree itself is left alone), checks them with
# lintian, installs them, checks files, owners, modes and the system user,
# runs the INSTALLED milter the way its systemd unit does (ExecStart from the
# installed unit: as root, dropping to the user danemail) on the socket of
# the shipped configuration, puts a real Postfix (tests/testbed/postfix.sh)
# in front of it and the NSD testbed (tests/testbed/testbed.sh) behind it,
# sends one message to bob@secure.test that must arrive S/MIME-encrypted and
# decrypt with bob's key, then purges both packages and checks that nothing
# is left: files, /etc/danemail, /run/danemail, the user and group.
#
#   scripts/test-package.sh [-o TAPFILE]
#
# Run as root on Debian 12 (CI runs it after the suites of scripts/test.sh).
# Prints TAP ("ok N - ...", a last line "1..N"); -o also writes it to
# TAPFILE.  Exit 0 when every case passes.  Whatever happens, everything it
# started is stopped and the packages are purged (trap).  TEST_PACKAGE_KEEP=1
# keeps the work directory.  About 45 s on 2 cores (the build: 10-20 s).
#
# It changes the machine: installs and purges the two packages, creates and
# removes the user danemail, and adds postfix to the group danemail (the
# documented setup; the purge takes that away again).  It refuses to run
# when the packages or a user danemail are there already.
set -uo pipefail
shopt -u patsub_replacement 2>/dev/null || true

cd "$(dirname "$0")/.." || exit 1
root=$(pwd -P)
tapfile=
while getopts o: opt; do
	case $opt in
	o) tapfile=$OPTARG ;;
	*)
		echo "usage: $0 [-o TAPFILE]" >&2
		exit 64
		;;
	esac
done
if [ -n "$tapfile" ]; then
	mkdir -p "$(dirname "$tapfile")"
	: >"$tapfile"
fi

n=0
fails=0
say() { # a TAP line, on stdout and in the TAP file
	echo "$1"
	[ -z "$tapfile" ] || echo "$1" >>"$tapfile"
}
ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then say "ok $n - $2"; else
		say "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
skip() { # skip DESCRIPTION REASON
	n=$((n + 1))
	say "ok $n - $1 # SKIP $2"
}
diag() { sed 's/^/# /'; }
bail() {
	say "Bail out! $*"
	exit 1
}

PKGS=(danemail-milter danemail-tools)
installed() { # installed PKG: dpkg knows it in any state but not-installed
	local s
	s=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "$s" != not-installed ]
}

[ "$(id -u)" = 0 ] || bail "run as root (installs packages, creates a user)"
for tool in dpkg-buildpackage dh lintian swaks openssl; do
	command -v "$tool" >/dev/null ||
		bail "$tool missing: install dpkg-dev debhelper lintian (scripts/deps.sh)"
done
for p in "${PKGS[@]}"; do
	! installed "$p" || bail "$p is installed: purge it first (apt-get purge ${PKGS[*]})"
done
! getent passwd danemail >/dev/null || bail "a user danemail exists already"
! getent group danemail >/dev/null || bail "a group danemail exists already"

W=$(mktemp -d /tmp/danemail-pkg.XXXXXX) # short: Postfix limits socket paths
chmod 755 "$W"
TB=$W/tb
PF=$W/pf
MILTER_PID=
cleanup() {
	if [ -n "$MILTER_PID" ]; then
		kill -TERM "$MILTER_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$MILTER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MILTER_PID" 2>/dev/null
		wait "$MILTER_PID" 2>/dev/null
	fi
	"$root/tests/testbed/postfix.sh" stop "$PF" >/dev/null 2>&1
	"$root/tests/testbed/testbed.sh" stop "$TB" >/dev/null 2>&1
	for p in "${PKGS[@]}"; do
		if installed "$p"; then
			DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" >>"$W/cleanup.log" 2>&1
			break
		fi
	done
	if [ -n "${TEST_PACKAGE_KEEP:-}" ]; then
		echo "# work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1. build (from a copy: dpkg-buildpackage writes into the tree and its parent) ----
SRC=$W/build/danemail
mkdir -p "$SRC"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and new files as they are in the working tree, no build output
	(cd "$root" && git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -f "$f" ] || [ -L "$f" ] || continue
			case $f in obj-* | debian/.debhelper/* | debian/tmp/* | debian/danemail-*/* | \
				debian/files | debian/*.substvars | debian/*.debhelper.log | \
				debian/debhelper-build-stamp) continue ;;
			esac
			printf '%s\0' "$f"
		done | tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
	tar -C "$root" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$SRC"
fi
t0=$(date +%s)
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" \
	dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1)
rc=$?
debs=("$W"/build/danemail-milter_*.deb)
MILTER_DEB=${debs[0]}
debs=("$W"/build/danemail-tools_*.deb)
TOOLS_DEB=${debs[0]}
[ "$rc" -eq 0 ] && [ -f "$MILTER_DEB" ] && [ -f "$TOOLS_DEB" ]
ok $? "dpkg-buildpackage -us -uc -b builds danemail-milter and danemail-tools ($(($(date +%s) - t0)) s)"
if [ "$rc" -ne 0 ] || [ ! -f "$MILTER_DEB" ] || [ ! -f "$TOOLS_DEB" ]; then
	tail -n 30 "$W/build.log" | diag
	bail "no packages to test"
fi
if grep -E "^(dpkg-[a-z]+|dh_[a-z_]+|[a-z]+): warning" "$W/build.log" >"$W/build.warn"; then
	diag <"$W/build.warn"
fi

lintian --fail-on error -I --tag-display-limit 0 "$W"/build/*.changes >"$W/lintian.log" 2>&1
rc=$?
grep -E "^[EWIP]: " "$W/lintian.log" | diag
ok $rc "lintian: no errors ($(grep -c '^W: ' "$W/lintian.log") warnings)"

# ---- 2. install ----
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"$MILTER_DEB" "$TOOLS_DEB" >"$W/install.log" 2>&1
rc=$?
ok $rc "apt-get install ./danemail-milter_*.deb ./danemail-tools_*.deb"
[ "$rc" -eq 0 ] || {
	tail -n 20 "$W/install.log" | diag
	bail "packages did not install"
}
dpkg -L "${PKGS[@]}" | sort -u >"$W/files"

# mode owner group path
expect_files() {
	cat <<'EOF'
755 root root /usr/bin/danemail
755 root root /usr/sbin/danemail-milter
644 root root /usr/share/man/man1/danemail.1.gz
644 root root /usr/share/man/man5/danemail-milter.conf.5.gz
644 root root /usr/share/man/man8/danemail-milter.8.gz
644 root root /etc/danemail/milter.conf
644 root root /lib/systemd/system/danemail-milter.service
644 root root /usr/lib/sysusers.d/danemail-milter.conf
644 root root /usr/lib/tmpfiles.d/danemail-milter.conf
644 root root /usr/share/doc/danemail-milter/postfix-main.cf.snippet
644 root root /usr/share/doc/danemail-milter/sendmail.mc.snippet
644 root root /usr/share/doc/danemail-milter/README.Debian
644 root root /usr/share/doc/danemail-milter/copyright
644 root root /usr/share/doc/danemail-tools/copyright
EOF
}
bad=$(expect_files | while read -r mode owner group path; do
	got=$(stat -c '%a %U %G' "$path" 2>/dev/null || echo missing)
	[ "$got" = "$mode $owner $group" ] || echo "$path: got $got, want $mode $owner $group"
done)
[ -z "$bad" ]
ok $? "binaries, man pages, configuration, unit, sysusers/tmpfiles entries, docs: modes and owners"
[ -n "$bad" ] && diag <<<"$bad"

dpkg-query -W -f='${Conffiles}\n' danemail-milter | grep -q "^ /etc/danemail/milter.conf "
ok $? "/etc/danemail/milter.conf is a conffile"
cmp -s /etc/danemail/milter.conf "$root/dist/milter.conf"
ok $? "/etc/danemail/milter.conf is dist/milter.conf"

# the unit runs what the package installed
UNIT=/lib/systemd/system/danemail-milter.service
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
read -r -a exec_argv <<<"$exec_start"
conf_arg=
for ((i = 0; i < ${#exec_argv[@]} - 1; i++)); do
	[ "${exec_argv[$i]}" = -c ] && conf_arg=${exec_argv[$((i + 1))]}
done
[ -x "${exec_argv[0]}" ] && grep -qx "${exec_argv[0]}" "$W/files" &&
	[ "$conf_arg" = /etc/danemail/milter.conf ] && grep -q -- " -u danemail " <<<"$exec_start "
ok $? "unit ExecStart runs the installed binary with -u danemail -c /etc/danemail/milter.conf"
if command -v systemd-analyze >/dev/null; then
	timeout 30 systemd-analyze verify "$UNIT" >"$W/verify.log" 2>&1 && [ ! -s "$W/verify.log" ]
	ok $? "systemd-analyze verify: the installed unit is clean"
	diag <"$W/verify.log"
else
	skip "systemd-analyze verify the installed unit" "systemd not installed"
fi
[ ! -e /etc/systemd/system/multi-user.target.wants/danemail-milter.service ] &&
	! pgrep -f "^/usr/sbin/danemail-milter" >/dev/null
ok $? "the service is neither enabled nor started"

# the user, as the sysusers.d entry describes it
IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd danemail)"
[ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] &&
	[ "$shell" = /usr/sbin/nologin ] && [ ! -e /nonexistent ] &&
	[ "$(getent group danemail | cut -d: -f3)" = "$gid" ]
ok $? "system user danemail (uid ${uid:-none}), group danemail, home /nonexistent, no shell"
grep -q '^u danemail - ".*" /nonexistent /usr/sbin/nologin$' /usr/lib/sysusers.d/danemail-milter.conf
ok $? "the sysusers.d entry describes the same user"

# /run/danemail: made by the postinst (systemd-tmpfiles) as the tmpfiles.d entry says
if command -v systemd-tmpfiles >/dev/null; then
	[ "$(stat -c '%a %U %G' /run/danemail 2>/dev/null)" = "750 danemail danemail" ]
	ok $? "postinst created /run/danemail 0750 danemail:danemail (tmpfiles.d)"
else
	skip "postinst created /run/danemail (tmpfiles.d)" "systemd-tmpfiles not installed"
	install -d -o danemail -g danemail -m 0750 /run/danemail # as at boot
fi

danemail --version >"$W/v" 2>&1 && danemail-milter -V >>"$W/v" 2>&1 &&
	[ "$(grep -c " $(dpkg-query -W -f='${Version}' danemail-tools)\$" "$W/v")" -eq 2 ]
ok $? "installed danemail and danemail-milter report the package version"
danemail-milter -n >"$W/check.out" 2>&1
rc=$?
ok $rc "danemail-milter -n accepts the shipped configuration (its default path)"
[ "$rc" -eq 0 ] || diag <"$W/check.out"

# ---- 3. the installed milter behind a real Postfix, the testbed behind it ----
port_free() { # UDP and TCP
	! ss -Hlnu "sport = :$1" | grep -q . && ! ss -Hlnt "sport = :$1" | grep -q .
}
for p in $(seq 53737 2 53935); do
	if port_free "$p" && port_free "$((p + 1))"; then
		export TB_PORT=$p TB_DOWN_PORT=$((p + 1))
		break
	fi
done
[ -n "${TB_PORT:-}" ] || bail "no free port for the testbed"
if ! "$root/tests/testbed/testbed.sh" start "$TB" >"$W/tb.log" 2>&1; then
	diag <"$W/tb.log"
	bail "testbed did not start"
fi
# shellcheck disable=SC1091
. "$TB/testbed.env"

# the shipped configuration, resolving through the testbed only
{
	cat /etc/danemail/milter.conf
	echo
	echo "# test-package.sh: the loopback DNSSEC testbed instead of the root"
	echo "unbound_conf = $TB_UNBOUND_CONF"
} >"$W/milter.conf"
chmod 644 "$W/milter.conf"
SOCK=$(sed -n 's/^socket *= *unix://p' /etc/danemail/milter.conf)
[ "$SOCK" = /run/danemail/milter.sock ] || bail "shipped socket is not unix:/run/danemail/milter.sock"

# ExecStart of the installed unit, its -c pointed at the test configuration
argv=("${exec_argv[@]}")
for ((i = 0; i < ${#argv[@]}; i++)); do
	[ "${argv[$i]}" = "$conf_arg" ] && argv[i]=$W/milter.conf
done
"${argv[@]}" >"$W/milter.log" 2>&1 &
MILTER_PID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && grep -q "started on" "$W/milter.log" && break
	sleep 0.05
done
grep -q "started on unix:$SOCK" "$W/milter.log"
ok $? "the milter starts as its unit starts it (ExecStart, -c the test configuration)"
[ "$(ps -o uid= -p "$MILTER_PID" 2>/dev/null | tr -d ' ')" = "$(id -u danemail)" ]
ok $? "it runs as user danemail"
[ "$(stat -c '%a %U %G' "$SOCK" 2>/dev/null)" = "660 danemail danemail" ]
ok $? "socket $SOCK: 0660 danemail:danemail"

# the documented step: Postfix joins the group danemail (before it starts:
# its daemons take their groups at start)
adduser --quiet postfix danemail
id -nG postfix | grep -qw danemail
ok $? "adduser postfix danemail"

pf_port=2625
while ss -Hlnt "sport = :$pf_port" | grep -q .; do pf_port=$((pf_port + 1)); done
# milter_macro_daemon_name = ORIGINATING: this Postfix is a submission
# service, so the shipped "mode = outbound" encrypts (postfix-main.cf.snippet)
if ! PF_PORT=$pf_port PF_MILTER="unix:$SOCK" \
	PF_MAIN_EXTRA="milter_macro_daemon_name = ORIGINATING" \
	"$root/tests/testbed/postfix.sh" start "$PF" >"$W/pf.log" 2>&1; then
	diag <"$W/pf.log"
	bail "postfix did not start"
fi
# shellcheck disable=SC1091
. "$PF/postfix.env"

printf 'From: Alice <a@example.test>\r\nTo: bob@secure.test\r\nSubject: package test\r\nMIME-Version: 1.0\r\nX-Test-Id: pkg1\r\n' >"$W/msg.eml"
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\nfrom the installed package.\r\n' >"$W/entity"
cat "$W/entity" >>"$W/msg.eml"
head -c -2 "$W/msg.eml" >"$W/msg.data" # swaks adds the final CRLF
# shellcheck disable=SC2153 # PF_PORT: from postfix.env
swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.test --to bob@secure.test \
	--data "@$W/msg.data" --timeout 60 >"$W/swaks.log" 2>&1
grep -q "^<[-~] *250 .*queued as" "$W/swaks.log"
ok $? "Postfix accepts a message to bob@secure.test through the milter"
found=
for _ in $(seq 100); do
	found=$(grep -l "^X-Test-Id: pkg1" "$PF_MAILDIR"/new/* 2>/dev/null | head -n 1)
	[ -n "$found" ] && break
	sleep 0.1
done
[ -n "$found" ] &&
	grep -qi "^Content-Type: application/pkcs7-mime; smime-type=enveloped-data" "$found" &&
	grep -q "^X-DANE-Encrypted: smime; recipients=1" "$found"
ok $? "it arrives as application/pkcs7-mime (X-DANE-Encrypted: smime)"
[ -z "$found" ] && { grep "<\*\*\|milter" "$W/swaks.log" "$PF_LOG" | tail -n 5 | diag; }
openssl cms -decrypt -in "${found:-/nonexistent}" -inkey "$TB_BOB_RSA_KEY" \
	-recip "$TB_BOB_RSA_CERT" -out "$W/plain" 2>"$W/decrypt.err" && cmp -s "$W/plain" "$W/entity"
ok $? "openssl cms -decrypt with bob's key gives back the original entity"
grep -q "action=encrypt(smime)" "$W/milter.log"
ok $? "the milter logs action=encrypt(smime)"

"$root/tests/testbed/postfix.sh" stop "$PF" >/dev/null 2>&1
kill -TERM "$MILTER_PID"
for _ in $(seq 200); do # libmilter's listener takes up to ~4 s to notice
	kill -0 "$MILTER_PID" 2>/dev/null || break
	sleep 0.05
done
wait "$MILTER_PID" 2>/dev/null
rc=$?
MILTER_PID=
[ "$rc" -eq 0 ] && grep -q "stopped" "$W/milter.log"
ok $? "SIGTERM stops the milter cleanly (exit $rc)"
"$root/tests/testbed/testbed.sh" stop "$TB" >/dev/null 2>&1

# ---- 4. purge: nothing left ----
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" >"$W/purge.log" 2>&1
rc=$?
ok $rc "apt-get purge danemail-milter danemail-tools"
[ "$rc" -eq 0 ] || tail -n 20 "$W/purge.log" | diag
left=""
for p in "${PKGS[@]}"; do installed "$p" && left="$left $p(dpkg)"; done
while read -r f; do
	[ -d "$f" ] && continue # shared directories (/usr/bin, ...)
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$W/files"
for d in /etc/danemail /run/danemail /usr/share/doc/danemail-milter /usr/share/doc/danemail-tools; do
	[ -e "$d" ] && left="$left $d"
done
[ -z "$left" ]
ok $? "no file, no /etc/danemail, no /run/danemail left, dpkg forgot both packages"
[ -n "$left" ] && echo "left:$left" | diag
! getent passwd danemail >/dev/null && ! getent group danemail >/dev/null &&
	! id -nG postfix | grep -qw danemail
ok $? "user and group danemail removed (and postfix's membership)"

say "1..$n"
[ "$fails" -eq 0 ]
