#!/usr/bin/env bash
# scripts/bench.sh — build the benchmarks (Release) and print Distillery / baseline time ratios.
#
#   scripts/bench.sh                 all bench/bench_*.cpp binaries
#   scripts/bench.sh engine models   only bench_engine and bench_models
#
# Each binary runs with OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 (LibTorch's fastest setting on a
# 2-core machine; LibTorch gets torch::set_num_threads(2)) and 3 repetitions; the console shows
# progress, the JSON goes to out/bench/<binary>.json, then bench_ratios.py prints one table per
# binary (median time, ours / baseline; below 1 = Distillery faster).
# Env: BUILD_DIR (default build-bench), JOBS (default 2), BENCH_ARGS (extra Google Benchmark
#      arguments, e.g. BENCH_ARGS=--benchmark_filter=gemm), CMAKE_ARGS (e.g. -DDISTILLERY_NATIVE=ON),
#      THREADS (default 2: OMP_NUM_THREADS and LibTorch's threads).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-bench}
jobs=${JOBS:-2}
threads=${THREADS:-2}
read -r -a bench_args <<< "${BENCH_ARGS:-}"
read -r -a cmake_args <<< "${CMAKE_ARGS:-}"

# bench_ratios.py lives in the shared folder next to the repository (or inside it).
ratios=""
for cand in ../shared/tools/bench_ratios.py shared/tools/bench_ratios.py; do
  if [ -f "$cand" ]; then ratios=$cand; break; fi
done

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_BUILD_BENCH=ON \
  -DDISTILLERY_BUILD_TESTS=OFF -DDISTILLERY_BUILD_EXAMPLES=OFF -DDISTILLERY_SANITIZE=OFF \
  "${cmake_args[@]+"${cmake_args[@]}"}" > /dev/null
cmake --build "$build" -j "$jobs" --target distillery_bench

if [ $# -gt 0 ]; then
  names=()
  for n in "$@"; do names+=("bench_${n#bench_}"); done
else
  names=()
  for src in bench/bench_*.cpp; do names+=("$(basename "$src" .cpp)"); done
fi

mkdir -p out/bench
jsons=()
for name in "${names[@]}"; do
  bin="$build/bench/$name"
  [ -x "$bin" ] || { echo "bench.sh: $bin not built" >&2; exit 1; }
  json="out/bench/$name.json"
  echo "==== $name"
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=1 DISTILLERY_BENCH_TORCH_THREADS=$threads \
    "$bin" --benchmark_repetitions=3 --benchmark_report_aggregates_only=false \
    --benchmark_out="$json.tmp" --benchmark_out_format=json \
    "${bench_args[@]+"${bench_args[@]}"}"
  mv "$json.tmp" "$json"
  jsons+=("$json")
  if [ -n "$ratios" ]; then
    python3 "$ratios" "$json" || true
  fi
done

if [ -z "$ratios" ]; then
  echo "bench.sh: bench_ratios.py not found (looked in ../shared/tools and shared/tools);" \
       "results are in ${jsons[*]}" >&2
fi
