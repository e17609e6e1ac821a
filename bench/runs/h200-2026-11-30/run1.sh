#!/usr/bin/env bash
# Device call 1: fused attention check, our engine (new attention), the batched PyTorch peer, compare, old engine.
set -uo pipefail
R="$OUT/r"; mkdir -p "$R"
P=/opt/torch/.venv/bin/python3
export PYTHONUNBUFFERED=1
cd .perf
pack() { tar -C "$OUT" -czf "$OUT/r1.tgz.tmp" r && mv "$OUT/r1.tgz.tmp" "$OUT/r1.tgz"; }
M="--model new/model/model.onnx --data new/data/devils-dictionary.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv > "$R/gpu.txt" 2>&1
t0=$SECONDS
timeout 60 node new/bench.mjs attention-check --out "$R/attention-check.json" > "$R/attention-check.log" 2>&1
echo "attention-check $((SECONDS-t0))s"; tail -2 "$R/attention-check.log"; pack
t0=$SECONDS
timeout 110 node new/bench.mjs $M --attention-kernels-only --rs 1,4,8,16,64 --out "$R/ours.json" > "$R/ours.log" 2>&1
echo "ours $((SECONDS-t0))s"; grep -E "FAILED|Error" "$R/ours.log" | head; pack
t0=$SECONDS
(cd new && timeout 140 $P torch_batched.py --rs 1,4,8,16,64 --check "$R/ours.json" --out "$R/peer-batched.json") > "$R/peer-batched.log" 2>&1
echo "peer-batched $((SECONDS-t0))s"; tail -30 "$R/peer-batched.log"
node new/bench.mjs compare "$R/ours.json" "$R/peer-batched.json" > "$R/compare.txt" 2>&1; cat "$R/compare.txt"; pack
t0=$SECONDS
timeout 55 node old/bench.mjs $M --skip-kernels --rs 1,4,8,16,64 --out "$R/ours-old.json" > "$R/ours-old.log" 2>&1
echo "ours-old $((SECONDS-t0))s"
pack; rm -rf "$R"
