#!/usr/bin/env bash
# Device call 3: final figures. Engine (fused attention, 32x32 tiles), batched peer (all modes), compare
# with the sequential peer of call 2, GPT-2-small engine.
set -uo pipefail
R="$OUT/r"; mkdir -p "$R"
P=/opt/torch/.venv/bin/python3
export PYTHONUNBUFFERED=1
cd .perf
pack() { tar -C "$OUT" -czf "$OUT/r3.tgz.tmp" r && mv "$OUT/r3.tgz.tmp" "$OUT/r3.tgz"; }
M="--model new/model/model.onnx --data new/data/devils-dictionary.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv > "$R/gpu.txt" 2>&1
s() { echo "== $1 $((SECONDS-t0))s"; t0=$SECONDS; }
t0=$SECONDS
timeout 30 node new/bench.mjs attention-check --out "$R/attention-check.json" > "$R/attention-check.log" 2>&1
s check; tail -1 "$R/attention-check.log"; pack
timeout 90 node new/bench.mjs $M --attention-kernels-only --rs 1,4,8,16,64 --out "$R/ours.json" > "$R/ours.log" 2>&1
s ours; grep -E "FAILED|Error|attention fwd" "$R/ours.log" | head -20; pack
timeout 130 $P new/torch_batched.py --rs 1,4,8,16,64 --compile-rs 8 --check "$R/ours.json" --model new/model/model.onnx --data new/data/devils-dictionary.txt --out "$R/peer-batched.json" > "$R/peer-batched.log" 2>&1
s peer; grep -vE "^W1130|warn" "$R/peer-batched.log" | tail -25
node new/bench.mjs compare "$R/ours.json" "$R/peer-batched.json" prev2/peer-sequential.json > "$R/compare.txt" 2>&1; cat "$R/compare.txt"; pack
timeout 45 node new/bench.mjs --model-size gpt2-small --sweep-only --rs 1,8 --data new/data/devils-dictionary.txt --out "$R/ours-gpt2.json" > "$R/ours-gpt2.log" 2>&1
s gpt2-ours; grep -E "^\| (1|8) \||FAILED|Error" "$R/ours-gpt2.log"
pack; rm -rf "$R"
