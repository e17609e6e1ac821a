#!/usr/bin/env bash
# Device call 2: fused attention v2 check and engine bench, sequential peer, GPT-2-small both, peer extras.
set -uo pipefail
R="$OUT/r"; mkdir -p "$R"
P=/opt/torch/.venv/bin/python3
export PYTHONUNBUFFERED=1
cd .perf
pack() { tar -C "$OUT" -czf "$OUT/r2.tgz.tmp" r && mv "$OUT/r2.tgz.tmp" "$OUT/r2.tgz"; }
M="--model new/model/model.onnx --data new/data/devils-dictionary.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv > "$R/gpu.txt" 2>&1
s() { echo "== $1 $((SECONDS-t0))s"; t0=$SECONDS; }
t0=$SECONDS
timeout 40 node new/bench.mjs attention-check --out "$R/attention-check.json" > "$R/attention-check.log" 2>&1
s check; tail -1 "$R/attention-check.log"; pack
timeout 90 node new/bench.mjs $M --attention-kernels-only --rs 1,4,8,16,64 --out "$R/ours.json" > "$R/ours.log" 2>&1
s ours; grep -E "FAILED|Error|attention (fwd|for|back)" "$R/ours.log" | head -40; pack
timeout 60 $P new/torch_sweep.py --attention sdpa --steps 30 --rs 1,4,8,16,64 --model new/model/model.onnx --data new/data/devils-dictionary.txt --out "$R/peer-sequential.json" > "$R/peer-sequential.log" 2>&1
s seq-peer; tail -8 "$R/peer-sequential.log"
node new/bench.mjs compare "$R/ours.json" prev/peer-batched.json "$R/peer-sequential.json" > "$R/compare.txt" 2>&1; cat "$R/compare.txt"; pack
timeout 60 node new/bench.mjs --model-size gpt2-small --sweep-only --rs 1,8 --data new/data/devils-dictionary.txt --out "$R/ours-gpt2.json" > "$R/ours-gpt2.log" 2>&1
s gpt2-ours; grep -E "^\| (1|8) \||FAILED|Error" "$R/ours-gpt2.log"; pack
timeout 60 $P new/torch_batched.py --model-size gpt2-small --rs 1,8 --modes eager,graph,bf16 --steps 5 --trials 3 --warmup 2 --data new/data/devils-dictionary.txt --out "$R/peer-gpt2.json" > "$R/peer-gpt2.log" 2>&1
s gpt2-peer; grep -vE "^W1130|warn" "$R/peer-gpt2.log" | tail -8; pack
timeout 30 $P new/torch_batched.py --rs 8 --modes graph --graph-solve cholesky_solve --out "$R/peer-graph-cholsolve.json" > "$R/peer-graph-cholsolve.log" 2>&1
s cholsolve; grep -vE "^W1130|warn" "$R/peer-graph-cholsolve.log" | tail -5; pack
timeout 60 $P new/torch_batched.py --rs 8 --modes compile --compile-rs 8 --loss-steps 1 --out "$R/peer-compile.json" > "$R/peer-compile.log" 2>&1
s compile; grep -vE "^W1130|warn" "$R/peer-compile.log" | tail -5
pack; rm -rf "$R"
