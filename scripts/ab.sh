#!/usr/bin/env bash
# Paired A/B comparison of two Go benchmark runs, for differences of about a
# microsecond: the machine drifts by more than that between two runs minutes
# apart, so A and B take turns, PAIRS times, and the report is the mean of
# the per-pair differences with its 95 % confidence interval (Student's t).
#
#   scripts/ab.sh PAIRS 'command A' 'command B'
#
# Each command runs one Go benchmark and prints its result line; the script
# reads the first ns/op it prints. Two modes of the in-process benchmark:
#
#   go test -c -o /tmp/bench.test ./bench/ && cd bench
#   ../scripts/ab.sh 12 \
#     "/tmp/bench.test -test.run '^\$' -test.bench 'InProcess/^router\$/^small\$' -test.cpu 1 -test.benchtime 30000x" \
#     "/tmp/bench.test -test.run '^\$' -test.bench 'InProcess/^router-noledger\$/^small\$' -test.cpu 1 -test.benchtime 30000x"
#
# Two commits: build each one's test binary (git worktree, go test -c) and give
# the same benchmark to both. Nothing here asserts anything: it measures.
set -euo pipefail

if [[ $# -ne 3 ]]; then
	sed -n '2,17p' "$0" >&2
	exit 2
fi
pairs=$1
cmd_a=$2
cmd_b=$3

# nsop COMMAND: the first ns/op the command's output reports.
nsop() {
	local out
	out=$(bash -c "$1" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	awk '{ for (i = 2; i <= NF; i++) if ($i == "ns/op") { print $(i - 1); exit } }' <<<"$out"
}

diffs=()
for ((i = 1; i <= pairs; i++)); do
	# Alternate which goes first, so that a drift within a pair cancels out.
	if ((i % 2)); then
		a=$(nsop "$cmd_a")
		b=$(nsop "$cmd_b")
	else
		b=$(nsop "$cmd_b")
		a=$(nsop "$cmd_a")
	fi
	if [[ -z $a || -z $b ]]; then
		echo "pair $i: no ns/op in a command's output" >&2
		exit 1
	fi
	printf 'pair %2d: A %10.0f ns/op  B %10.0f ns/op  A-B %+8.0f\n' "$i" "$a" "$b" "$(awk "BEGIN { print $a - $b }")"
	diffs+=("$(awk "BEGIN { print $a - $b }")")
done

printf '%s\n' "${diffs[@]}" | awk -v n="$pairs" '
	# Two-sided 95 % quantiles of Student t by degrees of freedom (n - 1).
	BEGIN { split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 2.13 2.12 2.11 2.10 2.09 2.09 2.08 2.07 2.07 2.06 2.06 2.06 2.05 2.05 2.05", t, " ") }
	{ d[NR] = $1; s += $1 }
	END {
		m = s / n
		for (i = 1; i <= n; i++) ss += (d[i] - m) ^ 2
		if (n < 2) { printf "A-B: %+.0f ns/op (one pair: no interval)\n", m; exit }
		q = (n - 1 <= 29) ? t[n - 1] : 1.96
		printf "A-B: mean %+.0f ns/op, 95%% CI +-%.0f (%d pairs, sd %.0f)\n", m, q * sqrt(ss / (n - 1)) / sqrt(n), n, sqrt(ss / (n - 1))
	}'
