#!/usr/bin/env bash
# scripts/fuzz.sh — build and briefly run the libFuzzer targets in tests/fuzz/ (one per parser).
#
# Each target feeds arbitrary bytes to a reader (IDX + gzip/inflate, safetensors, MNIST JSON,
# review sentences, the mini-GLUE text readers and WordPiece vocab) built with
# -fsanitize=fuzzer,address,undefined; any crash, sanitizer report, leak or timeout fails the
# script and leaves the input that caused it in the build folder.
# Needs clang (installs Debian's clang-14 + libclang-rt-14-dev when missing, if run as root).
# The fuzz targets are not part of the CMake build.
# gzip_bomb fuzzes gzip IDX files that expand far beyond their declared size: inputs up to
# 256 KiB (~270 MB of output when decompressed) and no allocation over 64 MB; it shares the idx
# target's time slot (each gets half), so the total time stays 5 x SECONDS_PER_TARGET.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 20; or FUZZ_SECONDS)
#        FUZZ_TARGETS="idx safetensors" scripts/fuzz.sh 5
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-${FUZZ_SECONDS:-20}}"
targets="${FUZZ_TARGETS:-idx gzip_bomb safetensors mnist_json sentences text_tasks}"
out="$repo/build-fuzz"

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }

find_clang() {
  local c
  for c in clang++-14 clang++ clang++-15 clang++-16; do
    if command -v "$c" >/dev/null 2>&1 &&
       echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
         "$c" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

cxx="$(find_clang || true)"
if [[ -z "$cxx" ]]; then
  [[ "$(id -u)" == 0 ]] || die "no clang with libFuzzer found; install clang-14 and libclang-rt-14-dev"
  say "installing clang-14 and libclang-rt-14-dev (libFuzzer runtime)"
  apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null; } ||
    die "apt-get install clang-14 libclang-rt-14-dev failed"
  cxx="$(find_clang)" || die "clang-14 is installed but cannot build a libFuzzer target"
fi
say "compiler: $cxx ($("$cxx" --version | head -n 1))"

eigen=/usr/include/eigen3
[[ -d "$eigen" ]] || die "Eigen headers not found in $eigen (Debian: libeigen3-dev)"
mkdir -p "$out"

# Seed corpora: the committed fixtures plus a few small hand-made files per format.
seed() {  # $1 = target, then files
  local t="$1" d="$out/corpus/$1"
  shift
  mkdir -p "$d" "$out/seeds/$t"
  for f in "$@"; do [[ -f "$f" ]] && cp "$f" "$out/seeds/$t/" || true; done
}
fx="$repo/tests/fixtures"
seed idx "$fx/tiny_images.idx" "$fx/tiny_images.idx.gz" "$fx/tiny_labels.idx.gz" "$fx/inflate_fixed.gz"
seed safetensors "$fx/torch_state.safetensors"
seed gzip_bomb  # 3 bytes: declared extent E, then raw DEFLATE (fuzz_gzip_bomb.cpp)
if command -v python3 >/dev/null 2>&1; then
  python3 - "$out/seeds/gzip_bomb" <<'PY'
import sys, zlib
def seed(name, extent, payload):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(extent.to_bytes(3, "big") + c.compress(payload) + c.flush())
seed("exact", 1000, bytes(range(256)) * 3 + bytes(232))   # E bytes: parses
seed("short", 4096, bytes(100))                            # fewer than declared: refused
seed("bomb", 1000, bytes(100 << 20))                        # 100 MB behind a 1000-byte header
PY
fi
seed mnist_json
seed sentences
printf '{"data":[0,0.5,1%s]}' "$(printf ',0.25%.0s' $(seq 781))" > "$out/seeds/mnist_json/one.json"
printf '{ "data": [] }' > "$out/seeds/mnist_json/empty.json"
printf '[{"text":"Great phone, don'"'"'t buy.","class":1},{"text":"Caf\\u00e9 \\"bad\\"","class":0},{"text":"","class":null}]' \
  > "$out/seeds/sentences/s.json"
printf 'So there is no way.\t0\r\nGood case.\t1\n' > "$out/seeds/sentences/s.txt"
seed text_tasks  # first byte picks the parser: 0 Brown, 1 cats.txt, 2 fortunes, 3 e-mail, 4 vocab, 5 train
printf '\000\tThe/at jury/nn ``/`` said/vbd ,/, (/( 1-1/2/cd )/) ./.\n\n' > "$out/seeds/text_tasks/brown"
printf '\001ca01 news\ncb02 editorial\n' > "$out/seeds/text_tasks/cats"
printf '\002A fortune.\n%%\nCaf\303\251 two\n%%\n' > "$out/seeds/text_tasks/fortunes"
printf '\003From a@b  Thu\nSubject: =?iso-8859-1?Q?Hi=E9?=\nContent-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<b>x=3D</b>&amp;&#233;\n--B--\n' > "$out/seeds/text_tasks/email"
printf '\004[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\nt\n##he\n' > "$out/seeds/text_tasks/vocab"
printf '\005the towers, the tower; lower towers.' > "$out/seeds/text_tasks/train"

# The CPU kernels (src/kernels.cpp = backend/cpu/implementation.hpp) are compiled once and linked
# into every target that touches tensors (docs/build.md).
kobj="$out/kernels.o"
if [[ ! -f "$kobj" || -n "$(find "$repo/include" "$repo/src" -newer "$kobj" -name '*.[hc]pp' -print -quit)" ]]; then
  say "building the CPU kernels (src/kernels.cpp)"
  "$cxx" -std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I "$repo/include" -I "$eigen" \
    -c "$repo/src/kernels.cpp" -o "$kobj"
fi

status=0
for t in $targets; do
  src="$repo/tests/fuzz/fuzz_$t.cpp"
  [[ -f "$src" ]] || die "no fuzz target $src"
  bin="$out/fuzz_$t"
  if [[ ! -x "$bin" || "$src" -nt "$bin" || "$kobj" -nt "$bin" || -n "$(find "$repo/include" -newer "$bin" -name '*.hpp' -print -quit)" ]]; then
    say "building fuzz_$t"
    "$cxx" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -fno-omit-frame-pointer -I "$repo/include" -I "$eigen" "$src" "$kobj" -o "$bin"
  fi
  opts=(-max_len=16384)
  [[ "$t" == idx || "$t" == gzip_bomb ]] || opts+=(-dict="$repo/tests/fuzz/json.dict")
  [[ "$t" == gzip_bomb ]] && opts=(-max_len=262144 -malloc_limit_mb=64)
  secs="$seconds"  # idx and gzip_bomb share one slot
  [[ "$t" == idx || "$t" == gzip_bomb ]] && secs=$(( (seconds + 1) / 2 ))
  say "running fuzz_$t for ${secs}s"
  if ! (cd "$out" && "$bin" "$out/corpus/$t" "$out/seeds/$t" "${opts[@]}" \
          -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 >"$out/fuzz_$t.log" 2>&1); then
    say "fuzz_$t FAILED; last lines of $out/fuzz_$t.log:"
    tail -n 40 "$out/fuzz_$t.log" >&2
    status=1
  else
    say "fuzz_$t ok: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/fuzz_$t.log" | grep -Eo '[0-9]+$') runs, corpus $(ls "$out/corpus/$t" | wc -l) files"
  fi
done
exit $status
