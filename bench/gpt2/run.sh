#!/usr/bin/env bash
# Issue 15's checks on the GPU machine, at GPT-2 small's size (12 × 768, 1024 positions, vocabulary 50,257):
#   1. a randomly initialised GPT2LMHeadModel saved by save_pretrained (with the test fixture's tokenizer.json:
#      byte-level BPE, 1,000 ids, a subset of the model's 50,257), opened by `lora-lab --model <dir>`;
#   2. the engine's first 5 losses of each optimizer against PyTorch's (same tokenized batches, same init);
#   3. PEFT loads the engine's adapter onto the checkpoint: merged logits against the engine's merged export;
#   4. tokens/s and GPU memory at R = 1, 4, 8 (batch 8 × seq 256), the engine beside the batched PyTorch peer.
# From the repository root, after `source .gpu/setup.sh`:
#   bash bench/gpt2/run.sh OUT CLI.mjs BENCH_BUILD_DIR      (CLI from tools/report/build-gpu.mjs, the bench
#                                                            build from scripts/build-bench.mjs --out DIR)
set -uo pipefail
out=${1:?usage: run.sh OUT CLI.mjs BENCH_BUILD_DIR}
cli=$(realpath "${2:?}")
bench=${3:?}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
w=$(mktemp -d)
data=public/datasets/devils-dictionary.txt
t0=$(date +%s)
step() { echo "== $* at $(($(date +%s) - t0)) s"; }

step "make the checkpoint"
"$PY" bench/gpt2/gpt2_check.py make --out "$w/gpt2-rand" --tokenizer src/io/fixtures/tiny-gpt2/tokenizer.json
mkdir -p "$w/logs"
step "engine: 5 steps of each optimizer"
for opt in sgd riemannian-sgd adamw riemannian-adamw; do
  node "$cli" train --model "$w/gpt2-rand" --data "$data" --optimizer "$opt" --lr 1e-2 --steps 5 --batch 4 --seq 128 \
    --order sequential --seed 0 --log "$w/logs/$opt.jsonl" --save-adapter "$w/ad-$opt" 2>&1 | tail -n 4
done
node "$cli" export --merged --model "$w/gpt2-rand" --adapter "$w/ad-adamw" --out "$w/merged/model.safetensors" 2>&1 | tail -n 2
step "PyTorch: the same 5 steps"
"$PY" bench/gpt2/gpt2_check.py losses --model "$w/gpt2-rand" --data "$data" --engine-logs "$w/logs" \
  --out "$out/gpt2-losses.json" --lr 1e-2 --steps 5 --batch 4 --seq 128
step "PEFT"
"$PY" bench/gpt2/gpt2_check.py peft --model "$w/gpt2-rand" --adapter "$w/ad-adamw" --merged "$w/merged/model.safetensors" \
  --data "$data" --out "$out/gpt2-peft.json"
step "timing: batched PyTorch"
(cd "$bench" && timeout 150 "$PY" torch_batched.py --model-size gpt2-small --vocab 50257 --rs 1,4,8 --modes eager,graph \
  --out "$out/gpt2-peer.json") 2>&1 | grep -v "^  [a-z-]*@" | tail -n 12
step "timing: the engine"
(cd "$bench" && timeout 200 node bench.mjs --model-size gpt2-small --vocab 50257 --sweep-only --rs 1,4,8 \
  --out "$out/gpt2-ours.json") 2>&1 | tail -n 8
step "done"
