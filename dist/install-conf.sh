#!/bin/sh
# install-conf.sh SRC DIR NAME - meson install script for a configuration file.
#
# Installs SRC as DIR/NAME (mode 0644) unless a file of that name is already
# there: an administrator's configuration is never overwritten.  A different
# existing file gets the new default beside it as NAME.dist.  Under DESTDIR
# (a staging directory, e.g. a Debian package build) it always installs: the
# package manager handles existing configuration (dpkg conffiles).
set -eu
src=$1
dir=${DESTDIR:-}$2
name=$3
mkdir -p "$dir"
if [ -n "${DESTDIR:-}" ] || [ ! -e "$dir/$name" ]; then
	install -m 0644 "$src" "$dir/$name"
	echo "Installing $src to $dir/$name"
elif cmp -s "$src" "$dir/$name"; then
	echo "Keeping $dir/$name (unchanged)"
else
	install -m 0644 "$src" "$dir/$name.dist"
	echo "Keeping $dir/$name (yours); the new default is $dir/$name.dist"
fi
