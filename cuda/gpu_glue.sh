#!/usr/bin/env bash
# cuda/gpu_glue.sh — one mini-GLUE task on a lent GPU: fine-tune the teacher, then every
# distillation run (s2, s4 × seeds × 6 methods) as parallel processes, and DynaBERT grids if
# DYNA=1; results come back as ONE tar in 15 MB pieces ($OUT may return only ~8 files).
# Packed HERE (CUDA build with examples, e.g. /work/build-cuda2), into an ignored folder:
#   mkdir -p .gpu3/lib && for t in examples/ckd_glue examples/dynabert; do gzip -9c build-cuda/$t > .gpu3/$(basename $t).gz; done
#   cp -L /lib/x86_64-linux-gnu/libgomp.so.1 .gpu3/lib/ && tar -C data -cJf .gpu3/data.tar.xz spam
#   cp out/ckd_glue10/{tokenizer.txt,pretrain_teacher.safetensors,pretrain_s2.safetensors,pretrain_s4.safetensors} cuda/gpu_glue.sh .gpu3/
#   run(command="TASK=spam TL=470 bash .gpu3/gpu_glue.sh", carry=[".gpu3"])      (61 MB of the 64 MiB carry)
# Back here: cat res.tar.part-* | tar -x; copy out/runs*.csv and out/<task>/ into out/ckd_glue10.
# Measured on an H100 (2026-11-26, spam): teacher fine-tune 3 epochs in 32-38 s (46,000-56,000
# tok/s); 6 processes × 6 methods = 36 student runs in 470 s, 17,000-58,000 tok/s per process.
# With 6 DynaBERT processes beside them the 80 GB ran out (each holds the graphs of 12
# sub-networks at once); alone, 4 DynaBERT spam processes needed more than 190 s each.
set -u
O=${OUT:-/tmp/o}; mkdir -p "$O"; G=$(cd "$(dirname "$0")" && pwd); R=$(cd "$G/.." && pwd); T0=$(date +%s)
TASK=${TASK:-spam}; TL=${TL:-470}
exec > >(tee -a "$O/log.txt") 2>&1
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
NV=$(dirname "$(command -v nvcc)")/..
export LD_LIBRARY_PATH="$NV/lib64:$NV/lib:$G/lib:${LD_LIBRARY_PATH:-}" OMP_NUM_THREADS=1
W=/tmp/gw; mkdir -p "$W/bin" "$W/out" "$W/data" "$W/logs"
for f in "$G"/*.gz; do gunzip -c "$f" > "$W/bin/$(basename "$f" .gz)"; chmod +x "$W/bin/$(basename "$f" .gz)"; done
tar -C "$W/data" -xJf "$G/data.tar.xz"
cp "$G"/tokenizer.txt "$G"/pretrain_*.safetensors "$W/out/"
cd "$R"
echo "== finetune $TASK teacher $(el)"
"$W/bin/ckd_glue" --out "$W/out" --data "$W/data" --stage finetune --tasks "$TASK" --device cuda 2>&1 |
  grep -vE " [0-9]+/[0-9]+ " > "$W/logs/finetune_$TASK.txt"; tail -2 "$W/logs/finetune_$TASK.txt"
pids=()
for st in s4 s2; do for seed in 1 2 3; do
  timeout "$TL" "$W/bin/ckd_glue" --out "$W/out" --data "$W/data" --stage distill --tasks "$TASK" --students $st \
    --seeds $seed --device cuda --runs-file "runs_${TASK}_${st}_s$seed.csv" 2>&1 | grep -vE " [0-9]+/[0-9]+ " > "$W/logs/distill_${st}_s$seed.txt" &
  pids+=($!)
done; done
if [ "${DYNA:-0}" = 1 ]; then for v in dynabert_ckd dynabert; do
  timeout "$TL" "$W/bin/dynabert" --out "$W/out" --data "$W/data" --tasks "$TASK" --variants $v --seeds 1,2,3 \
    --device cuda --no-report 2>&1 | grep -vE " [0-9]+/[0-9]+ " > "$W/logs/dyna_$v.txt" &
  pids+=($!)
done; fi
wait "${pids[@]}"; echo "== trained $(el)"
grep -h "==>" "$W"/logs/distill_*.txt | sort
rm -f "$W"/out/"$TASK"/*.ckpt.safetensors
(cd "$W" && tar -cf - out/runs*.csv out/"$TASK" logs) | split -b 15000000 -d - "$O/res.tar.part-"
echo "== done $(el)"
