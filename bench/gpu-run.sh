#!/usr/bin/env bash
# One benchmark run on the GPU machine, ours and the PyTorch peer's, with the ratios side by side.
# Here, first: npm install; bash ../shared/gpu/pack.sh; node scripts/build-bench.mjs
# Then a device run with carry [".gpu", ".bench-build"] and the command
#   source .gpu/setup.sh; bash bench/gpu-run.sh "$OUT"
# Writes gpu.txt, peer-eager.json, peer-sdpa.json, peer.log, ours.json, ours.log, compare.txt into the
# folder given (default: ./bench-out). PYTHON picks the peer's interpreter; PEER_ARGS / BENCH_ARGS pass flags.
set -uo pipefail
out=$(mkdir -p "${1:-bench-out}" && cd "${1:-bench-out}" && pwd)
python=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.bench-build" || { echo "no .bench-build: run node scripts/build-bench.mjs first" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv 2>/dev/null | tee "$out/gpu.txt"
: >"$out/peer.log"
# The peer first: it is quick, and its figures survive if ours runs out of time.
for attention in eager sdpa; do
  # shellcheck disable=SC2086
  timeout 150 "$python" torch_sweep.py --attention "$attention" --out "$out/peer-$attention.json" ${PEER_ARGS:-} 2>&1 | tee -a "$out/peer.log"
done
# shellcheck disable=SC2086
timeout 400 node bench.mjs --out "$out/ours.json" ${BENCH_ARGS:-} 2>&1 | tee "$out/ours.log"
for attention in eager sdpa; do
  echo "=== vs the PyTorch peer, attention $attention"
  node bench.mjs compare "$out/ours.json" "$out/peer-$attention.json"
done 2>&1 | tee "$out/compare.txt"
