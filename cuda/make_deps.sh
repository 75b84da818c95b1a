#!/usr/bin/env bash
# cuda/make_deps.sh — gather the build dependencies a bare GPU machine lacks (Eigen, doctest,
# Google Benchmark headers + shared library) from this machine into .deps/ (git-ignored through
# .git/info/exclude), to be carried along with the working tree:
#   cuda/make_deps.sh && run(command="cuda/gpu_check.sh $OUT all", carry=[".deps"])
# cuda/gpu_check.sh puts .deps on CMAKE_PREFIX_PATH and DISTILLERY_BENCHMARK_ROOT.
set -eu
cd "$(dirname "$0")/.."
grep -qx '/.deps/' .git/info/exclude 2>/dev/null || echo '/.deps/' >> .git/info/exclude
rm -rf .deps
mkdir -p .deps/include .deps/share/eigen3 .deps/lib
cp -r /usr/include/eigen3 .deps/include/
cp -r /usr/share/eigen3/cmake .deps/share/eigen3/      # Eigen3Config.cmake (prefix-relative)
cp -r /usr/include/doctest .deps/include/
cp -r /usr/include/benchmark .deps/include/
lib=$(readlink -f /usr/lib/x86_64-linux-gnu/libbenchmark.so)
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
cp "$lib" ".deps/lib/$soname"                          # found by name, loaded by SONAME
du -sh .deps
