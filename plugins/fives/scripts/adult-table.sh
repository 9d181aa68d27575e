#!/bin/sh
# adult-table.sh — UCI Adult: test AUC and log-loss, mean and std over 5
# seeds, of the fives plugin's models trained by the same trainer: LR (raw
# fields), FM, MLP, FIVES, and LR over raw fields plus the crosses FIVES reads
# out (its final model). Prints the selected settings and a markdown table.
#
# Protocol (the test set is used once, for the final numbers only):
#  1. adult.data is split deterministically (a fixed hash of the line number,
#     no randomness) into 80 % "fit" and 20 % "val" rows, written to a
#     temporary directory (removed on exit; no data file is kept).
#  2. Every model gets the same grid — epochs {2, 4, 8} x Adam lr {0.003,
#     0.01, 0.03} x weight_decay {0, 1e-4}, 18 settings, and the models with
#     embeddings (FM, MLP, FIVES) also embed_dim {4, 8, 16}, 54 settings —
#     trained on fit with seeds 1 and 2 and scored on val; the setting with
#     the best mean val AUC is kept (other architecture knobs stay at the
#     manifest defaults). LR + FIVES crosses uses the crosses read out by the
#     selected FIVES run on fit of the same seed.
#  3. Each model is retrained with its selected setting on the whole of
#     adult.data for seeds 1..5 and evaluated on adult.test (LR + FIVES
#     crosses reads the crosses of the FIVES run of the same seed).
#
# Usage: plugins/fives/scripts/adult-table.sh [SEEDS]    (default "1 2 3 4 5")
# Environment: TLHOST (default: tlhost on PATH, else ./hosts/tlhost of the
# current build directory), TL_DATA_DIR (default: ../shared/data as tlhost
# finds it; the split needs the file, so it is looked up the same way),
# OMP_NUM_THREADS (threads, as for every tl program).
set -eu
seeds=${1:-"1 2 3 4 5"}
tlhost=${TLHOST:-$(command -v tlhost || echo ./hosts/tlhost)}
work=$(mktemp -d "${TMPDIR:-/tmp}/fives-adult.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The data directory, as tl_data_dir() finds it: $TL_DATA_DIR, else
# ../shared/data from the current directory or one of its parents.
data=${TL_DATA_DIR:-}
if [ -z "$data" ]; then
  d=$(pwd)
  while [ "$d" != / ]; do
    if [ -d "$d/../shared/data" ]; then data=$(cd "$d/../shared/data" && pwd); break; fi
    d=$(dirname "$d")
  done
fi
adult=$data/ctr/adult
[ -f "$adult/adult.data" ] || { echo "adult-table.sh: $adult/adult.data not found (set TL_DATA_DIR)" >&2; exit 77; }

# 1. fit / val split: line n is a val row when (n * 1103515245 + 12345) mod
#    2^31, divided by 2^16, is 0 mod 5 (exact in awk's doubles).
awk -v fit="$work/fit.csv" -v val="$work/val.csv" 'NF > 0 {
    h = int(((NR * 1103515245 + 12345) % 2147483648) / 65536);
    if (h % 5 == 0) print > val; else print > fit }' "$adult/adult.data"

schema='age:float,workclass:str,fnlwgt:float,education:str,education_num:float,marital_status:str,occupation:str,relationship:str,race:str,sex:str,capital_gain:float,capital_loss:float,hours_per_week:float,native_country:str,income:label'
quant='age=10;fnlwgt=10;education_num=8;capital_gain=4;capital_loss=4;hours_per_week=8'

# job TRAIN EVAL EVAL_COMMENT MODEL_COMPONENT "SETS" EPOCHS LR WD SEED
job () {
  cat <<XML
<job xmlns="urn:tl:job:1" name="adult">
  <dataset id="train" component="tl.csv">
    <set name="path">$1</set>
    <set name="schema">$schema</set>
    <set name="quantile_buckets">$quant</set>
    <set name="label_values">&lt;=50K,&gt;50K</set>
  </dataset>
  <dataset id="eval" component="tl.csv">
    <set name="path">$2</set>$3
    <set name="vocab_from">$1</set>
    <set name="schema">$schema</set>
    <set name="quantile_buckets">$quant</set>
    <set name="label_values">&lt;=50K,&gt;50K</set>
  </dataset>
  <model id="m" component="$4"><set name="label">income</set>$5</model>
  <task kind="train" model="m" data="train" epochs="$6" batch="256" optimizer="adam" lr="$7" weight_decay="$8" seed="$9"/>
  <task kind="evaluate" model="m" data="eval" batch="512"/>
  <task kind="export" model="m"/>
</job>
XML
}

# run STAGE NAME COMPONENT "SETS" DIM EPOCHS LR WD SEED
#   STAGE val: train on fit, evaluate on val; test: train on adult.data,
#   evaluate on adult.test. DIM: embed_dim, or - for models without
#   embeddings. Appends "NAME DIM EPOCHS LR WD SEED auc loss" to $work/STAGE;
#   the output directory is $work/STAGE-NAME-DIM-EPOCHS-LR-WD-SEED.
run () {
  id="$1-$2-$5-$6-$7-$8-$9"
  msets=$4
  [ "$5" = - ] || msets="$msets<set name=\"embed_dim\">$5</set>"
  if [ "$1" = val ]; then
    job "$work/fit.csv" "$work/val.csv" "" "$3" "$msets" "$6" "$7" "$8" "$9" > "$work/$id.xml"
  else
    job "$adult/adult.data" "$adult/adult.test" '<set name="comment">|</set>' "$3" "$msets" "$6" "$7" "$8" "$9" > "$work/$id.xml"
  fi
  "$tlhost" run -q -o "$work/$id" "$work/$id.xml" > "$work/$id.log" 2>&1 || { cat "$work/$id.log" >&2; exit 1; }
  line=$(grep '"evaluate"' "$work/$id/metrics.jsonl" | tail -1)
  auc=$(echo "$line" | sed 's/.*"auc":\([-0-9.e]*\).*/\1/')
  loss=$(echo "$line" | sed 's/.*"loss":\([-0-9.e]*\).*/\1/')
  echo "$2 $5 $6 $7 $8 $9 $auc $loss" >> "$work/$1"
}

fives_sets='<set name="max_pairs">8</set><set name="max_triples">4</set>'
sets () {
  case $1 in
    lr) echo "" ;;
    fm|mlp) echo "" ;;
    fives) echo "$fives_sets" ;;
    fives-lr) echo "<set name=\"crosses_file\">$2</set>" ;;
  esac
}
component () {
  case $1 in fives-lr) echo fives.lr ;; *) echo "fives.$1" ;; esac
}
dims () {
  case $1 in fm|mlp|fives) echo "4 8 16" ;; *) echo - ;; esac
}

grid_seeds="1 2"

# grid NAME — the settings on fit/val, seeds $grid_seeds (fives-lr: the
# crosses of the selected FIVES setting of the same seed)
grid () {
  name=$1
  for dim in $(dims "$name"); do
    for ep in 2 4 8; do
      for lr in 0.003 0.01 0.03; do
        for wd in 0 1e-4; do
          for s in $grid_seeds; do
            cf=""
            if [ "$name" = fives-lr ]; then
              set -- $(best fives)
              cf="$work/val-fives-$1-$2-$3-$4-$s/interactions.tsv"
            fi
            run val "$name" "$(component "$name")" "$(sets "$name" "$cf")" "$dim" "$ep" "$lr" "$wd" "$s"
          done
        done
      done
    done
  done
}

# best NAME -> "DIM EPOCHS LR WD" of the highest mean val AUC over the grid
# seeds (first on ties)
best () {
  awk -v n="$1" '$1 == n { k = $2 " " $3 " " $4 " " $5; if (!(k in sum)) order[++m] = k; sum[k] += $7; cnt[k]++ }
    END { for (i = 1; i <= m; i++) { k = order[i]; v = sum[k] / cnt[k]; if (i == 1 || v > b) { b = v; s = k } } print s }' "$work/val"
}

# val_auc NAME DIM EPOCHS LR WD -> mean val AUC of that setting
val_auc () {
  awk -v n="$1" -v d="$2" -v e="$3" -v l="$4" -v w="$5" \
    '$1 == n && $2 == d && $3 == e && $4 == l && $5 == w { a += $7; k++ } END { printf "%.4f", a / k }' "$work/val"
}

for name in lr fm mlp fives; do
  grid "$name"
done
grid fives-lr

echo "Selected on the validation split (embed_dim epochs lr weight_decay, val AUC):"
for name in lr fm mlp fives fives-lr; do
  set -- $(best "$name")
  echo "  $name: $* (mean val AUC $(val_auc "$name" "$@"))"
done
echo

for s in $seeds; do
  for name in lr fm mlp fives; do
    set -- $(best "$name")
    run test "$name" "$(component "$name")" "$(sets "$name")" "$1" "$2" "$3" "$4" "$s"
  done
  set -- $(best fives)
  fdir="$work/test-fives-$1-$2-$3-$4-$s"
  set -- $(best fives-lr)
  run test fives-lr fives.lr "$(sets fives-lr "$fdir/interactions.tsv")" "$1" "$2" "$3" "$4" "$s"
done

echo "| model | embed_dim, epochs, lr, weight_decay | test AUC (mean ± std) | test log-loss (mean ± std) | seeds |"
echo "|---|---|---|---|---|"
for name in lr fm mlp fives fives-lr; do
  awk -v n="$name" '$1 == n { k++; a += $7; aa += $7 * $7; l += $8; ll += $8 * $8; cfg = $2 ", " $3 ", " $4 ", " $5 }
    END { ma = a / k; ml = l / k;
          sa = k > 1 ? sqrt((aa - k * ma * ma) / (k - 1)) : 0; sl = k > 1 ? sqrt((ll - k * ml * ml) / (k - 1)) : 0;
          if (sa != sa) sa = 0; if (sl != sl) sl = 0;
          label = n == "lr" ? "LR (raw fields)" : n == "fm" ? "FM" : n == "mlp" ? "MLP" : n == "fives" ? "FIVES" : "LR + FIVES crosses";
          printf "| %s | %s | %.4f ± %.4f | %.4f ± %.4f | %d |\n", label, cfg, ma, sa, ml, sl, k }' "$work/test"
done
