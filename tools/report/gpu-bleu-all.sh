#!/usr/bin/env bash
# The reproduction's BLEU-of-every-run call (docs/reproduction.md, "BLEU of every decoded run"). Run from the build
# folder that tools/report/build-gpu.mjs writes, after `source .gpu/setup.sh`:
#   bash gpu-bleu-all.sh "$OUT" [budget seconds, default 540]
# 1. The six E2E-style grids again with their adapters saved: c_attn seeds 0-2 (126 runs each, dampings) and all
#    modules seeds 0-2 (57 runs each), the same sweep commands as grid() in grid.sh. The 24 sweeps run from a queue,
#    SLOTS at a time (default 8: the processes share the one GPU, which earlier calls suggest is busy from about
#    8 on, so more at once mostly adds switching), grids in ORDER (default: the settings alternate, so that a
#    budget cut loses seed 2 rather than a whole setting).
# 2. Beside them, one bleu_batched.py process decodes every run of a grid as soon as that grid is done (many
#    adapters at once on the GPU), scores it (sacrebleu and src/eval/bleu.ts) and rewrites
#    results/bleu-all-runs.json after every batch; its self-check decodes the base model and 3 runs of the first grid
#    done one at a time with generate_bleu.py's HF greedy too (identical completions, BLEU difference).
# Everything but the adapters and generations is tarred into $OUT/bleu-all-runs.tar.gz, the generations (one
# .json.gz per grid) into $OUT/bleu-all-generations.tar (after the trainings and at exit, also when the budget runs
# out); the decoder's log is copied beside them.
set -uo pipefail
out=${1:?usage: gpu-bleu-all.sh OUT [budget_s]}
budget=${2:-540}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
STEPS=${STEPS:-600}
SLOTS=${SLOTS:-8}
ORDER=${ORDER:-e2e-cattn-s0 e2e-all-s0 e2e-cattn-s1 e2e-all-s1 e2e-cattn-s2 e2e-all-s2}
NEED_S=${NEED_S:-60} # do not start a sweep with less time left than this (it would be cut off and only slow the others)
ALL=c_attn,attn.c_proj,mlp.c_fc,mlp.c_proj
res=results
mkdir -p "$res"
t0=$(date +%s)
stamp() { echo "[$(date -u +%H:%M:%S) +$(($(date +%s) - t0)) s] $*"; }
pack() {
  stamp "packing"
  # Two files (each comes back only under 16 MiB): sweeps, logs and BLEU; the generations (already gzipped).
  tar czf "$out/bleu-all-runs.tar.gz.part" --exclude='adapters' --exclude='*.tmp.*' --exclude='.done' --exclude='.*.end' \
    --exclude='*-generations-*' "$res" build-info.json 2>/dev/null && mv "$out/bleu-all-runs.tar.gz.part" "$out/bleu-all-runs.tar.gz"
  ls "$res"/*-generations-*.json.gz >/dev/null 2>&1 && tar cf "$out/bleu-all-generations.tar.part" "$res"/*-generations-*.json.gz &&
    mv "$out/bleu-all-generations.tar.part" "$out/bleu-all-generations.tar"
  cp "$res"/*.log "$out"/ 2>/dev/null
  ls -la "$out"
}
trap pack EXIT
trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM INT
# shellcheck source=grid.sh
source "$(dirname "$0")/grid.sh"

dirs=()
for g in $ORDER; do dirs+=("$res/$g"); done
stamp "decoder starts (waits for each grid's .done); grids in order: $ORDER; $SLOTS sweeps at a time"
# BLEU_ARGS: extra bleu_batched.py flags (e.g. --systems 32); word-split on purpose.
# shellcheck disable=SC2086
timeout $(($(left) - 8)) "$PY" bleu_batched.py --model "$MODEL" --data data/e2e-restaurants.jsonl --bleu-js bleu.mjs \
  --out "$res/bleu-all-runs.json" --budget $(($(left) - 30)) ${BLEU_ARGS:-} --wait "${dirs[@]}" >"$res/bleu-all-runs.log" 2>&1 &
dec=$!

# One sweep of a grid: the same command as grid() in grid.sh (its flags, LR lists and dampings), one process. When
# the grid's fourth sweep ends, its .done marker tells the decoder to start on it.
sweep() { # grid-name tag
  local name=$1 tag=$2 d="$res/$1" seed=${1##*-s} targets damp opts lrs extra="" l rc
  case $name in
    e2e-cattn-*) targets=c_attn damp=yes ;;
    *) targets=$ALL damp=no ;;
  esac
  case $tag in
    adam) opts=adamw,loraplus-adamw lrs=$ADAM_LRS ;;
    radam) opts=riemannian-adamw lrs=$ADAM_LRS ;;
    sgd) opts=sgd lrs=$SGD_LRS ;;
    rsgd) opts=riemannian-sgd lrs=$SGD_LRS ;;
  esac
  case $tag in radam | rsgd) [ "$damp" = yes ] && extra="--dampings $DAMPINGS" ;; esac
  l=$(left)
  if [ "$l" -lt "$NEED_S" ]; then
    stamp "skip $name $tag: ${l} s left"
  else
    # shellcheck disable=SC2086
    timeout "$l" node lora-lab.mjs sweep $COMMON --data data/e2e-restaurants.jsonl --targets "$targets" --seed "$seed" \
      --optimizers "$opts" --lrs "$lrs" $extra --out "$d/$tag.json" --save-adapter "$d/adapters/$tag" >"$d/$tag.log" 2>&1
    rc=$?
    stamp "[$name $tag] rc $rc: $(tail -n 1 "$d/$tag.log")"
  fi
  touch "$d/.$tag.end"
  if [ -e "$d/.adam.end" ] && [ -e "$d/.radam.end" ] && [ -e "$d/.sgd.end" ] && [ -e "$d/.rsgd.end" ] && [ ! -e "$d/.done" ]; then
    touch "$d/.done"
    stamp "== grid $name done; decoder: $(tail -n 1 "$res/bleu-all-runs.log")"
  fi
}

# The 24 sweeps in a queue, SLOTS at a time: grids in ORDER, each grid's largest sweeps first.
for g in $ORDER; do
  mkdir -p "$res/$g"
  case $g in e2e-cattn-*) tags="rsgd radam adam sgd" ;; *) tags="adam radam rsgd sgd" ;; esac
  for tag in $tags; do
    while [ "$(jobs -rp | grep -cvx "$dec")" -ge "$SLOTS" ]; do sleep 0.5; done
    stamp "start $g $tag ($(left) s left)"
    sweep "$g" "$tag" &
  done
done
for p in $(jobs -rp | grep -vx "$dec"); do wait "$p"; done
stamp "trainings done"
pack
wait "$dec"
stamp "decoder done (rc $?)"
grep -h -e "self-check" -e "budget" -e "decoded .* systems in" -e "max |sacrebleu" "$res/bleu-all-runs.log"
stamp "all done"
