#!/usr/bin/env bash
# cuda/gpu_pretrain_bert.sh — masked-LM pre-training of the ckd_glue teacher on a lent GPU: the CUDA
# model tests first (test_nn_nn_cuda, incl. the mini-BERT KD + CKD parity case), then EPOCHS
# (default 10) epochs of pre-training. On an H200 one epoch (1,958 steps of 64 sequences) took
# 43-51 s (about 40,000 tokens/s; a 200-step probe at the start runs at half that speed while the
# allocator warms up), so 10 epochs need about 460 s of device time. Packed HERE (a CPU machine with nvcc 13, like the GPU's):
#   cmake -S . -B build-cuda -DDISTILLERY_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DDISTILLERY_BUILD_EXAMPLES=ON
#   cmake --build build-cuda -j2 --target example_ckd_glue test_nn_nn_cuda
#   mkdir -p .gpu2/lib && gzip -9c build-cuda/examples/ckd_glue > .gpu2/ckd_glue.gz &&
#   gzip -9c build-cuda/tests/test_nn_nn_cuda > .gpu2/test_nn_nn_cuda.gz &&
#   cp -L /lib/x86_64-linux-gnu/libgomp.so.1 .gpu2/lib/ && cp out/ckd_glue/tokenizer.txt cuda/gpu_pretrain_bert.sh .gpu2/
#   run(command="EPOCHS=10 bash .gpu2/gpu_pretrain_bert.sh", carry=[".gpu2", "data/brown", "data/fortunes", "data/sentences"])
# The model comes back in 15 MB pieces ($OUT/teacher.part-*; `cat teacher.part-* > pretrain_teacher.safetensors`).
set -u
O=${OUT:-/tmp/o}; mkdir -p "$O"; G=$(cd "$(dirname "$0")" && pwd); T0=$(date +%s)
exec > >(tee -a "$O/log.txt") 2>&1
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
NV=$(dirname "$(command -v nvcc)")/..
export LD_LIBRARY_PATH="$NV/lib64:$NV/lib:$G/lib:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/g /tmp/pre
for f in "$G"/*.gz; do gunzip -c "$f" > "/tmp/g/$(basename "$f" .gz)"; chmod +x "/tmp/g/$(basename "$f" .gz)"; done
cp "$G/tokenizer.txt" /tmp/pre/
echo "== test_nn_nn_cuda $(el)"
timeout 120 /tmp/g/test_nn_nn_cuda --no-colors=true > "$O/test_nn_cuda.txt" 2>&1; echo "exit $?"
grep -E "test cases|assertions|ERROR|threw" -A2 "$O/test_nn_cuda.txt" | head -20
epochs=${EPOCHS:-10}
echo "== pretrain teacher, $epochs epochs $(el)"
/tmp/g/ckd_glue --stage pretrain --model teacher --out /tmp/pre --device cuda --pretrain-epochs "$epochs" |
  grep -vE "^pretrain teacher [0-9]+/"
ls -la /tmp/pre
[ -s /tmp/pre/pretrain_teacher.safetensors ] && split -b 15000000 -d /tmp/pre/pretrain_teacher.safetensors "$O/teacher.part-"
echo "== done $(el)"
