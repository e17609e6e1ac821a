#!/usr/bin/env bash
# One device call (attention variants): built here with `node scripts/build-bench.mjs --out .perf/attn`,
# this script copied beside the bundle, then `run` with carry [".gpu", ".perf"] and the command
#   source .gpu/setup.sh; cd .perf/attn; bash run.sh
# Everything lands in $OUT/attn. The optional parts at the end run only while time is left.
set -uo pipefail
R="$OUT/attn"; mkdir -p "$R"
M="--model model/model.onnx --data data/devils-dictionary.txt"
LAB="--sweep-only --steps 30 --trials 5 --warmup 10"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv > "$R/gpu.txt" 2>&1
cat "$R/gpu.txt"
s() { echo "== $1 ${SECONDS}s"; }
timeout 30 node bench.mjs attention-check --variant both --out "$R/check.json" > "$R/check.log" 2>&1
s check; grep "attention check" "$R/check.log" || tail -5 "$R/check.log"
timeout 40 node bench.mjs attention-variants --shapes "8,128,4,64;64,128,4,64;512,128,4,64;64,256,4,64;64,512,4,64;8,1024,4,64" \
  --out "$R/variants.json" > "$R/variants.log" 2>&1
s variants; cat "$R/variants.log"
# shellcheck disable=SC2086
timeout 60 node bench.mjs $M $LAB --rs 1,8,16,64 --attention auto --out "$R/auto.json" > "$R/auto.log" 2>&1
s auto; grep -E "R=|FAILED|Error" "$R/auto.log"
# shellcheck disable=SC2086
timeout 25 node bench.mjs $M $LAB --rs 8 --attention fused --out "$R/fused-r8.json" > "$R/fused-r8.log" 2>&1
s fused-r8; grep -E "R=|FAILED|Error" "$R/fused-r8.log"
# Optional: the step at T = 256 (R = 8) with each variant; the fused step at R = 1, 16, 64.
if [ "$SECONDS" -lt 110 ]; then
  for v in passes fused; do
    # shellcheck disable=SC2086
    timeout 20 node bench.mjs $M $LAB --rs 8 --seq 256 --attention $v --out "$R/t256-$v.json" > "$R/t256-$v.log" 2>&1
    s "t256-$v"; grep -E "R=|FAILED|Error" "$R/t256-$v.log"
  done
fi
if [ "$SECONDS" -lt 130 ]; then
  # shellcheck disable=SC2086
  timeout $((155 - SECONDS)) node bench.mjs $M $LAB --rs 1,16,64 --attention fused --out "$R/fused.json" > "$R/fused.log" 2>&1
  s fused; grep -E "R=|FAILED|Error" "$R/fused.log"
fi
s done
