#!/bin/sh
# fuzz.sh runs every fuzz target of the module for $FUZZTIME each (default
# 10s). Targets are found, not listed, so new ones join by themselves. It
# runs them all and fails at the end if any failed; a failing input is saved
# under the package's testdata/fuzz/, to be committed as a regression seed.
set -eu

go=${GO:-go}
fuzztime=${FUZZTIME:-10s}
cd "$(dirname "$0")/.."

failed=""
found=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_once PKG DIR TARGET runs one target; it returns 0 on success, 1 on a
# failure, and 2 on the Go 1.26 coordinator race (go.dev/issue/75804): at
# the -fuzztime boundary it can report "context deadline exceeded" as a
# failure although no input failed. That case is told apart by the absence
# of a new failing input in testdata/fuzz/TARGET.
fuzz_once() {
	before=$(ls "$2/testdata/fuzz/$3" 2>/dev/null | wc -l)
	if "$go" test -run '^$' -fuzz "^$3\$" -fuzztime "$fuzztime" "$1" >"$log" 2>&1; then
		cat "$log"
		return 0
	fi
	cat "$log"
	after=$(ls "$2/testdata/fuzz/$3" 2>/dev/null | wc -l)
	if [ "$after" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$log"; then
		return 2
	fi
	return 1
}
# Only packages whose test files declare a fuzz function need a test binary
# built to list their targets.
for entry in $("$go" list -f '{{.ImportPath}}={{.Dir}}' ./...); do
	pkg=${entry%%=*}
	dir=${entry#*=}
	if ! grep -qs '^func Fuzz' "$dir"/*_test.go; then
		continue
	fi
	for target in $("$go" test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=$((found + 1))
		echo "fuzz: $pkg $target for $fuzztime"
		# Up to three tries when only the coordinator race failed; a
		# failing input fails at once.
		for try in 1 2 3; do
			rc=0
			fuzz_once "$pkg" "$dir" "$target" || rc=$?
			[ "$rc" -eq 2 ] || break
			echo "fuzz: $target: 'context deadline exceeded' with no failing input (go.dev/issue/75804); run $try of 3" >&2
		done
		if [ "$rc" -ne 0 ]; then
			failed="$failed $pkg.$target"
		fi
	done
done

if [ "$found" -eq 0 ]; then
	echo "fuzz: no fuzz targets found"
fi
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
