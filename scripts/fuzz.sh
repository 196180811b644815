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
		if ! "$go" test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg"; then
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
