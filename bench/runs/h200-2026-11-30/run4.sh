#!/usr/bin/env bash
# Device call 4: the engine with the final tile order (peers from calls 2 and 3).
set -uo pipefail
R="$OUT/r"; mkdir -p "$R"
cd .perf
pack() { tar -C "$OUT" -czf "$OUT/r4.tgz.tmp" r && mv "$OUT/r4.tgz.tmp" "$OUT/r4.tgz"; }
M="--model new/model/model.onnx --data new/data/devils-dictionary.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv > "$R/gpu.txt" 2>&1
s() { echo "== $1 $((SECONDS-t0))s"; t0=$SECONDS; }
t0=$SECONDS
timeout 20 node new/bench.mjs attention-check --out "$R/attention-check.json" > "$R/attention-check.log" 2>&1
s check; tail -1 "$R/attention-check.log"; pack
timeout 75 node new/bench.mjs $M --attention-kernels-only --rs 1,4,8,16,64 --out "$R/ours.json" > "$R/ours.log" 2>&1
s ours; grep -E "FAILED|Error|attention fwd" "$R/ours.log" | head -20
node new/bench.mjs compare "$R/ours.json" prev3/peer-batched.json prev2/peer-sequential.json > "$R/compare.txt" 2>&1; cat "$R/compare.txt"; pack
timeout 40 node new/bench.mjs --model-size gpt2-small --sweep-only --rs 1,8 --data new/data/devils-dictionary.txt --out "$R/ours-gpt2.json" > "$R/ours-gpt2.log" 2>&1
s gpt2-ours; grep -E "^\| (1|8) \||FAILED|Error" "$R/ours-gpt2.log"
pack; rm -rf "$R"
