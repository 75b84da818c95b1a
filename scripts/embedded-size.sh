#!/usr/bin/env bash
# scripts/embedded-size.sh — the static, stripped embedded example and its size (issue 25).
#
#   bash scripts/embedded-size.sh [OUT_DIR]      (default build-embedded)
#
# Builds examples/embedded_lenet as one translation unit (DISTILLERY_IMPLEMENTATION), static,
# stripped, float kernels only (DISTILLERY_FLOAT_ONLY), without the fused loss kernels
# (DISTILLERY_NO_FUSED_LOSSES) and without OpenMP, at -O2 and at -Os, next to an empty static
# C++ program built the same way, and prints each size and Distillery's share (the difference).
# CXX selects the compiler (e.g. CXX=aarch64-linux-gnu-g++ for the aarch64 binary).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-embedded}
cxx=${CXX:-g++}
mkdir -p "$out"
common=(-std=c++17 -DNDEBUG -static -s -ffunction-sections -fdata-sections -Wl,--gc-sections)
lib=(-DDISTILLERY_IMPLEMENTATION -DDISTILLERY_FLOAT_ONLY -DDISTILLERY_NO_FUSED_LOSSES -Iinclude
     -I/usr/include/eigen3)
echo 'int main() { return 0; }' > "$out/empty.cpp"
for opt in -O2 -Os; do
  "$cxx" "${common[@]}" "$opt" "$out/empty.cpp" -o "$out/empty$opt"
  "$cxx" "${common[@]}" "$opt" "${lib[@]}" examples/embedded_lenet.cpp -o "$out/embedded_lenet$opt"
  e=$(stat -c %s "$out/empty$opt")
  b=$(stat -c %s "$out/embedded_lenet$opt")
  echo "embedded-size: $cxx $opt: embedded_lenet $b bytes, empty program $e bytes," \
       "Distillery's share $((b - e)) bytes"
done
