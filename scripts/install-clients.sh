#!/usr/bin/env bash
# Installs the pinned releases of the popular LLM clients that e2e runs
# against the router (today Claude Code), from the npm registry, into the
# user's cache directory, where the tests look for them. Without npm it
# says so and installs nothing: those tests then skip.
#
#   scripts/install-clients.sh
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.197 # keep in step with e2e/claude_code_test.go

if ! command -v npm >/dev/null 2>&1; then
  echo "install-clients: no npm; the tests of Claude Code will skip" >&2
  exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/llmrouter-e2e"
dir="$cache/claude-code-$CLAUDE_CODE_VERSION"
if [ ! -x "$dir/node_modules/.bin/claude" ]; then
  echo "install-clients: installing Claude Code $CLAUDE_CODE_VERSION into $dir"
  mkdir -p "$dir"
  if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null; then
    echo "install-clients: npm could not install Claude Code; its tests will skip" >&2
  fi
fi
