#!/usr/bin/env bash
# scripts/demo.sh — the main demo: install what is missing, fetch the data, build the tour (and
# nothing else), run it. Works on a fresh clone: the tour creates out/ itself.
#
#   bash scripts/demo.sh [tour arguments...]     e.g. bash scripts/demo.sh --quick
#                                                     bash scripts/demo.sh --help
#
# Results: out/tour.json, out/tour_curve.csv, out/tour_curve.png (unless --json says otherwise).
# Env: JOBS (default 2) parallel build jobs (the tour is one translation unit: 1 is as fast);
#      OMP_NUM_THREADS (default 1) the tour's threads.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

bash scripts/install-deps.sh --data

if [ -f scripts/get-data.sh ]; then
  bash scripts/get-data.sh
else
  echo "demo.sh: scripts/get-data.sh not found, skipping the data download" >&2
fi

# Configure once (the same build/ that scripts/test.sh uses), then build only the tour.
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_BUILD_EXAMPLES=ON
else
  cmake -S . -B build -DDISTILLERY_BUILD_EXAMPLES=ON >/dev/null
fi
cmake --build build -j "$jobs" --target example_tour

json=out/tour.json
for a in "$@"; do
  case "$a" in --json|--json=*|-h|--help) json="" ;; esac  # the tour's last line says where
done
# One thread unless OMP_NUM_THREADS says otherwise: the students are small MLPs (a second thread
# barely helps, and spins on a busy machine), and one thread gives the same bits as the table in
# docs/tour.md (another thread count trains a slightly different teacher).
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} build/examples/tour ${json:+--json "$json"} "$@"
if [ -n "$json" ]; then
  echo "demo.sh: results in $(pwd)/out/: tour.json (numbers), tour_curve.png (held-out accuracy" \
       "per epoch), tour_curve.csv"
fi
