#!/bin/sh
# The must-show grids of issue 21 under the one tuning protocol (docs/guide/comparing-rules.md):
# every method tuned on mock://, profile heldout, tuning seeds 700-702 (boards 701-703), one
# task at a time; then `bench learn` with those settings on spice:// (profile default) and on
# mock:// profile heldout, seeds 800-809 (boards 801-810, nobody tuned on). Budgets are capped
# (xor 10k, parity4 10k, iris 30k queries per run) so the grids finish on 2 shared cores.
# Every step resumes: rerun this script after a stop. To rerun one rule's rows (twin after a
# new twin): REDO=twin sh bench/tuned_grids.sh   (its tuning and grid runs are redone).
# Usage: sh bench/tuned_grids.sh [TASK ...]   (default: xor iris parity4, in that order)
set -e
WPHIL=${WPHIL:-.venv/bin/wphil}
R=bench/results
JOBS=${JOBS:-2}
SEEDS="--first-seed 800 --seeds 10"
budget() { case $1 in xor) echo 10000;; parity4) echo 10000;; iris) echo 30000;; esac; }
TASKS=${*:-xor iris parity4}
done_tasks=""
settings=""
budgets=""
for task in xor iris parity4; do
  case " $TASKS " in *" $task "*) ;; *)
    [ -f $R/tuning-heldout-$task/tuned.json ] || continue
    done_tasks="${done_tasks:+$done_tasks,}$task"
    settings="$settings --settings $R/tuning-heldout-$task/tuned.json"
    budgets="$budgets --budget $task=$(budget $task)"
    continue;;
  esac
  out=$R/tuning-heldout-$task
  resume=""; [ -f $out/runs.jsonl ] && resume=--resume
  if [ -n "$REDO" ] && [ -f $out/runs.jsonl ]; then   # drop the rule's tuning runs
    grep -v "\"rule\": \"$REDO\"" $out/runs.jsonl > $out/runs.tmp || true
    mv $out/runs.tmp $out/runs.jsonl
  fi
  nice -n 10 $WPHIL bench tune --tasks $task --profile heldout --device mock:// \
    --max-queries $(budget $task) --jobs $JOBS --out $out $resume > /dev/null
  done_tasks="${done_tasks:+$done_tasks,}$task"
  settings="$settings --settings $out/tuned.json"
  budgets="$budgets --budget $task=$(budget $task)"
  for grid in "spice spice:// default" "heldout mock:// heldout"; do
    set -- $grid
    gout=$R/learn-$1-tuned
    resume=""; [ -f $gout/runs.jsonl ] && resume=--resume
    redo=""; [ -n "$REDO" ] && [ -n "$resume" ] && redo="--redo $REDO"
    nice -n 10 $WPHIL bench learn --tasks $done_tasks --device $2 --profile $3 $SEEDS \
      $budgets $settings --jobs $JOBS --out $gout $resume $redo --no-progress > /dev/null
  done
done
