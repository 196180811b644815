#!/bin/sh
# deps.sh installs what the tests need and the machine lacks. It changes
# nothing already present, so it is cheap to run before every test.
set -eu

go=${GO:-go}
cd "$(dirname "$0")/.."

apt_updated=""

# need CMD PACKAGE: install the Debian PACKAGE if the command CMD is missing.
# Without root or apt-get it only warns, and what needs CMD says so:
# scripts/netns.sh falls back to the host's network, and the browser tests
# fail (they never skip).
need() {
	if command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "deps: warning: $1 is missing and cannot be installed here (apt-get install $2)" >&2
		return 0
	fi
	if [ -z "$apt_updated" ]; then
		apt-get update
		apt_updated=1
	fi
	echo "deps: installing $2 for $1"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2"
}

need ip iproute2       # scripts/netns.sh
need unshare util-linux # scripts/netns.sh
need chromium chromium  # internal/browsertest, through scripts/chromium
need node nodejs        # the JS tests (node --test) and tsc
need npm npm

"$go" mod download

# The JS dev dependencies (playwright-core, typescript, and peer and peerjs for the benchmarks), exactly as locked;
# skipped when node_modules was installed from this very package-lock.json.
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.skywasm-lock 2>/dev/null)" != "$lock" ]; then
	npm ci --no-audit --no-fund
	echo "$lock" >node_modules/.skywasm-lock
fi
