#!/usr/bin/env bash
# The reproduction's BLEU-of-every-run call (docs/reproduction.md, "BLEU of every decoded run"). Run from the build
# folder that tools/report/build-gpu.mjs writes, after `source .gpu/setup.sh`:
#   bash gpu-bleu-all.sh "$OUT" [budget seconds, default 540]
# 1. The six E2E-style grids again with their adapters saved: c_attn seeds 0-2 (126 runs each, dampings) and all
#    modules seeds 0-2 (57 runs each), the same commands as grid() in grid.sh. GRID_SLOTS grids (4 sweeps each)
#    train at once (default 2: the sweeps share the one GPU, so more at once mostly adds switching), in ORDER.
# 2. Beside them, one bleu_batched.py process decodes every run of a grid as soon as that grid is done (many
#    adapters at once on the GPU), scores it (sacrebleu and src/eval/bleu.ts) and rewrites
#    results/bleu-all-runs.json after every batch; its self-check decodes the base model and the first adapters
#    with generate_bleu.py's HF greedy too.
# Everything but the adapters is tarred into $OUT/bleu-all-runs.tar.gz (after the trainings and at exit, also when
# the budget runs out); the logs are copied beside it.
set -uo pipefail
out=${1:?usage: gpu-bleu-all.sh OUT [budget_s]}
budget=${2:-540}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
STEPS=${STEPS:-600}
GRID_SLOTS=${GRID_SLOTS:-2}
ORDER=${ORDER:-e2e-cattn-s0 e2e-all-s0 e2e-cattn-s1 e2e-all-s1 e2e-cattn-s2 e2e-all-s2}
NEED_S=${NEED_S:-90} # do not start a grid with less time left than this (it would be cut off and only slow the others)
ALL=c_attn,attn.c_proj,mlp.c_fc,mlp.c_proj
res=results
mkdir -p "$res"
t0=$(date +%s)
stamp() { echo "[$(date -u +%H:%M:%S) +$(($(date +%s) - t0)) s] $*"; }
pack() {
  stamp "packing"
  tar czf "$out/bleu-all-runs.tar.gz.part" --exclude='adapters' --exclude='*.tmp.*' --exclude='.done' "$res" build-info.json 2>/dev/null &&
    mv "$out/bleu-all-runs.tar.gz.part" "$out/bleu-all-runs.tar.gz"
  cp "$res"/*.log "$out"/ 2>/dev/null
  ls -la "$out"
}
trap pack EXIT
trap 'exit 143' TERM INT
# shellcheck source=grid.sh
source "$(dirname "$0")/grid.sh"

dirs=()
for g in $ORDER; do dirs+=("$res/$g"); done
stamp "decoder starts (waits for each grid's .done); grids in order: $ORDER; $GRID_SLOTS at a time"
# BLEU_ARGS: extra bleu_batched.py flags (e.g. --systems 32); word-split on purpose.
# shellcheck disable=SC2086
timeout $(($(left) - 8)) "$PY" bleu_batched.py --model "$MODEL" --data data/e2e-restaurants.jsonl --bleu-js bleu.mjs \
  --out "$res/bleu-all-runs.json" --budget $(($(left) - 30)) ${BLEU_ARGS:-} --wait "${dirs[@]}" >"$res/bleu-all-runs.log" 2>&1 &
dec=$!

run_grid() { # name
  local name=$1 seed=${1##*-s}
  if [ "$(left)" -lt "$NEED_S" ]; then
    stamp "skip $name: $(left) s left"
  else
    case $name in
      e2e-cattn-*) grid "$name" e2e-restaurants.jsonl c_attn "$seed" yes ;;
      e2e-all-*) grid "$name" e2e-restaurants.jsonl "$ALL" "$seed" no ;;
    esac
  fi
  mkdir -p "$res/$name" && touch "$res/$name/.done"
  stamp "$name finished; decoder: $(tail -n 1 "$res/bleu-all-runs.log")"
}

pids=()
for g in $ORDER; do
  while [ "$(jobs -rp | grep -vx "$dec" | wc -l)" -ge "$GRID_SLOTS" ]; do sleep 1; done
  run_grid "$g" &
  pids+=($!)
done
wait "${pids[@]}"
stamp "trainings done"
pack
wait "$dec"
stamp "decoder done (rc $?)"
grep -h -e "self-check" -e "budget" -e "decoded .* systems in" -e "max |sacrebleu" "$res/bleu-all-runs.log"
stamp "all done"
