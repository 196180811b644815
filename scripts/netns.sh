#!/bin/sh
# netns.sh CMD [ARG...] runs CMD in a new network namespace where only the
# loopback interface exists and is up, so that tests can neither reach the
# network nor be reached from it, and WebRTC can only find 127.0.0.1.
#
# That takes root, unshare (util-linux) and ip (iproute2). Without them it
# warns and runs CMD with the host's network.
set -eu

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARG...]" >&2
	exit 2
fi

if [ "$(id -u)" = 0 ] &&
	command -v unshare >/dev/null 2>&1 &&
	command -v ip >/dev/null 2>&1 &&
	unshare -n true 2>/dev/null; then
	# The arguments travel as "$@" of the inner shell, never through its
	# command string, so they need no quoting.
	exec unshare -n sh -c 'ip link set lo up && exec "$@"' netns.sh "$@"
fi

echo "netns.sh: warning: cannot make a loopback-only network namespace (needs root, unshare and ip);" \
	"running with the host network: $*" >&2
exec "$@"
