#!/usr/bin/env bash
# Updates the dashboard's vendored copy of uPlot (MIT) from the npm registry:
#
#   scripts/update-uplot.sh [version]     # default: the registry's latest
#
# It takes the prebuilt browser bundle, its stylesheet and the license from
# the package (npm checks the tarball's integrity), writes the version to
# dashboard/uplot/VERSION, and prints what changed. Run the browser test
# (go test -run TestDashboard .) afterwards: the dashboard is embedded as is,
# there is no build step.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-$(npm view uplot version)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$version" >/dev/null && tar xzf "uplot-$version.tgz")

dst=dashboard/uplot
mkdir -p "$dst"
install -m 644 "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dst/"
echo "$version" >"$dst/VERSION"
echo "uPlot $version in $dst:"
git status --short -- "$dst"
