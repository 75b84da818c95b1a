#!/usr/bin/env bash
# scripts/demo.sh — the main demo: install what is missing, fetch the data, build, run the tour.
#
#   bash scripts/demo.sh [tour arguments...]     e.g. bash scripts/demo.sh --help
#
# Env: JOBS (default 2) parallel build jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

bash scripts/install-deps.sh --data

if [ -f scripts/get-data.sh ]; then
  bash scripts/get-data.sh
else
  echo "demo.sh: scripts/get-data.sh not found, skipping the data download" >&2
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDISTILLERY_BUILD_EXAMPLES=ON
cmake --build build -j "$jobs" --target distillery_examples

tour=build/examples/tour
if [ ! -x "$tour" ]; then
  echo "demo.sh: $tour was not built — examples/tour.cpp does not exist yet" \
       "(every examples/<name>.cpp becomes build/examples/<name>)" >&2
  exit 1
fi
exec "$tour" "$@"
