#!/bin/sh
# adult-table.sh — UCI Adult (train/test as shipped): test AUC and log-loss,
# mean and std over 5 seeds, of the fives plugin's models trained by the same
# trainer: LR (raw fields), FM, MLP, FIVES, and LR over raw fields plus the
# crosses FIVES read out (its final model). Prints a markdown table.
#
# Usage: plugins/fives/scripts/adult-table.sh [SEEDS]    (default "1 2 3 4 5")
# Environment: TLHOST (default: tlhost on PATH, else ./hosts/tlhost of the
# current build directory), TL_DATA_DIR (default: ../shared/data as tlhost
# finds it), OMP_NUM_THREADS (threads, as for every tl program).
set -eu
seeds=${1:-"1 2 3 4 5"}
tlhost=${TLHOST:-$(command -v tlhost || echo ./hosts/tlhost)}
work=$(mktemp -d "${TMPDIR:-/tmp}/fives-adult.XXXXXX")
trap 'rm -rf "$work"' EXIT

schema='age:float,workclass:str,fnlwgt:float,education:str,education_num:float,marital_status:str,occupation:str,relationship:str,race:str,sex:str,capital_gain:float,capital_loss:float,hours_per_week:float,native_country:str,income:label'
quant='age=10;fnlwgt=10;education_num=8;capital_gain=4;capital_loss=4;hours_per_week=8'

# job MODEL_COMPONENT "SETS" EPOCHS LR SEED [CROSSES_FILE]
job () {
  cat <<XML
<job xmlns="urn:tl:job:1" name="adult">
  <dataset id="train" component="tl.csv">
    <set name="path">\${TL_DATA_DIR}/ctr/adult/adult.data</set>
    <set name="schema">$schema</set>
    <set name="quantile_buckets">$quant</set>
    <set name="label_values">&lt;=50K,&gt;50K</set>
  </dataset>
  <dataset id="test" component="tl.csv">
    <set name="path">\${TL_DATA_DIR}/ctr/adult/adult.test</set>
    <set name="comment">|</set>
    <set name="vocab_from">\${TL_DATA_DIR}/ctr/adult/adult.data</set>
    <set name="schema">$schema</set>
    <set name="quantile_buckets">$quant</set>
    <set name="label_values">&lt;=50K,&gt;50K</set>
  </dataset>
  <model id="m" component="$1"><set name="label">income</set>$2</model>
  <task kind="train" model="m" data="train" epochs="$3" batch="256" optimizer="adam" lr="$4" seed="$5"/>
  <task kind="evaluate" model="m" data="test" batch="512"/>
  <task kind="export" model="m"/>
</job>
XML
}

# run NAME COMPONENT "SETS" EPOCHS LR SEED -> appends "NAME auc loss" to results
run () {
  dir="$work/$1-$6"
  job "$2" "$3" "$4" "$5" "$6" > "$work/$1-$6.xml"
  "$tlhost" run -q -o "$dir" "$work/$1-$6.xml" > "$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
  line=$(grep '"evaluate"' "$dir/metrics.jsonl" | tail -1)
  auc=$(echo "$line" | sed 's/.*"auc":\([-0-9.e]*\).*/\1/')
  loss=$(echo "$line" | sed 's/.*"loss":\([-0-9.e]*\).*/\1/')
  echo "$1 $auc $loss" >> "$work/results"
}

for s in $seeds; do
  run lr fives.lr "" 3 0.02 "$s"
  run fm fives.fm "<set name=\"embed_dim\">8</set>" 3 0.01 "$s"
  run mlp fives.mlp "<set name=\"hidden\">64,32</set>" 3 0.003 "$s"
  run fives fives.fives "<set name=\"embed_dim\">4</set><set name=\"max_pairs\">8</set><set name=\"max_triples\">4</set>" 3 0.01 "$s"
  run fives-lr fives.lr "<set name=\"crosses_file\">$work/fives-$s/interactions.tsv</set>" 3 0.02 "$s"
done

echo "| model | AUC (mean ± std) | log-loss (mean ± std) | seeds |"
echo "|---|---|---|---|"
for name in lr fm mlp fives fives-lr; do
  awk -v n="$name" '$1 == n { k++; a += $2; aa += $2 * $2; l += $3; ll += $3 * $3 }
    END { ma = a / k; ml = l / k;
          sa = k > 1 ? sqrt((aa - k * ma * ma) / (k - 1)) : 0; sl = k > 1 ? sqrt((ll - k * ml * ml) / (k - 1)) : 0;
          if (sa != sa) sa = 0; if (sl != sl) sl = 0;
          label = n == "lr" ? "LR (raw fields)" : n == "fm" ? "FM" : n == "mlp" ? "MLP" : n == "fives" ? "FIVES" : "LR + FIVES crosses";
          printf "| %s | %.4f ± %.4f | %.4f ± %.4f | %d |\n", label, ma, sa, ml, sl, k }' "$work/results"
done
