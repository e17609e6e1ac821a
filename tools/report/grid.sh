# Sourced by gpu-run.sh and gpu-rerun.sh (the reproduction's GPU calls): the grids' learning rates, dampings,
# common flags, and grid(), which runs one setting's four lockstep sweeps at once. Needs t0, budget and res set.
# Learning-rate grids: half-decade steps. AdamW-like optimizers 1e-5 … 1 (11 values, 5 decades);
# SGD-like 1e-3 … 10^2.5 (12 values, 5.5 decades). Dampings for the Riemannian ones: 4 values.
ADAM_LRS=${ADAM_LRS:-1e-5,3.1623e-5,1e-4,3.1623e-4,1e-3,3.1623e-3,1e-2,3.1623e-2,1e-1,3.1623e-1,1}
SGD_LRS=${SGD_LRS:-1e-3,3.1623e-3,1e-2,3.1623e-2,1e-1,3.1623e-1,1,3.1623,10,31.623,100,316.23}
DAMPINGS=${DAMPINGS:-1e-8,1e-6,1e-4,1e-2}
MODEL=${MODEL:-models/lab-gpt/model.onnx}
COMMON="--model $MODEL --steps $STEPS --batch 8 --seq 128 --val-every 25"

{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv; cat build-info.json; echo; } | tee "$res/gpu.txt"

left() { echo $((budget - ($(date +%s) - t0))); }

# One grid: 4 lockstep sweeps in parallel (their LR lists differ), one folder.
grid() { # name data targets seed dampings(yes|no)
  local name=$1 data=$2 targets=$3 seed=$4 damp=$5 d="$res/$1"
  mkdir -p "$d"
  local dflag="" ; [ "$damp" = yes ] && dflag="--dampings $DAMPINGS"
  local l; l=$(left); [ "$l" -lt 30 ] && { echo "skip $name: ${l}s left"; return; }
  echo "== grid $name (data $data, targets $targets, seed $seed, dampings $damp) at $(($(date +%s) - t0)) s, ${l}s left"
  local pids=()
  for g in "adam:adamw,loraplus-adamw:$ADAM_LRS:" "radam:riemannian-adamw:$ADAM_LRS:$dflag" "sgd:sgd:$SGD_LRS:" "rsgd:riemannian-sgd:$SGD_LRS:$dflag"; do
    IFS=: read -r tag opts lrs extra <<<"$g"
    # shellcheck disable=SC2086
    timeout "$l" node lora-lab.mjs sweep $COMMON --data "data/$data" --targets "$targets" --seed "$seed" \
      --optimizers "$opts" --lrs "$lrs" $extra --out "$d/$tag.json" --save-adapter "$d/adapters/$tag" \
      >"$d/$tag.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for g in adam radam sgd rsgd; do tail -n 3 "$d/$g.log" | sed "s/^/  [$name $g] /"; done
  echo "== grid $name done at $(($(date +%s) - t0)) s"
}

