#!/usr/bin/env python3
"""BLEU of every run of the reproduction's E2E-style grids (docs/reproduction.md), on the GPU machine.

For each grid folder given (written by gpu-rerun.sh: sweep JSONs + `adapters/<sweep>/<run id>/` PEFT folders),
every run's adapter is merged into lab-gpt by hand (W += (alpha/r) · (B·A)ᵀ for the Conv1D layout: no PEFT
loading, which once took a local path for a hub id), and the validation prompts are completed greedily on the
GPU (generate_bleu.py's `greedy`: batched, KV cache, stop at "\\n" or at n_positions). Corpus BLEU by sacrebleu
and by our TypeScript (bleu.mjs, src/eval/bleu.ts) on the same outputs; the largest difference is stored.

  bleu_all.py --model models/lab-gpt/model.onnx --data data/e2e-restaurants.jsonl --out bleu-runs.json GRID...
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_bleu import greedy, validation_and_model  # noqa: E402

PREFIX = "base_model.model."


def adapter_deltas(folder, device):
    """{parameter name: ΔW in the Conv1D layout [in, out]} of a PEFT LoRA folder."""
    cfg = json.load(open(os.path.join(folder, "adapter_config.json")))
    scale = cfg["lora_alpha"] / cfg["r"]
    t = load_file(os.path.join(folder, "adapter_model.safetensors"), device=str(device))
    out = {}
    for k, a in t.items():
        if not k.endswith(".lora_A.weight"):
            continue
        b = t[k.replace(".lora_A.", ".lora_B.")]
        name = k[len(PREFIX) :].replace(".lora_A.weight", ".weight")
        out[name] = scale * (b.double() @ a.double()).T.float()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--bleu-js", default="bleu.mjs")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=1e9, help="stop decoding after this many seconds")
    ap.add_argument("grids", nargs="+")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda")
    import sacrebleu

    prompts, refs, n_positions, model = validation_and_model(a.data, a.val_fraction, a.model, device)
    params = dict(model.named_parameters())
    t0 = time.time()
    systems, meta = {"base": greedy(model, prompts, n_positions, device)}, {"base": {}}
    for grid in a.grids:
        for path in sorted(glob.glob(os.path.join(grid, "*.json"))):
            tag = os.path.splitext(os.path.basename(path))[0]
            for run in json.load(open(path))["runs"]:
                if time.time() - t0 > a.budget:
                    break
                folder = os.path.join(grid, "adapters", tag, re.sub(r"[^A-Za-z0-9._-]", "_", run["id"]))
                name = f"{os.path.basename(grid)}/{run['id']}"
                if not os.path.exists(os.path.join(folder, "adapter_model.safetensors")):
                    print(f"{name}: no adapter at {folder}")
                    continue
                deltas = adapter_deltas(folder, device)
                saved = {k: params[k].detach().clone() for k in deltas}
                with torch.no_grad():
                    for k, d in deltas.items():
                        params[k].add_(d)
                    systems[name] = greedy(model, prompts, n_positions, device)
                    for k, w in saved.items():
                        params[k].copy_(w)
                v = run["validation"]
                meta[name] = {"grid": os.path.basename(grid), "sweep": tag, "runId": run["id"], "optimizer": run["optimizer"],
                              "lr": run["lr"], "damping": run["hyper"]["damping"], "divergedAtStep": run["divergedAtStep"],
                              "finalVal": v[-1]["loss"] if v else None}
    print(f"decoded {len(systems)} systems in {time.time() - t0:.1f} s")
    gen_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), "bleu-runs-generations.json")
    json.dump({"prompts": prompts, "refs": refs, "systems": systems}, open(gen_path, "w"))
    ours_path = gen_path.replace("generations", "ours")
    subprocess.run(["node", a.bleu_js, gen_path, ours_path], check=True)
    ours = json.load(open(ours_path))
    report, worst = {}, 0.0
    for name, hyps in systems.items():
        sb = sacrebleu.corpus_bleu(hyps, [refs]).score
        worst = max(worst, abs(sb - ours[name]["score"]))
        report[name] = {**meta[name], "sacrebleu": sb, "ours": ours[name]["score"]}
    print(f"max |sacrebleu - ours| = {worst:.3e} over {len(systems)} systems, {len(prompts)} prompts")
    json.dump({"prompts": len(prompts), "sacrebleu": sacrebleu.__version__, "maxAbsDiff": worst, "systems": report}, open(a.out, "w"))


if __name__ == "__main__":
    main()
