#!/bin/sh
# post-install.sh SYSUSERS-FILE TMPFILES-FILE - meson install script.
#
# On a direct install onto the running system (no DESTDIR, as root) create
# the danemail user and /run/danemail from the installed sysusers.d and
# tmpfiles.d entries, as the Debian package's postinst does.  Staged installs
# (DESTDIR set, e.g. a package build) and installs by other users change
# nothing outside the install tree.  An empty argument skips that step.
set -eu
[ -z "${DESTDIR:-}" ] || exit 0
[ "$(id -u)" = 0 ] || exit 0
sysusers=$1
tmpfiles=$2
if [ -n "$sysusers" ] && ! getent passwd danemail >/dev/null; then
	if command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$sysusers"
	elif command -v adduser >/dev/null; then
		adduser --system --group --home /nonexistent --no-create-home \
			--shell /usr/sbin/nologin danemail
	else
		echo "post-install: create the system user danemail (home /nonexistent, no shell)" >&2
	fi
fi
if [ -n "$tmpfiles" ] && command -v systemd-tmpfiles >/dev/null; then
	systemd-tmpfiles --create "$tmpfiles" || true
fi
