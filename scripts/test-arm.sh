#!/usr/bin/env bash
# scripts/test-arm.sh — cross-compile for aarch64 and run tests under qemu-user (issue 25).
#
#   scripts/test-arm.sh            # the CI set (scripts/test.sh runs it): core smoke + error
#                                  # formatting, the GEMM (portable micro-kernel vs reference) and
#                                  # thread-pool tests, the loss golden values, the no-allocation
#                                  # inference test; then the static embedded example
#   scripts/test-arm.sh full       # core, ops, losses and nn tests (slow: ~25 s compile each,
#                                  # and the ops table runs 10-30x slower under emulation)
# Environment: BUILD_DIR (default build-arm), JOBS (default 2), NO_INSTALL=1 to skip installing
# the cross compiler and qemu-user (scripts/install-deps.sh --arm).
# Also builds examples/embedded_lenet static + stripped, float only, for aarch64
# (build-arm/embedded_lenet) and classifies the test fixture's digits with it under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-arm}
JOBS=${JOBS:-2}
if [[ -z "${NO_INSTALL:-}" ]]; then
  bash scripts/install-deps.sh --arm
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_MPI=OFF -DDISTILLERY_BUILD_BENCH=OFF \
  -DDISTILLERY_BUILD_EXAMPLES=OFF -DDISTILLERY_INSTALL=OFF "${launcher[@]}"
if [[ "${1:-}" == full ]]; then
  targets=(test_core_smoke test_ops_ops_table test_ops_autograd test_ops_errors test_ops_views
           test_losses_ad test_losses_golden test_losses_oracles test_nn_layers test_nn_models
           test_nn_functional test_nn_inference)
  regex='^(core|ops|losses|nn)/'
else
  targets=(test_core_smoke test_core_error_format test_backend_gemm test_backend_parallel_pool
           test_losses_golden test_nn_inference)
  regex='^(core/smoke|core/error_format|backend/gemm|backend/parallel_pool|losses/golden|nn/inference)$'
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" --target "${targets[@]}" -j "$JOBS"
echo "test-arm: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"
start=$(date +%s)
# ctest runs each test through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64 -L sysroot)
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --test-dir "$BUILD_DIR" -R "$regex" --output-on-failure
echo "test-arm: ran tests in $(( $(date +%s) - start )) s"
# the static embedded example, float only, no OpenMP (docs/embedded.md)
start=$(date +%s)
aarch64-linux-gnu-g++ -std=c++17 -O2 -DNDEBUG -static -s -ffunction-sections -fdata-sections \
  -Wl,--gc-sections -DDISTILLERY_IMPLEMENTATION -DDISTILLERY_FLOAT_ONLY -Iinclude \
  -I/usr/include/eigen3 examples/embedded_lenet.cpp -o "$BUILD_DIR/embedded_lenet"
echo "test-arm: static embedded_lenet, $(stat -c %s "$BUILD_DIR/embedded_lenet") bytes," \
     "built in $(( $(date +%s) - start )) s"
# It must classify as the x86-64 build does: the checkpoint the Release ctest
# examples/embedded_lenet wrote (or $CHECKPOINT), 500 held-out digits, the same accuracy line.
ckpt=${CHECKPOINT:-build/tests/examples_embedded_lenet/lenet.safetensors}
if [[ -f "$ckpt" && -x build/examples/embedded_lenet && -d data/mnist ]]; then
  acc() { grep -o '[0-9]* images, accuracy [0-9.]*'; }
  x86=$(build/examples/embedded_lenet --checkpoint "$ckpt" --limit 500 | acc)
  arm=$(qemu-aarch64 "$BUILD_DIR/embedded_lenet" --checkpoint "$ckpt" --limit 500 | acc)
  echo "test-arm: embedded_lenet x86-64: $x86; aarch64 (qemu): $arm"
  if [[ -z "$arm" || "$arm" != "$x86" ]]; then
    echo "test-arm: FAILED: the aarch64 static example classifies differently" >&2
    exit 1
  fi
else
  echo "test-arm: (the static example not run: no $ckpt, build/examples/embedded_lenet or data/mnist)"
fi
