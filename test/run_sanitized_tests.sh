#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) into
# $ANOMALY_ASAN_BUILD_DIR (default <repo>/build-asan) and runs it. Any sanitizer report fails the run.
# The LibTorch tools (export/) are left out: instrumenting them doubles CI's build time on 2 cores,
# and everything the runtime, samples and evaluation tool execute is covered.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ANOMALY_ASAN_BUILD_DIR:-$repo/build-asan}"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANOMALY_SANITIZE=address,undefined \
  -DANOMALY_BUILD_EXPORT=OFF
cmake --build "$build" -j"$(nproc)"
cd "$build"
# Leaks inside uninstrumented system libraries (OpenCV's and LibTorch's static registries) are not
# ours (test/lsan.supp); every leak allocated from our own code is still reported.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$repo/test/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --output-on-failure -j"$(nproc)" --timeout 3000 "$@"
