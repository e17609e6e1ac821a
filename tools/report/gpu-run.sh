#!/usr/bin/env bash
# The reproduction's one GPU call (docs/reproduction.md). Run from the build folder that
# tools/report/build-gpu.mjs writes, after `source .gpu/setup.sh`:
#   bash gpu-run.sh "$OUT" [budget seconds, default 470]
# Everything finished is tarred into $OUT/repro.tar.gz at the end, also when the budget runs out.
set -uo pipefail
out=${1:?usage: gpu-run.sh OUT [budget_s]}
budget=${2:-470}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
STEPS=${STEPS:-600}
SEEDS=${SEEDS:-0 1 2}
res=results
mkdir -p "$res"
t0=$(date +%s)
pack() {
  echo "== packing at $(($(date +%s) - t0)) s"
  tar czf "$out/repro.tar.gz" --exclude='adapters' "$res" build-info.json 2>/dev/null
  cp "$res"/*.log "$out"/ 2>/dev/null
  ls -la "$out"
}
trap pack EXIT
trap 'exit 143' TERM INT

# The grids' learning rates, dampings, common flags and grid(): grid.sh beside this file.
# shellcheck source=grid.sh
source "$(dirname "$0")/grid.sh"

# 1. The PEFT / float32-torch cross-check, in the background (small).
( timeout 200 bash -c '
  set -x
  node lora-lab.mjs train --model '"$MODEL"' --data data/devils-dictionary.txt --optimizer adamw --lr 1e-2 --steps 1 --order sequential --save-adapter check/init-nz
  '"$PY"' peft_check.py make-zero-init check/init-nz check/init-zero
  for init in nz zero; do for order in paper old-iterate; do
    node lora-lab.mjs train --model '"$MODEL"' --data data/devils-dictionary.txt --optimizer riemannian-adamw --lr 1e-3 --steps 20 \
      --order sequential --init-adapter check/init-$init --preconditioner-order $order --log check/engine-$init-$order.jsonl
  done; done
  '"$PY"' peft_check.py compare --model '"$MODEL"' --data data/devils-dictionary.txt --lr 1e-3 --steps 20 --check-dir check --out check/peft-check.json
' >"$res/peft-check.log" 2>&1; cp check/peft-check.json "$res/" 2>/dev/null; cp check/*.jsonl "$res/" 2>/dev/null; echo "== peft check done at $(($(date +%s) - t0)) s" ) &
peft_pid=$!

# 2. E2E-style set, LoRA on c_attn, 3 seeds, δ axis.
for s in $SEEDS; do grid "e2e-cattn-s$s" e2e-restaurants.jsonl c_attn "$s" yes; done

# 3. BLEU of each optimizer's best LR per seed (GPU greedy decoding, background), then the two other settings.
( timeout "$(left)" "$PY" generate_bleu.py --model "$MODEL" --data data/e2e-restaurants.jsonl --results "$res" \
    --bleu-js bleu.mjs --out "$res/bleu.json" >"$res/bleu.log" 2>&1; echo "== bleu done at $(($(date +%s) - t0)) s" ) &
bleu_pid=$!
grid e2e-all-s0 e2e-restaurants.jsonl c_attn,attn.c_proj,mlp.c_fc,mlp.c_proj 0 no &
g1=$!
grid devils-cattn-s0 devils-dictionary.txt c_attn 0 no &
g2=$!
wait $g1 $g2 $bleu_pid $peft_pid
echo "== all done at $(($(date +%s) - t0)) s"
