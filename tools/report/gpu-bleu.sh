#!/usr/bin/env bash
# The reproduction's second GPU call (docs/reproduction.md): re-train each optimizer's best E2E run (picked from
# the first call's sweep JSONs by select_best.py; same seed, flags and batches, now with its adapter saved),
# then greedy completions of the validation prompts and BLEU (sacrebleu and ours) by generate_bleu.py.
#   bash gpu-bleu.sh "$OUT"        (in the build folder, with select.json and runs.txt beside it)
# Allow about 4 minutes (timeout_s 240): a first try with 10 trainings at once and a 130 s limit returned nothing.
set -uo pipefail
out=${1:?usage: gpu-bleu.sh OUT}
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
export PYTHONUNBUFFERED=1
MODEL=models/lab-gpt/model.onnx
t0=$(date +%s)
mkdir -p rerun
pack() { tar czf "$out/bleu.tar.gz" --exclude='best-adapters' rerun build-info.json select.json runs.txt 2>/dev/null; ls -la "$out"; }
trap pack EXIT
trap 'exit 143' TERM INT
while read -r d seed opt lr targets; do
  timeout 120 node lora-lab.mjs sweep --model "$MODEL" --steps 600 --batch 8 --seq 128 --val-every 25 \
    --data data/e2e-restaurants.jsonl --targets "$targets" --seed "$seed" --optimizers "$opt" --lrs "$lr" \
    --out "rerun/$d.json" --save-adapter "rerun/$d" >"rerun/$d.log" 2>&1 &
  while [ "$(jobs -rp | wc -l)" -ge 3 ]; do sleep 0.2; done
done <runs.txt
wait
echo "== re-training done at $(($(date +%s) - t0)) s"; grep -h "final loss" rerun/*.log
timeout 75 "$PY" generate_bleu.py --model "$MODEL" --data data/e2e-restaurants.jsonl --results rerun \
  --select select.json --bleu-js bleu.mjs --out rerun/bleu.json 2>&1 | tee rerun/bleu.log
echo "== done at $(($(date +%s) - t0)) s"
