#!/usr/bin/env bash
# Configures and builds everything (library, tools, samples, tests) into $ANOMALY_BUILD_DIR
# (default: <repo>/build). Extra arguments are passed to the CMake configure step.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${ANOMALY_BUILD_DIR:-$repo/build}"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j"$(nproc)"
echo "build: done in $build"
