#!/usr/bin/env bash
# Builds the fuzz targets with clang + ASan + UBSan (+ libFuzzer) and runs each for $1 seconds
# (default 60). Crash reproducers land in $ANOMALY_FUZZ_DIR (default <repo>/build-fuzz/findings).
#
# Exploratory runs (the default) use a random seed and keep growing the corpus under the build
# folder. With ANOMALY_FUZZ_SEED set, a run is reproducible instead: it starts from the generated
# seed corpus alone and, with ANOMALY_FUZZ_RUNS, tries exactly that many inputs per target (or a
# prefix of them if $1 seconds pass first). CI uses this, so it tests the same inputs as a local
# run with the same settings rather than failing at random on whatever a new seed happens to find.
set -euo pipefail
seconds="${1:-60}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${ANOMALY_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
out="${ANOMALY_FUZZ_DIR:-$build/findings}"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DANOMALY_BUILD_FUZZERS=ON -DANOMALY_SANITIZE=address,undefined -DANOMALY_BUILD_EXPORT=OFF \
  -DANOMALY_BUILD_SAMPLES=OFF >/dev/null
cmake --build "$build" --target fuzz_model_load fuzz_detect make_fuzz_seeds -j"$(nproc)"
corpus_root="$build/corpus"
fixed=()
if [[ -n "${ANOMALY_FUZZ_SEED:-}" ]]; then
  corpus_root="$build/corpus-seed-$ANOMALY_FUZZ_SEED"
  rm -rf "$corpus_root"
  fixed=(-seed="$ANOMALY_FUZZ_SEED")
  [[ -n "${ANOMALY_FUZZ_RUNS:-}" ]] && fixed+=(-runs="$ANOMALY_FUZZ_RUNS")
fi
mkdir -p "$out" "$corpus_root/model" "$corpus_root/image"
"$build/test/fuzz/make_fuzz_seeds" "$corpus_root/model" "$corpus_root/image"
status=0
for target in model_load:model detect:image; do
  name="${target%%:*}"
  corpus="$corpus_root/${target##*:}"
  echo "fuzz_$name: ${seconds}s ${fixed[*]:-(random seed)}"
  # OpenCV itself is not instrumented; leaks inside it (e.g. its static registries) are not ours.
  ASAN_OPTIONS=detect_leaks=0 "$build/test/fuzz/fuzz_$name" "$corpus" -max_total_time="$seconds" \
    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$out/fuzz_${name}-" -print_final_stats=1 \
    "${fixed[@]}" 2>"$out/fuzz_$name.log" ||
    { status=1; echo "fuzz_$name FOUND A PROBLEM: see $out" >&2; grep -m1 -A12 -E "ERROR|terminate called" "$out/fuzz_$name.log" >&2 || true; tail -30 "$out/fuzz_$name.log" >&2; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_$name.log" || true
done
exit $status
