#!/usr/bin/env bash
# cuda/prebuild.sh — build the CUDA tests and bench_cuda HERE (a CPU machine with nvcc of the same
# CUDA major as the GPU machine), pack them into .gpu/ (git-ignored) with cuda/gpu_prebuilt.sh, and
# gather the headers/libraries a bare GPU machine lacks into .deps/ (cuda/make_deps.sh). Then:
#   run(command="bash .gpu/gpu_prebuilt.sh", carry=[".gpu", ".deps"])
# costs about two minutes of device time: the tests run at once while bench_cuda is rebuilt there
# against the machine's CUDA LibTorch (libtorch_cuda/* pairs), then the paired benchmark runs.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build-cuda}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" -DDISTILLERY_BUILD_EXAMPLES=OFF \
  -DDISTILLERY_CUDA_BENCH_TORCH=OFF > /dev/null
tests=(test_cuda_cuda_parity test_cuda_cuda_ops_table test_nn_nn_cuda test_cuda_cuda_registration)
cmake --build "$B" -j"${JOBS:-2}" --target "${tests[@]}" bench_cuda
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/lib
for t in "${tests[@]}"; do gzip -9c "$B/tests/$t" > ".gpu/$t.gz"; done
gzip -9c "$B/bench/bench_cuda" > .gpu/bench_cuda.gz
cp -L /lib/x86_64-linux-gnu/libgomp.so.1 .gpu/lib/
cp cuda/gpu_prebuilt.sh .gpu/
bash cuda/make_deps.sh
du -sh .gpu .deps
