#!/usr/bin/env bash
# `bash scripts/dev.sh <npm script> [args]` on a fresh clone: brings Node 24 when needed,
# installs the locked dependencies when they are missing or stale, then runs the script
# (demo, test, bench, sandbox, typecheck).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=node-env.sh
source scripts/node-env.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
script="${1:?usage: scripts/dev.sh <npm script> [args]}"
shift
exec npm run --silent "$script" -- "$@"
