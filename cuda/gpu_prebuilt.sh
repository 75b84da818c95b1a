#!/usr/bin/env bash
# cuda/gpu_prebuilt.sh — runs on the GPU machine from .gpu/ (made by cuda/prebuild.sh): the
# prebuilt CUDA tests while bench_cuda is rebuilt against the machine's CUDA LibTorch, then the
# paired benchmark (falls back to the prebuilt Distillery-only bench_cuda) and its ratio table.
set -u
O=${OUT:-/tmp/o}; mkdir -p $O; G=$(cd "$(dirname "$0")" && pwd); SRC=$(cd $G/.. && pwd); T0=$(date +%s)
exec > >(tee -a $O/log.txt) 2>&1
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
TP=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")
( cmake -S $SRC -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DDISTILLERY_BUILD_TESTS=OFF -DDISTILLERY_BUILD_EXAMPLES=OFF "-DCMAKE_PREFIX_PATH=$SRC/.deps;$TP" \
    -DDISTILLERY_BENCHMARK_ROOT=$SRC/.deps > $O/configure.txt 2>&1 && \
  cmake --build /tmp/bt -j16 --target bench_cuda > $O/build.txt 2>&1; echo "torch bench build rc $?" ) &
BP=$!
NV=$(dirname "$(command -v nvcc)")/..
export LD_LIBRARY_PATH="$NV/lib64:$NV/lib:$G/lib:$SRC/.deps/lib:${LD_LIBRARY_PATH:-}"
mkdir -p /tmp/g && for f in $G/*.gz; do gunzip -c $f > /tmp/g/$(basename $f .gz); chmod +x /tmp/g/$(basename $f .gz); done
export DISTILLERY_SOURCE_DIR=$SRC
for t in cuda_parity cuda_ops_table nn_cuda cuda_registration; do
  echo "== $t $(el)"
  timeout 120 /tmp/g/test_*_$t --no-colors=true > $O/test_$t.txt 2>&1; echo "exit $? $(el)"
  grep -E "SKIPPED|test cases|assertions|cuda op table:" $O/test_$t.txt | head -5
  grep -E "ERROR|threw" -A3 $O/test_$t.txt | head -30
done
echo "== waiting for the torch bench build $(el)"
wait $BP
grep -E "LibTorch|bench/cuda" $O/configure.txt; grep -E "error" $O/build.txt | head -20
if [ -x /tmp/bt/bench/bench_cuda ]; then B=/tmp/bt/bench/bench_cuda; else B=/tmp/g/bench_cuda; fi
echo "== bench $B $(el)"
timeout ${BENCH_TIMEOUT:-240} $B --benchmark_out=$O/cuda.json --benchmark_out_format=json > $O/bench.txt 2>&1; echo "exit $? $(el)"
grep -vE "^\s*$" $O/bench.txt | tail -30
[ -s $O/cuda.json ] && python3 $SRC/bench/cuda/ratios.py $O/cuda.json
echo "== done $(el)"
