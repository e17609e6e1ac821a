#!/usr/bin/env bash
# The reproduction's long-schedule grid (docs/reproduction.md, "The c_attn grid at 2,400 steps"): the E2E-style c_attn grid of one
# seed at 2,400 steps instead of 600, every learning rate of grid.sh's lists, δ = 1e-6 only (the default), validation
# every 100 steps; the four sweeps at once. Run from the build folder of tools/report/build-gpu.mjs after
# `source .gpu/setup.sh`:
#   bash gpu-long-grid.sh "$OUT" [budget seconds, default 540]
# Writes $OUT/long-grid.tar.gz (sweep JSONs and logs) at the end, also when the budget runs out.
set -uo pipefail
out=${1:?usage: gpu-long-grid.sh OUT [budget_s]}
budget=${2:-540}
STEPS=${STEPS:-2400}
SEED=${SEED:-0}
res=results
name="e2e-cattn-long-s$SEED"
d="$res/$name"
mkdir -p "$d"
t0=$(date +%s)
pack() {
  echo "== packing at $(($(date +%s) - t0)) s"
  tar czf "$out/long-grid.tar.gz" "$d" "$res/gpu.txt" build-info.json 2>/dev/null
  ls -la "$out"
}
trap pack EXIT
trap 'exit 143' TERM INT
# shellcheck source=grid.sh
source "$(dirname "$0")/grid.sh" # the learning-rate lists, MODEL, left(); prints the GPU into $res/gpu.txt
echo "== $name: $STEPS steps, seed $SEED, at $(($(date +%s) - t0)) s, $(left) s left"
pids=()
for g in "adam:adamw,loraplus-adamw:$ADAM_LRS" "radam:riemannian-adamw:$ADAM_LRS" "sgd:sgd:$SGD_LRS" "rsgd:riemannian-sgd:$SGD_LRS"; do
  IFS=: read -r tag opts lrs <<<"$g"
  timeout "$(($(left) - 5))" node lora-lab.mjs sweep --model "$MODEL" --steps "$STEPS" --batch 8 --seq 128 --val-every 100 \
    --data data/e2e-restaurants.jsonl --targets c_attn --seed "$SEED" --optimizers "$opts" --lrs "$lrs" \
    --out "$d/$tag.json" >"$d/$tag.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for g in adam radam sgd rsgd; do tail -n 2 "$d/$g.log" | sed "s/^/  [$g] /"; done
echo "== done at $(($(date +%s) - t0)) s"
