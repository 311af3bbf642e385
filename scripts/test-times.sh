#!/usr/bin/env bash
# `bash scripts/test-times.sh [HH:MM ...] [-- vitest args]`: runs the test suite with the clock
# of the whole test run set to the next occurrence of each given Moscow time (default: 00:30
# 06:00 21:15 23:55), one run per time, and stops at the first that fails.
#
# The clock is moved with Debian's libfaketime (installed with apt-get when missing) by a
# relative offset, so it keeps ticking and every process agrees on it: vitest, the emulator,
# the CLI processes the tests start, and the PostgreSQL server the run starts for itself
# (TEST_DATABASE_URL is unset on purpose: the shared server's clock cannot be moved, and a
# database that disagrees with the application about today would test nothing real).
# Monotonic clocks are left alone, so timeouts and timers behave.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=node-env.sh
source scripts/node-env.sh

times=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do times+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#times[@]} -gt 0 ] || times=(00:30 06:00 21:15 23:55)

lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
  echo "test-times: installing Debian's libfaketime" >&2
  apt-get update -qq && apt-get install -y -qq faketime >/dev/null
  lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n 1)
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

for hm in "${times[@]}"; do
  # Seconds from now to the next HH:MM in Moscow (UTC+3 all year), less a minute of start-up.
  offset=$(node -e '
    const [h, m] = process.argv[1].split(":").map(Number);
    const now = Date.now(), day = 86_400_000;
    let t = Date.UTC(new Date(now + 3 * 3_600_000).getUTCFullYear(), new Date(now + 3 * 3_600_000).getUTCMonth(), new Date(now + 3 * 3_600_000).getUTCDate(), h - 3, m) - 60_000;
    while (t <= now) t += day;
    console.log(Math.round((t - now) / 1000));
  ' "$hm")
  echo "test-times: running the suite at ${hm} Moscow (clock moved by +${offset} s)"
  status=0
  env -u TEST_DATABASE_URL LD_PRELOAD="$lib" FAKETIME="+${offset}" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    npx vitest run "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "test-times: FAILED at ${hm} Moscow"
    exit "$status"
  fi
  echo "test-times: passed at ${hm} Moscow"
done
