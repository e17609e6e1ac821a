#!/usr/bin/env bash
# The reproduction's re-run call (docs/reproduction.md, "Re-running the recorded commands"). Run from the build
# folder that tools/report/build-gpu.mjs writes, after `source .gpu/setup.sh`:
#   bash gpu-rerun.sh "$OUT" [budget seconds, default 540]
# 1. The recorded E2E c_attn grid of seed 0 again (the same command as gpu-run.sh), adapters saved.
# 2. Beside it: each optimizer's best c_attn run of every seed (runs-long.txt, picked by select_best.py from the
#    recorded results) for LONG_STEPS steps, to see whether 600 steps had flattened.
# 3. The all-modules setting for seeds 0, 1, 2 (the first call ran seed 0 only), adapters saved.
# 4. BLEU of every run of 1 and 3 (bleu_all.py: greedy on the GPU, sacrebleu and ours), as their grids finish.
# Everything finished is tarred into $OUT/rerun.tar.gz at the end, also when the budget runs out.
set -uo pipefail
out=${1:?usage: gpu-rerun.sh OUT [budget_s]}
budget=${2:-540}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
STEPS=${STEPS:-600}
LONG_STEPS=${LONG_STEPS:-2400}
res=results
mkdir -p "$res"
t0=$(date +%s)
pack() {
  echo "== packing at $(($(date +%s) - t0)) s"
  tar czf "$out/rerun.tar.gz" --exclude='adapters' --exclude='*-generations.json' "$res" build-info.json 2>/dev/null
  cp "$res"/*.log "$out"/ 2>/dev/null
  ls -la "$out"
}
trap pack EXIT
trap 'exit 143' TERM INT
# shellcheck source=grid.sh
source "$(dirname "$0")/grid.sh"

bleu() { # name grid...
  local name=$1; shift
  timeout "$(left)" "$PY" bleu_all.py --model "$MODEL" --data data/e2e-restaurants.jsonl --out "$res/bleu-$name.json" \
    --budget $(($(left) - 40)) "$@" >"$res/bleu-$name.log" 2>&1
  echo "== bleu $name done at $(($(date +%s) - t0)) s: $(tail -n 1 "$res/bleu-$name.log")"
}

# 2. Long schedule, 3 trainings at a time, in the background.
mkdir -p recorded && tar xzf recorded.tar.gz -C recorded && "$PY" select_best.py recorded/results recorded/best >/dev/null &&
  cp recorded/best/runs.txt runs-long.txt
(
  mkdir -p "$res/long"
  while read -r d seed opt lr targets; do
    case $d in cattn-*) ;; *) continue ;; esac
    timeout "$(left)" node lora-lab.mjs sweep --model "$MODEL" --steps "$LONG_STEPS" --batch 8 --seq 128 --val-every 100 \
      --data data/e2e-restaurants.jsonl --targets "$targets" --seed "$seed" --optimizers "$opt" --lrs "$lr" \
      --out "$res/long/$d.json" >"$res/long/$d.log" 2>&1 &
    while [ "$(jobs -rp | wc -l)" -ge 3 ]; do sleep 0.5; done
  done <runs-long.txt
  wait
  echo "== long schedule done at $(($(date +%s) - t0)) s"
) &
long_pid=$!

# 1. The recorded c_attn grid, seed 0; then its BLEU in the background.
grid e2e-cattn-s0 e2e-restaurants.jsonl c_attn 0 yes
bleu cattn-s0 "$res/e2e-cattn-s0" &
b1=$!

# 3. All modules, seeds 0..2, at once; then their BLEU.
ALL=c_attn,attn.c_proj,mlp.c_fc,mlp.c_proj
for s in 0 1 2; do grid "e2e-all-s$s" e2e-restaurants.jsonl "$ALL" "$s" no & done
wait $(jobs -rp | grep -v -e "^$long_pid\$" -e "^$b1\$")
bleu all "$res"/e2e-all-s0 "$res"/e2e-all-s1 "$res"/e2e-all-s2
wait $b1 $long_pid
echo "== all done at $(($(date +%s) - t0)) s"
