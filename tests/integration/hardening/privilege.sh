#!/usr/bin/env bash
# privilege.sh - danemail-milter's least privilege, for real: started as
# root with user = danemail-test (a system user this test creates when it is
# missing), under strace from the first instruction.  Checks: every thread's
# real, effective, saved and file-system uid and gid are the user's, no
# supplementary group of root, no capability left; it still delivers mail
# through Postfix (soak.py: encrypted deliveries decrypted with the
# recipients' keys); it never opens (or tries to open) a private key file
# and its configuration has no parameter for one; every system call it made
# is in systemd's @system-service set; the systemd unit carries the
# hardening directives (NoNewPrivileges, ProtectSystem=strict, PrivateTmp,
# RestrictAddressFamilies, SystemCallFilter=@system-service, -u danemail)
# and passes systemd-analyze verify (a TAP skip without systemd-analyze).
#
# Needs: DANEMAIL_MILTER, the testbed.env variables (with-testbed.sh), root
# (a TAP skip otherwise); strace (the trace checks are skipped without it).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$here/../../..
unit=$top/dist/danemail-milter.service
W=$TB_DIR/priv
TUSER=danemail-test
MILTER_USER=$TUSER
# shellcheck source=tests/integration/milter/lib.sh
. "$here/../milter/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (start as root, drop to $TUSER; Postfix)"
	exit 0
fi
if ! id "$TUSER" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$TUSER" || {
		echo "Bail out! cannot create the user $TUSER"
		exit 1
	}
fi
uid=$(id -u "$TUSER")
gid=$(id -g "$TUSER")
make_workdir

cleanup() {
	local p
	p=$(cat "$W/milter.pid" 2>/dev/null)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	stop_milter_postfix
}
trap cleanup EXIT

# ---- refusals ----
write_conf
"$DANEMAIL_MILTER" -f -c "$W/milter.conf" -u root >"$W/root.out" 2>&1
rc=$?
[ "$rc" -eq 77 ] && grep -q "refusing to run as root" "$W/root.out"
ok $? "-u root is refused (exit $rc)"

# ---- the milter as root -> danemail-test, traced from its first instruction ----
write_conf "pidfile = $W/milter.pid"
traced=
command -v strace >/dev/null && traced=1
MILTER_WRAP=${traced:+strace -f -qq -s 256 -o $W/strace.out} start_milter || {
	echo "Bail out! milter did not start"
	exit 1
}
STRACE_PID=$MILTER_PID
mpid=$(cat "$W/milter.pid")
ok $? "the milter runs (pid $mpid${traced:+, traced by strace})"

status() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }
bad=
for t in /proc/"$mpid"/task/*; do
	tid=${t##*/}
	[ "$(status "$mpid/task/$tid" Uid)" = "$uid $uid $uid $uid" ] || bad="$bad uid($tid)"
	[ "$(status "$mpid/task/$tid" Gid)" = "$gid $gid $gid $gid" ] || bad="$bad gid($tid)"
done
[ -z "$bad" ]
ok $? "every thread ($(ls /proc/"$mpid"/task | wc -l)): real, effective, saved and fs uid $uid and gid $gid ($TUSER)$bad"
groups=$(status "$mpid" Groups)
[ -z "$groups" ] || [ "$groups" = "$gid" ]
ok $? "supplementary groups: only $TUSER's own ('$groups'), none of root's"
[ "$(status "$mpid" CapEff)" = 0000000000000000 ] && [ "$(status "$mpid" CapPrm)" = 0000000000000000 ]
ok $? "no capability left (CapEff $(status "$mpid" CapEff), CapPrm $(status "$mpid" CapPrm))"
[ "$(stat -c %U "$SOCK")" = "$TUSER" ]
ok $? "the socket belongs to $TUSER"

# ---- it still serves mail ----
start_postfix 2825
python3 "$here/soak.py" run --smtp "$PF_ADDR:$PF_PORT" --maildir "$PF_MAILDIR" --seed priv \
	--count 40 --conc 2 --big-every 20 --names "${TB_BENCH_NAMES:-1}" \
	--sendmail "$PF_SENDMAIL" --sendmail-every 10 --report "$W/mail.json" --settle 60 \
	--progress 10 2>&1 | diag
r() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$W/mail.json" 2>/dev/null; }
[ "$(r 'r["accepted"] + r["bogus_refused"] == r["sent"] and r["n_missing"] == 0 and r["n_failures"] == 0 and r["n_clear_against_policy"] == 0 and r["by_expect"].get("smime", 0) > 0 and r["by_expect"].get("openpgp", 0) > 0')" = True ]
ok $? "as $TUSER it delivers: $(r 'r["delivered_messages"]') of $(r 'r["sent"]') messages, $(r 'r["by_expect"]') checked (decrypted with the recipients' keys)"

# open descriptors now: no key material, nothing outside what it needs
ls -l "/proc/$mpid/fd" | awk 'NR > 1 { print $NF }' | sort -u >"$W/fds"
! grep -E '\.key$|\.sec|/pgp/|gnupg|private' "$W/fds"
ok $? "no private key among its open files ($(tr '\n' ' ' <"$W/fds" | cut -c1-200))"

# stop it (SIGTERM to the milter; strace ends with it)
kill -TERM "$mpid"
for _ in $(seq 200); do kill -0 "$STRACE_PID" 2>/dev/null || break; sleep 0.05; done
stop_milter

# ---- what it did, from the trace ----
if [ -z "$traced" ]; then
	for t in "never opened a private key file" "configuration without key parameters" \
		"setgroups(0) and setuid" "system calls within @system-service"; do
		skip "$t" "strace is not installed"
	done
else
	# every path it opened or tried to open, and every system call
	grep -oE '(open|openat|openat2|stat|newfstatat|access|faccessat2?)\([^"]*"[^"]*"' "$W/strace.out" |
		sed 's/.*"\(.*\)"$/\1/' | sort -u >"$W/paths"
	keys=$(env | sed -n 's/^TB_[A-Z_]*_\(KEY\|SEC\)=//p')
	hit=
	for k in $keys; do grep -qxF "$k" "$W/paths" && hit="$hit $k"; done
	[ -s "$W/paths" ] && [ -z "$hit" ] && ! grep -E '\.key$|_sec|gnupg|secring|private-keys' "$W/paths"
	ok $? "from start to stop it never opened a private key file ($(wc -l <"$W/paths") paths traced)$hit"
	"$DANEMAIL_MILTER" -n -c "$W/milter.conf" 2>/dev/null | cut -d' ' -f1 >"$W/params"
	! grep -Ei 'key|secret|private|passphrase|password' "$W/params"
	ok $? "its configuration has no parameter for a private key ($(wc -l <"$W/params") parameters)"
	grep -q "setuid($uid)" "$W/strace.out" && grep -q "setgroups(0, NULL)" "$W/strace.out"
	ok $? "the trace shows setgroups(0) and setuid($uid)"

	if command -v systemd-analyze >/dev/null; then
		sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p; s/^[0-9]+ +<\.\.\. ([a-z_0-9]+) resumed>.*/\1/p' \
			"$W/strace.out" | sort -u >"$W/syscalls"
		systemd-analyze syscall-filter >"$W/groups" 2>/dev/null
		python3 - "$W/groups" "$W/syscalls" <<'PY' >"$W/outside"
import sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if not line.startswith(" "):
        cur = s
        groups[cur] = []
    elif cur:
        groups[cur].append(s)
def expand(g, seen=set()):
    out = set()
    for m in groups.get(g, []):
        if m.startswith("@"):
            if m not in seen:
                out |= expand(m, seen | {m})
        else:
            out.add(m)
    return out
allowed = expand("@system-service")
used = [s.strip() for s in open(sys.argv[2]) if s.strip()]
for s in used:
    if s not in allowed:
        print(s)
PY
		[ -s "$W/syscalls" ] && [ ! -s "$W/outside" ]
		ok $? "all $(wc -l <"$W/syscalls") system calls it made are in @system-service (outside: $(tr '\n' ' ' <"$W/outside"))"
	else
		skip "system calls within @system-service" "no systemd-analyze"
	fi
fi

# ---- the systemd unit ----
want=(NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" SystemCallFilter=@system-service
	ProtectHome=yes CapabilityBoundingSet=)
miss=
for d in "${want[@]}"; do grep -q "^$d" "$unit" || miss="$miss $d"; done
[ -z "$miss" ] && grep -q "^ExecStart=.*danemail-milter.* -u danemail" "$unit"
ok $? "the unit has NoNewPrivileges, ProtectSystem=strict, PrivateTmp, RestrictAddressFamilies, SystemCallFilter=@system-service and -u danemail$miss"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$W/unit"
	sed "s|^ExecStart=/usr/sbin/danemail-milter|ExecStart=$DANEMAIL_MILTER|" "$unit" \
		>"$W/unit/danemail-milter.service"
	systemd-analyze verify --man=no "$W/unit/danemail-milter.service" >"$W/verify.out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && ! grep -qi "unknown\|invalid\|ignoring" "$W/verify.out"
	ok $? "systemd-analyze verify: clean (exit $rc)"
	diag <"$W/verify.out"
	systemd-analyze security --offline=yes "$W/unit/danemail-milter.service" >"$W/security.out" 2>&1
	grep -i "overall exposure" "$W/security.out" | diag
else
	skip "systemd-analyze verify" "no systemd-analyze"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
