#!/usr/bin/env bash
# scripts/test-arm.sh — cross-compile for aarch64 and run tests under qemu-user (issue 25).
#
#   scripts/test-arm.sh            # reduced set: the nn inference test + core smoke + losses AD
#   scripts/test-arm.sh full       # core, ops, losses and nn tests (slow: ~25 s compile each,
#                                  # and the ops table runs 10-30x slower under emulation)
# Environment: BUILD_DIR (default build-arm), JOBS (default 1), NO_INSTALL=1 to skip apt-get.
# Also builds examples/embedded_lenet static + stripped for aarch64 (build-arm/embedded_lenet).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-arm}
JOBS=${JOBS:-1}
if [[ -z "${NO_INSTALL:-}" ]] && ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  apt-get install -y g++-aarch64-linux-gnu qemu-user
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
  targets=(test_core_smoke test_nn_inference test_losses_golden)
  regex='^(core/smoke|nn/inference|losses/golden)$'
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" --target "${targets[@]}" -j "$JOBS"
echo "test-arm: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"
start=$(date +%s)
# ctest runs each test through CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64 -L sysroot)
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --test-dir "$BUILD_DIR" -R "$regex" --output-on-failure
echo "test-arm: ran tests in $(( $(date +%s) - start )) s"
# the static embedded example, float only, no OpenMP (docs/embedded.md)
aarch64-linux-gnu-g++ -std=c++17 -O2 -DNDEBUG -static -s -ffunction-sections -fdata-sections \
  -Wl,--gc-sections -DDISTILLERY_IMPLEMENTATION -Iinclude -I/usr/include/eigen3 \
  examples/embedded_lenet.cpp -o "$BUILD_DIR/embedded_lenet"
ls -l "$BUILD_DIR/embedded_lenet"
