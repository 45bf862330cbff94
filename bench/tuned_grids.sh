#!/bin/sh
# The must-show grids of issue 21 under the one tuning protocol (docs/guide/comparing-rules.md).
# Every method is tuned on mock://, profile heldout, tuning seeds 700-702 (boards 701-703):
# tuning on spice:// is unaffordable on this machine. Then `bench learn` with those settings
# on spice:// (profile default) and on mock:// profile heldout, seeds 800-809 (boards
# 801-810, nobody tuned on). Budgets are capped at 10k queries per run on every task (the
# untuned grid's: 100k, 200k, 2M) so the grids can finish on 2 shared cores under load.
# Two lanes run side by side: `mock` tunes and runs the heldout grid; `spice` runs the spice
# grid of each task once its tuning is written. The methods go in groups, the most telling
# first: "core" (wp, pat, twin and the classic peers), then "slow" (NGOpt and Py-BOBYQA,
# which spends ~0.1 s of its own per evaluation on parity4), then "rest" (the other rules
# and baselines); xor, the cheapest, tunes every method at once ("all"). Each lane rewrites its
# grid's combined table from every run so far (--report-only) after each step.
# Every step resumes: rerun the script after a stop. To redo one rule (twin after a new
# twin): REDO=twin sh bench/tuned_grids.sh   (its tuning and grid runs are dropped and rerun).
# Usage: sh bench/tuned_grids.sh [mock|spice]   (no argument: both lanes, in the background)
#        STEPS="parity4:slow iris:rest" sh bench/tuned_grids.sh   (some steps of ALL_STEPS)
set -e
WPHIL=${WPHIL:-.venv/bin/wphil}
R=bench/results
JOBS=${JOBS:-2}
SEEDS="--first-seed 800 --seeds 10"
ALL=wp,wp-central,node,swnp,spsa,mgd,pat,twin,bp,offline,nelder-mead,powell,cma-es,cma-es-mb,ngopt,bobyqa
CORE=wp,pat,twin,nelder-mead,powell,cma-es,cma-es-mb
REST=wp-central,node,swnp,spsa,mgd,bp,offline
SLOW=ngopt,bobyqa
# Every step, in the order they run: iris:slow (seconds) before parity4:slow (Py-BOBYQA ~1 min
# a run there); twin on iris last (its fit: ~20 s of CPU a run since the exact Jacobian).
ALL_STEPS="xor:all iris:core parity4:core iris:slow parity4:slow parity4:rest iris:rest iris:twin"
# STEPS="..." runs some of them; the tables still cover every step whose tuning exists (a
# narrowed list once rewrote the tables without iris, and iris's rows were lost).
STEPS=${STEPS:-$ALL_STEPS}
BUDGET=10000
tuning_dir() { [ "$2" = all ] && echo $R/tuning-heldout-$1 || echo $R/tuning-heldout-$1-$2; }
resume_if() { [ -f $1/runs.jsonl ] && echo --resume || true; }
# runs.jsonl is not in git (.gitignore): a fresh checkout has the tables but not their runs,
# and rerunning would start those grids afresh and rewrite the tables from the new runs alone
check_runs() {  # check_runs DIR FILE: FILE (learn.json, tuned.json) without DIR/runs.jsonl
  [ -f $1/$2 ] && [ ! -f $1/runs.jsonl ] || return 0
  echo "tuned_grids.sh: $1/$2 exists but $1/runs.jsonl does not (runs are not in git): copy" \
    "it from the checkout that ran the grid, or remove $1 to start afresh" >&2
  exit 2
}
# rules_of GROUP TASK; twin on iris is a group of its own: its fit took ~220 s a run there (~20 s now)
rules_of() { case $1:$2 in all:*) echo $ALL;; core:iris) echo $CORE | sed s/,twin//;;
  core:*) echo $CORE;; twin:*) echo twin;; rest:*) echo $REST;; slow:*) echo $SLOW;; esac; }
drop_rule() {   # drop a rule's runs from a runs.jsonl (REDO)
  [ -n "$REDO" ] && [ -f $1/runs.jsonl ] || return 0
  grep -v "\"rule\": \"$REDO\"" $1/runs.jsonl > $1/runs.tmp || true
  mv $1/runs.tmp $1/runs.jsonl
}
grid() {        # grid NAME DEVICE PROFILE TASK GROUP: one step of a grid, then its table
  out=$R/learn-$1-tuned tuned=$(tuning_dir $4 $5)/tuned.json
  resume=$(resume_if $out) redo=""
  case ",$(rules_of $5 $4)," in *",$REDO,"*) [ -n "$resume" ] && redo="--redo $REDO";; esac
  nice -n 10 $WPHIL bench learn --tasks $4 --rules $(rules_of $5 $4) --device $2 --profile $3 \
    $SEEDS --max-queries $BUDGET --settings $tuned --jobs $JOBS --out $out $resume $redo \
    --no-progress > /dev/null
  tasks="" settings=""
  for step in $ALL_STEPS; do
    f=$(tuning_dir ${step%%:*} ${step#*:})/tuned.json
    [ -f $f ] || continue
    settings="$settings --settings $f"
    case ",$tasks," in *",${step%%:*},"*) ;; *) tasks="${tasks:+$tasks,}${step%%:*}";; esac
  done
  $WPHIL bench learn --tasks $tasks --rules $ALL --device $2 --profile $3 $SEEDS \
    --max-queries $BUDGET $settings --out $out --resume --report-only --no-progress > /dev/null
}
tune() {        # tune TASK GROUP, then tell the spice lane
  out=$(tuning_dir $1 $2)
  [ -f $out/.tuned-$MOCK_PID ] || drop_rule $out     # once per run: the lane visits a task twice
  nice -n 10 $WPHIL bench tune --tasks $1 --rules $(rules_of $2 $1) --profile heldout \
    --device mock:// --max-queries $BUDGET --jobs $JOBS --out $out $(resume_if $out) > /dev/null
  touch $out/.tuned-$MOCK_PID
}
mock_lane() {   # the core tunings first (the spice lane waits for them), then each
  for step in $STEPS; do case $step in *:all|*:core) tune ${step%%:*} ${step#*:};; esac; done
  for step in $STEPS; do
    tune ${step%%:*} ${step#*:}
    grid heldout mock:// heldout ${step%%:*} ${step#*:}
  done
}
spice_lane() {
  for step in $STEPS; do
    task=${step%%:*} group=${step#*:}
    out=$(tuning_dir $task $group)
    while [ ! -f $out/.tuned-$MOCK_PID ]; do sleep 10; done   # MOCK_PID: see below
    grid spice spice:// default $task $group
  done
}
for step in $STEPS; do check_runs $(tuning_dir ${step%%:*} ${step#*:}) tuned.json; done
for name in heldout spice; do check_runs $R/learn-$name-tuned learn.json; done
MOCK_PID=${MOCK_PID:-$$}   # one lane alone: set MOCK_PID to the other's, or run both
case $1 in
  mock) mock_lane;;
  spice) spice_lane;;
  *) (mock_lane) & (spice_lane) & wait;;
esac
rm -f $R/tuning-heldout-*/.tuned-$MOCK_PID
