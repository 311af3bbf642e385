#!/usr/bin/env bash
# `bash scripts/node-run.sh <command> [args]`: runs the command with a Node.js >= 22.12 first on
# PATH (the machine's, or Node 24 in .tools/, fetched when missing: node-env.sh). The npm
# scripts go through it, so `npm test` works on a machine whose own node is older.
set -euo pipefail
# shellcheck source=node-env.sh
source "$(dirname "$0")/node-env.sh"
exec "$@"
