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
flaked=()
count=0

# files_in DIR: how many files DIR holds (0 when it does not exist).
files_in() {
	if [[ -d $1 ]]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

while IFS=: read -r file name; do
	[[ -n $filter && ! $name =~ $filter ]] && continue
	dir=$(dirname "$file")
	count=$((count + 1))
	echo "--- $name ($dir, $fuzztime)"
	corpus="$dir/testdata/fuzz/$name"
	before=$(files_in "$corpus")
	log=$(mktemp)
	# cd: a target in a nested module (e2e) is run by its own go.mod.
	if ! (cd "$dir" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" .) 2>&1 | tee "$log"; then
		after=$(files_in "$corpus")
		# Go before 1.27 can fail a target with "context deadline exceeded"
		# as -fuzztime runs out, writing no input (go.dev/issue/75804): the
		# coordinator's own race, not a finding. A failure that wrote an
		# input, or any other failure, counts.
		if [[ $after == "$before" ]] && grep -q '^    context deadline exceeded$' "$log" &&
			! grep -q 'Failing input written' "$log"; then
			echo "(ignored: the fuzz coordinator's deadline race, go.dev/issue/75804; no input was written)"
			flaked+=("$name")
		else
			failed+=("$name ($dir)")
		fi
	fi
	rm -f "$log"
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
echo "ok: $count fuzz targets, $fuzztime each${flaked:+ (${#flaked[@]} stopped by the deadline race: ${flaked[*]})}"
