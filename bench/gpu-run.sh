#!/usr/bin/env bash
# One benchmark run on the GPU machine: ours and the PyTorch peers, with the ratios side by side.
# Here, first: npm install; bash ../shared/gpu/pack.sh; node scripts/build-bench.mjs [--out <dir>]
# Then a device run with carry [".gpu", ".bench-build"] (or the folder built into) and the command
#   source .gpu/setup.sh; bash bench/gpu-run.sh "$OUT"          (BUILD=<dir> for another build folder)
# Peers: torch_batched.py (all runs batched in one step; its CUDA-graphed step is the reference of the
# ratios) and torch_sweep.py (runs one after another, SDPA: the old peer, a second row).
# Writes gpu.txt, peer-batched.json, peer-sequential.json, peer.log, ours.json, ours.log, compare.txt into
# the folder given (default: ./bench-out). PYTHON picks the peers' interpreter; BATCHED_ARGS, PEER_ARGS,
# BENCH_ARGS pass flags; RS the R values (default 1,4,8,16,64).
set -uo pipefail
out=$(mkdir -p "${1:-bench-out}" && cd "${1:-bench-out}" && pwd)
python=${PYTHON:-/opt/torch/.venv/bin/python3}
rs=${RS:-1,4,8,16,64}
export PYTHONUNBUFFERED=1
cd "${BUILD:-$(dirname "$0")/../.bench-build}" || { echo "no build folder: run node scripts/build-bench.mjs first" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu --format=csv 2>/dev/null | tee "$out/gpu.txt"
: >"$out/peer.log"
# The peers first: their figures survive if ours runs out of time.
# shellcheck disable=SC2086
timeout "${BATCHED_TIMEOUT:-200}" "$python" torch_batched.py --rs "$rs" --out "$out/peer-batched.json" ${BATCHED_ARGS:-} 2>&1 | tee -a "$out/peer.log"
# shellcheck disable=SC2086
timeout "${PEER_TIMEOUT:-150}" "$python" torch_sweep.py --attention sdpa --rs "$rs" --out "$out/peer-sequential.json" ${PEER_ARGS:-} 2>&1 | tee -a "$out/peer.log"
# shellcheck disable=SC2086
timeout "${BENCH_TIMEOUT:-400}" node bench.mjs --out "$out/ours.json" --rs "$rs" ${BENCH_ARGS:-} 2>&1 | tee "$out/ours.log"
node bench.mjs compare "$out/ours.json" "$out/peer-batched.json" "$out/peer-sequential.json" 2>&1 | tee "$out/compare.txt"
