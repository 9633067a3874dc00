#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) into
# $ANOMALY_ASAN_BUILD_DIR (default <repo>/build-asan) and runs it. Any sanitizer report fails the run.
#
# Two passes in the same build folder:
#  1. everything without the LibTorch tools (runtime, samples, evaluation tool): the whole ctest suite;
#  2. the LibTorch tools and their tests: test/export (graph blocks, parity with LibTorch, CLI,
#     SIGTERM/resume, atomic files), test/robustness's training-interruption tests (SIGKILL,
#     unreadable images), the backbone converter (test/backbone) and the standard-ops rewrite
#     (test/standard_ops). Only the tools these tests need are built: instrumented, LibTorch-heavy
#     code compiles slowly (doc/robustness.md, "Sanitizers").
# Extra arguments go to the first pass's ctest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ANOMALY_ASAN_BUILD_DIR:-$repo/build-asan}"
logs="$build/sanitizer-reports"

# Reports go to one file per process (log_path), so a report from a child process (the tests run
# anomaly_train and expect it to fail on bad arguments or SIGTERM) cannot hide behind an expected
# non-zero exit status. Leaks inside uninstrumented system libraries are not ours (test/lsan.supp);
# every leak allocated from our own code is still reported.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/report"
export LSAN_OPTIONS="suppressions=$repo/test/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/report"

# Fails when any sanitized process wrote a report, printing them all.
check_reports() {
  if compgen -G "$logs/report.*" >/dev/null; then
    cat "$logs"/report.* >&2
    echo "run_sanitized_tests: sanitizer reports above ($logs)" >&2
    exit 1
  fi
}

rm -rf "$logs"
mkdir -p "$logs"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANOMALY_SANITIZE=address,undefined \
  -DANOMALY_BUILD_EXPORT=OFF
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 3000 "$@") || { check_reports; exit 1; }
check_reports

cmake -S "$repo" -B "$build" -DANOMALY_BUILD_EXPORT=ON
if [ ! -d "$build/export/train" ]; then
  echo "run_sanitized_tests: LibTorch/ONNX missing, the training tool's tests were not run" >&2
  exit 1
fi
cmake --build "$build" -j"$(nproc)" --target anomaly_train test_export_train test_training_interruption \
  test_backbone test_standard_ops anomaly_standard_onnx
# Run directly (not through ctest): the export-ON tree also lists the tests of the tools not built here.
for test_binary in test/export/test_export_train test/robustness/test_training_interruption \
  test/backbone/test_backbone test/standard_ops/test_standard_ops; do
  (cd "$(dirname "$build/$test_binary")" && "$build/$test_binary") || { check_reports; exit 1; }
done
check_reports
