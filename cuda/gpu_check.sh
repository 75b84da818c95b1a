#!/usr/bin/env bash
# cuda/gpu_check.sh — configure, build, test and benchmark the CUDA backend on a GPU machine in
# one go (what a lent device machine runs). Logs go to $1 (default $OUT, else /tmp/gpu_out).
#
#   cuda/gpu_check.sh [OUTDIR] [all|tests|bench]
#
# Environment:
#   CUDA_ARCHS      CMAKE_CUDA_ARCHITECTURES (default 90)
#   PREBUILT_TESTS  folder with test_cuda_cuda_*.gz built elsewhere (same x86-64, same CUDA
#                   major): run those instead of building the tests here, while bench_cuda builds
#                   in the background
# Dependencies missing on a bare machine (Eigen, doctest, Google Benchmark) are read from .deps/
# when present (CMAKE_PREFIX_PATH, DISTILLERY_BENCHMARK_ROOT); LibTorch comes from the machine's
# Python torch. If configuring with LibTorch fails it configures without it (bench_cuda then has
# distillery_cuda/* and cublas/* only) and bench/cuda/torch_eager.py gives PyTorch-eager numbers.
set -u
OUTDIR=${1:-${OUT:-/tmp/gpu_out}}
WHAT=${2:-all}
mkdir -p "$OUTDIR"
exec > >(tee -a "$OUTDIR/log.txt") 2>&1
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD_DIR:-/tmp/build-cuda}
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
echo "== environment"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
nvcc --version | tail -2
cmake --version | head -1
TORCH_PREFIX=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)" 2>/dev/null)
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1
ls -d /usr/include/eigen3 /usr/include/doctest /usr/include/benchmark 2>&1 | tr '\n' ' '; echo
GEN=""  # Ninja for a fresh build directory; an existing one keeps its generator
[ ! -f "$B/CMakeCache.txt" ] && command -v ninja >/dev/null && GEN="-G Ninja"
common=(-S "$SRC" -B "$B" $GEN -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_CUDA=ON
        -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS:-90} -DDISTILLERY_BUILD_BENCH=OFF
        -DDISTILLERY_BUILD_EXAMPLES=OFF "-DCMAKE_PREFIX_PATH=$SRC/.deps;$TORCH_PREFIX"
        "-DDISTILLERY_BENCHMARK_ROOT=$SRC/.deps")

configure_and_build() {  # $@: targets
  if ! cmake "${common[@]}" > "$OUTDIR/configure.txt" 2>&1; then
    echo "configure with LibTorch failed; configuring without it" >> "$OUTDIR/configure.txt"
    cp "$OUTDIR/configure.txt" "$OUTDIR/configure_torch_failed.txt"
    rm -rf "$B"
    cmake "${common[@]}" -DDISTILLERY_CUDA_BENCH_TORCH=OFF > "$OUTDIR/configure.txt" 2>&1 ||
      return 1
  fi
  cmake --build "$B" -j"$(nproc)" --target "$@" > "$OUTDIR/build.txt" 2>&1
}

run_tests() {  # $1: folder with test_cuda_cuda_* executables
  NVCC_DIR=$(dirname "$(command -v nvcc)")
  export LD_LIBRARY_PATH="$NVCC_DIR/../lib64:${LD_LIBRARY_PATH:-}"
  for t in parity ops_table; do
    exe="$1/test_cuda_cuda_$t"
    [ -x "$exe" ] || { echo "missing $exe"; continue; }
    echo "-- test_cuda_cuda_$t $(el)"
    (cd "$1" && timeout 400 "$exe" --no-colors=true > "$OUTDIR/test_$t.txt" 2>&1)
    echo "exit code $? (77 = skipped)"
    grep -E "CUDA device|op parity|cuda op table:|SKIPPED|test cases|ERROR|error:|FAILED" \
      "$OUTDIR/test_$t.txt" | head -40
    sed -n '/^family/,$p' "$OUTDIR/test_$t.txt" | head -80
  done
}

build_pid=""
if [ -n "${PREBUILT_TESTS:-}" ] && [ "$WHAT" != bench ]; then
  echo "== prebuilt tests from $PREBUILT_TESTS; building bench_cuda in the background $(el)"
  mkdir -p /tmp/pre
  for f in "$PREBUILT_TESTS"/test_cuda_cuda_*.gz; do
    gunzip -c "$f" > "/tmp/pre/$(basename "$f" .gz)" && chmod +x "/tmp/pre/$(basename "$f" .gz)"
  done
  if [ "$WHAT" = all ]; then
    configure_and_build bench_cuda & build_pid=$!
  fi
  echo "== tests $(el)"
  run_tests /tmp/pre
else
  echo "== configure + build $(el)"
  targets=(test_cuda_cuda_parity test_cuda_cuda_ops_table)
  [ "$WHAT" = all ] && targets+=(bench_cuda)
  [ "$WHAT" = bench ] && targets=(bench_cuda)
  configure_and_build "${targets[@]}" ||
    { grep -E "error|Error" "$OUTDIR/build.txt" "$OUTDIR/configure.txt" | head -40; }
  echo "build done $(el)"
  [ "$WHAT" != bench ] && { echo "== tests $(el)"; run_tests "$B/tests"; }
fi
if [ "$WHAT" != tests ]; then
  [ -n "$build_pid" ] && { wait "$build_pid" || true; echo "bench build done $(el)"; }
  grep -E "bench/cuda" "$OUTDIR/configure.txt"
  [ -s "$OUTDIR/configure_torch_failed.txt" ] && grep -iE "error" -A5 "$OUTDIR/configure_torch_failed.txt" | head -30
  if [ -x "$B/bench/bench_cuda" ]; then
    echo "== benchmarks $(el)"
    "$B/bench/bench_cuda" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out="$OUTDIR/cuda.json" --benchmark_out_format=json 2>&1 | tail -30
    [ -s "$OUTDIR/cuda.json" ] && python3 "$SRC/bench/cuda/ratios.py" "$OUTDIR/cuda.json"
  else
    echo "bench_cuda not built:"; grep -E "error" "$OUTDIR/build.txt" | head -30; tail -5 "$OUTDIR/build.txt"
  fi
  if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "== python torch eager (cross-check) $(el)"
    timeout 120 python3 "$SRC/bench/cuda/torch_eager.py"
  fi
fi
echo "== done $(el)"
