#!/bin/sh
# The must-show grids of issue 21 under the one tuning protocol (docs/guide/comparing-rules.md).
# Every method is tuned on mock://, profile heldout, tuning seeds 700-702 (boards 701-703):
# tuning on spice:// is unaffordable on this machine. Then `bench learn` with those settings
# on spice:// (profile default) and on mock:// profile heldout, seeds 800-809 (boards
# 801-810, nobody tuned on). Budgets are capped at 10k queries per run on every task (the
# untuned grid's: 100k, 200k, 2M) so the grids can finish on 2 shared cores under load. The work goes in steps TASK:GROUP:GRIDS,
# cheapest first: per task, every method but NGOpt and Py-BOBYQA ("main"), then those two
# ("slow"; Py-BOBYQA spends ~0.1 s of its own per evaluation on parity4); xor tunes every
# method in one step ("all"); the spice grids before the heldout ones.
# After each step the combined tables are rewritten from every run so far (--report-only).
# Every step resumes: rerun the script after a stop. To redo one rule (twin after a new
# twin): REDO=twin sh bench/tuned_grids.sh   (its tuning and grid runs are dropped and rerun).
set -e
WPHIL=${WPHIL:-.venv/bin/wphil}
R=bench/results
JOBS=${JOBS:-2}
SEEDS="--first-seed 800 --seeds 10"
ALL=wp,wp-central,node,swnp,spsa,mgd,pat,twin,bp,offline,nelder-mead,powell,cma-es,cma-es-mb,ngopt,bobyqa
MAIN=wp,wp-central,node,swnp,spsa,mgd,pat,twin,bp,offline,nelder-mead,powell,cma-es,cma-es-mb
SLOW=ngopt,bobyqa
STEPS=${STEPS:-"xor:all:spice iris:main:spice parity4:main:spice xor:all:heldout
  iris:main:heldout parity4:main:heldout iris:slow:spice,heldout parity4:slow:spice,heldout"}
budget() { case $1 in xor) echo 10000;; parity4) echo 10000;; iris) echo 10000;; esac; }
tuning_dir() { [ "$2" = all ] && echo $R/tuning-heldout-$1 || echo $R/tuning-heldout-$1-$2; }
resume_if() { [ -f $1/runs.jsonl ] && echo --resume || true; }
DROPPED=""
drop_rule() {   # drop a rule's runs from a runs.jsonl (REDO), once per file
  [ -n "$REDO" ] && [ -f $1/runs.jsonl ] || return 0
  case " $DROPPED " in *" $1 "*) return 0;; esac
  DROPPED="$DROPPED $1"
  grep -v "\"rule\": \"$REDO\"" $1/runs.jsonl > $1/runs.tmp || true
  mv $1/runs.tmp $1/runs.jsonl
}
report() {      # the combined tables from every run so far
  tasks="" settings="" budgets=""
  for task in xor iris parity4; do
    for group in all main slow; do
      f=$(tuning_dir $task $group)/tuned.json
      [ -f $f ] || continue
      settings="$settings --settings $f"
      case ",$tasks," in *",$task,"*) ;; *)
        tasks="${tasks:+$tasks,}$task"; budgets="$budgets --budget $task=$(budget $task)";; esac
    done
  done
  for grid in "spice spice:// default" "heldout mock:// heldout"; do
    set -- $grid
    [ -f $R/learn-$1-tuned/runs.jsonl ] || continue
    $WPHIL bench learn --tasks $tasks --rules $ALL --device $2 --profile $3 $SEEDS $budgets \
      $settings --out $R/learn-$1-tuned --resume --report-only --no-progress > /dev/null
  done
}
for step in $STEPS; do
  task=${step%%:*}; rest=${step#*:}; group=${rest%%:*}; grids=${rest#*:}
  case $group in all) rules=$ALL;; main) rules=$MAIN;; slow) rules=$SLOW;; esac
  out=$(tuning_dir $task $group)
  drop_rule $out
  nice -n 10 $WPHIL bench tune --tasks $task --rules $rules --profile heldout \
    --device mock:// --max-queries $(budget $task) --jobs $JOBS --out $out \
    $(resume_if $out) > /dev/null
  for grid in "spice spice:// default" "heldout mock:// heldout"; do
    set -- $grid
    case ",$grids," in *",$1,"*) ;; *) continue;; esac
    gout=$R/learn-$1-tuned
    resume=$(resume_if $gout)
    redo=""; [ -n "$REDO" ] && [ -n "$resume" ] && redo="--redo $REDO"
    case ",$rules," in *",$REDO,"*) ;; *) redo="";; esac
    nice -n 10 $WPHIL bench learn --tasks $task --rules $rules --device $2 --profile $3 \
      $SEEDS --budget $task=$(budget $task) --settings $out/tuned.json --jobs $JOBS \
      --out $gout $resume $redo --no-progress > /dev/null
  done
  report
done
