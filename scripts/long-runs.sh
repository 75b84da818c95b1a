#!/usr/bin/env bash
# scripts/long-runs.sh — the long experiments of issues 22 (DPD) and 23 (CKD/DynaBERT) as one
# resumable queue: every job skips what is finished (`dpd --run-dir`, `ckd_glue --resume` and its
# runs files, `dynabert`'s kept grids), so after an interruption the same command goes on where
# it stopped. Jobs run JOBS at a time (default: the number of cores), one thread each, niced.
#
#   scripts/long-runs.sh dpd        PPO on Swimmer, HalfCheetah, Walker2d, Humanoid (5 seeds,
#                                   single / indep / dpd, 2M total steps per run), DPD with α 0.01
#                                   and distillation lr 1e-3 on HalfCheetah, the α sweep on
#                                   HalfCheetah ({0.1, 1, 10} × lr {1e-3, 1e-5}, 3 seeds), then
#                                   DDPG on HalfCheetah and Walker2d (3 seeds) -> out/dpd2/
#   scripts/long-runs.sh ckd        the fair CKD protocol of docs/ckd.md: 10-epoch teacher,
#                                   students, fine-tuning, then (task, student) distillation
#                                   jobs (genre/topic 5 seeds, sent/spam 3), DynaBERT, reports
#                                                                             -> out/ckd_fair/
#   scripts/long-runs.sh all        both queues, DPD first
#
# DRY_RUN=1 prints the queued commands instead (the single steps between queues still print
# nothing and run nothing). The binaries must be built (cmake --build build). Progress: each job's log next to its
# results; `tail -n 2 out/dpd2/*.log out/ckd_fair/*.log`. The summaries:
#   python3 scripts/summarize_dpd.py --extra out/dpd2/ppo_halfcheetah_a001_lr1e-3.json -- out/dpd2/ppo_*[a-z].json
#   out/ckd_fair/results.md, out/ckd_fair/dynabert_<task>.json
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
jobs=${JOBS:-$(nproc)}
B=build/examples
export OMP_NUM_THREADS=1

run_queue() {  # one command per line on stdin, JOBS at a time; a failed job does not stop the others
  if [ -n "${DRY_RUN:-}" ]; then cat; return; fi
  xargs -P "$jobs" -I{} nice -n 10 bash -c '{}' || true
}

dpd_queue() {
  local D=out/dpd2 cmds=() c i
  mkdir -p $D
  # one job per task and flags; its JOBS processes share the task's run-dir, run by run
  for env in halfcheetah swimmer walker2d humanoid; do
    cmds+=("--algo ppo --env $env --dpd all --steps 2000000 --seeds 5 --json $D/ppo_$env.json")
  done
  cmds+=("--algo ppo --env halfcheetah --dpd dpd --steps 2000000 --seeds 5 --alpha 0.01 --dis-lr 1e-3 --json $D/ppo_halfcheetah_a001_lr1e-3.json")
  for cfg in "1 1e-3" "0.1 1e-3" "10 1e-3" "0.1 1e-5" "10 1e-5"; do set -- $cfg  # α sweep
    cmds+=("--algo ppo --env halfcheetah --dpd dpd --steps 2000000 --seeds 3 --alpha $1 --dis-lr $2 --json $D/sweep/ppo_halfcheetah_a$1_lr$2.json")
  done
  for env in halfcheetah walker2d; do
    cmds+=("--algo ddpg --env $env --dpd all --steps 2000000 --seeds 3 --start-steps 10000 --json $D/ddpg_$env.json")
  done
  dpd_line() {  # the command of one process: run-dir and log named after the JSON
    local json=${1##*--json } stem
    stem=${json%.json}
    echo "$B/dpd $1 --run-dir ${stem%/*}/runs_${stem##*/} >> ${stem}_$2.log 2>&1"
  }
  for c in "${cmds[@]}"; do for i in $(seq 1 "$jobs"); do dpd_line "$c" "$i"; done; done | run_queue
  # the last process of a job writes its JSON; when two ended together, one more pass writes it
  for c in "${cmds[@]}"; do
    [ -f "${c##*--json }" ] || dpd_line "$c" report
  done | run_queue
}

ckd_queue() {
  local O=out/ckd_fair t st
  local G="--tune-kd 0.5:4,0.9:4,0.5:2 --tune-pkd 10,100,500 --tune-tinybert 1:1,10:1,1:10 --tune-ckd 1/10,100/1000,100/1"
  mkdir -p $O
  {
    echo "$B/ckd_glue --stage pretrain --model teacher --pretrain-epochs 10 --out $O --resume >> $O/pretrain_teacher.log 2>&1"
    echo "$B/ckd_glue --stage pretrain --model s4,s3,s2 --out $O --resume >> $O/pretrain_students.log 2>&1"
  } | run_queue
  [ -n "${DRY_RUN:-}" ] || nice -n 10 $B/ckd_glue --stage finetune --tasks sent,genre,topic,spam --out $O >> $O/finetune.log 2>&1
  {
    for t in topic genre; do for st in s2 s3 s4; do
      echo "$B/ckd_glue --stage distill --tasks $t --students $st --seeds 1,2,3,4,5 $G --out $O --runs-file runs_${t}_$st.csv --resume >> $O/distill_${t}_$st.log 2>&1"
    done; done
    for t in sent spam; do for st in s2 s3 s4; do
      echo "$B/ckd_glue --stage distill --tasks $t --students $st --seeds 1,2,3 $G --out $O --runs-file runs_${t}_$st.csv --resume >> $O/distill_${t}_$st.log 2>&1"
    done; done
    echo "$B/dynabert --tasks genre,topic --seeds 1,2,3 --variants dynabert_ckd --lambda 0.1,1,10 --out $O --no-report >> $O/dynabert_ckd.log 2>&1"
    echo "$B/dynabert --tasks genre,topic --seeds 1,2,3 --variants dynabert --out $O --no-report >> $O/dynabert.log 2>&1"
  } | run_queue
  [ -n "${DRY_RUN:-}" ] && return
  $B/ckd_glue --stage report --tasks sent,genre,topic,spam --students s4,s3,s2 --out $O > $O/report.log 2>&1
  $B/dynabert --tasks genre,topic --seeds 1,2,3 --lambda 0.1,1,10 --out $O > $O/dynabert_report.log 2>&1
}

case "$what" in
  dpd) dpd_queue ;;
  ckd) ckd_queue ;;
  all) dpd_queue; ckd_queue ;;
  *) echo "usage: scripts/long-runs.sh dpd|ckd|all (JOBS=n)" >&2; exit 2 ;;
esac
