#!/bin/sh
# bench.sh runs every benchmark of `make bench` (which builds bin/skywasm,
# bin/skywasm-bench, js/sdk.wasm and the npm dependencies first) in a
# loopback-only network namespace, one after the other so that none
# disturbs another, then renders their sections into docs/benchmarks.md and
# prints it.
#
# Environment:
#   BENCH_OUT      write the section files (JSON) to this directory
#                  instead of docs/bench/, where they are kept beside the
#                  charts the report draws from them
#   BENCH_MACHINE  a description of the machine for the report's header
#   BENCH_SMOKE    if set, every benchmark makes its few-second smoke run:
#                  a check that the whole chain works, not figures to keep
#
# A benchmark that fails does not stop the others; the report then lists
# its section as missing, and bench.sh exits non-zero.
set -u

cd "$(dirname "$0")/.." || exit 1

# LiveKit, for the SFU comparison, is built once, before the namespace
# cuts the module proxy off (about 2 minutes on 2 cores). v1.13.5: later
# v1.13.x need LiveKit's pion forks, which the proxy does not serve.
if [ -z "${BENCH_IN_NETNS:-}" ] && [ ! -x bin/livekit/server ]; then
	echo "bench.sh: building LiveKit v1.13.5 into bin/livekit" >&2
	GOBIN=$PWD/bin/livekit go install github.com/livekit/livekit-server/cmd/server@v1.13.5 ||
		echo "bench.sh: LiveKit could not be built: the SFU comparison will be missing" >&2
fi

# Everything below talks to 127.0.0.1 only: make sure nothing else exists.
if [ -z "${BENCH_IN_NETNS:-}" ]; then
	BENCH_IN_NETNS=1
	export BENCH_IN_NETNS
	exec scripts/netns.sh "$0" "$@"
fi

out=${BENCH_OUT:-docs/bench}
mkdir -p "$out" || exit 1

smoke=
if [ -n "${BENCH_SMOKE:-}" ]; then
	smoke=-smoke
fi

failed=
began=$(date +%s)

# The steps and their usual wall time in seconds on 2 cores (the run of
# docs/benchmarks.md), for the time-left estimate; a smoke run takes a
# fraction of it.
steps="signaling:250 browser:160 sfu:110 sfu-livekit:300 sizes-build:40 sizes:45 report:5"
total=$(echo "$steps" | wc -w)
step=0

# left NAME: the usual seconds of the steps from NAME on.
left() {
	sum=0 on=
	for s in $steps; do
		[ "${s%%:*}" = "$1" ] && on=1
		[ -n "$on" ] && sum=$((sum + ${s#*:}))
	done
	echo "$sum"
}

# run NAME CMD... runs one benchmark and records whether it failed.
run() {
	name=$1
	shift
	step=$((step + 1))
	if [ -n "$smoke" ]; then
		echo "bench.sh: step $step/$total: $name (smoke run), $(($(date +%s) - began)) s in: $*" >&2
	else
		echo "bench.sh: step $step/$total: $name, $(($(date +%s) - began)) s in, usually about $(($(left "$name") / 60 + 1)) min left: $*" >&2
	fi
	start=$(date +%s)
	if "$@"; then
		echo "bench.sh: $name done in $(($(date +%s) - start)) s" >&2
	else
		echo "bench.sh: $name FAILED after $(($(date +%s) - start)) s" >&2
		failed="$failed $name"
	fi
}

run signaling bin/skywasm-bench signaling $smoke -json "$out/signaling.json" -cluster-json "$out/cluster.json"
run browser node bench/browser/browser.mjs ${smoke:+-$smoke} --json "$out/browser.json"
run sfu bin/skywasm-bench sfu $smoke -json "$out/sfu.json"
run sfu-livekit bin/skywasm-bench sfu $smoke -livekit bin/livekit/server -json "$out/sfu-livekit.json"
# The size per package reads the function names of an unstripped build of the same program.
# It is 8 MB of build output: it goes to a scratch directory, not beside the kept JSON.
names=$(mktemp -d) || exit 1
trap 'rm -rf "$names"' EXIT
# The same gcflags as make wasm: they change the code (make bench exports them).
run sizes-build env GOOS=js GOARCH=wasm ${GO:-go} build -trimpath ${WASM_GCFLAGS-$(make -s wasm-gcflags)} -o "$names/sdk.wasm" ./wasm
run sizes bin/skywasm-bench sizes -names "$names/sdk.wasm" -json "$out/sizes.json"

# Every section is passed, written or not: the report names the missing.
run report bin/skywasm-bench report -o docs/benchmarks.md ${BENCH_MACHINE:+-machine "$BENCH_MACHINE"} \
	"$out/signaling.json" "$out/cluster.json" "$out/browser.json" "$out/sfu.json" "$out/sfu-livekit.json" "$out/sizes.json"

if [ -f docs/benchmarks.md ]; then
	echo
	cat docs/benchmarks.md
fi
echo "bench.sh: all done in $(($(date +%s) - began)) s" >&2
if [ -n "$failed" ]; then
	echo "bench.sh: failed:$failed" >&2
	exit 1
fi
