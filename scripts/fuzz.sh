#!/usr/bin/env bash
# Short fuzz run of every Go fuzz target in the repository (CI).
#
#   scripts/fuzz.sh                  # every target, FUZZTIME (default 5s) each
#   FUZZTIME=2m scripts/fuzz.sh      # longer, e.g. before a release
#   scripts/fuzz.sh FuzzInspect      # only the targets whose names match
#
# Targets are found by their declarations (func FuzzX(f *testing.F)) in
# *_test.go files, so new ones are run without editing this script. Each
# runs alone: go test -fuzz takes one target at a time. A failing input is
# written to the package's testdata/fuzz/<Target>/; commit it with the fix as
# a regression seed. The script runs every target, then fails if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-5s}
filter=${1:-}
failed=()
count=0

while IFS=: read -r file name; do
	[[ -n $filter && ! $name =~ $filter ]] && continue
	dir=$(dirname "$file")
	count=$((count + 1))
	echo "--- $name ($dir, $fuzztime)"
	# cd: a target in a nested module (e2e) is run by its own go.mod.
	if ! (cd "$dir" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" .); then
		failed+=("$name ($dir)")
	fi
done < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	sed -E 's/^\.\/(.*):func (Fuzz[A-Za-z0-9_]*)\(.*/\1:\2/' | sort)

if ((count == 0)); then
	echo "no fuzz target matched ${filter:-anything}" >&2
	exit 1
fi
if ((${#failed[@]} > 0)); then
	echo "FAIL: ${#failed[@]} of $count fuzz targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "ok: $count fuzz targets, $fuzztime each"
