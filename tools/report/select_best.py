#!/usr/bin/env python3
"""Pick each optimizer's best learning rate per E2E grid (lowest final validation loss, not diverged, damping 1e-6)
from the sweep JSONs, for re-training on the GPU with adapters saved (gpu-bleu.sh) and BLEU (generate_bleu.py).

  select_best.py <results dir> <out dir>   writes <out dir>/select.json and <out dir>/runs.txt
"""

import glob
import json
import os
import re
import sys

DEFAULT_DAMPING = 1e-6


def final_val(run):
    v = run["validation"]
    return v[-1]["loss"] if v else float("inf")


def best_runs(grid_dir):
    """optimizer -> (run, sweep file tag) with the lowest final validation loss, not diverged, δ = 1e-6."""
    best = {}
    for path in sorted(glob.glob(os.path.join(grid_dir, "*.json"))):
        tag = os.path.splitext(os.path.basename(path))[0]
        res = json.load(open(path))
        for run in res["runs"]:
            if run["divergedAtStep"] is not None or abs(run["hyper"]["damping"] - DEFAULT_DAMPING) > 1e-12:
                continue
            loss = final_val(run)
            if loss != loss:  # NaN
                continue
            cur = best.get(run["optimizer"])
            if cur is None or loss < final_val(cur[0]):
                best[run["optimizer"]] = (run, tag)
    return best



def main():
    res, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    select, lines = {}, []
    for grid in sorted(glob.glob(os.path.join(res, "e2e-*-s*"))):
        setting, seed = re.search(r"e2e-(\w+)-s(\d+)$", grid).groups()
        targets = json.load(open(glob.glob(os.path.join(grid, "*.json"))[0]))["config"]["lora"]["targets"]
        for opt, (run, _) in sorted(best_runs(grid).items()):
            name = f"{setting}/{opt}/s{seed}"
            d = name.replace("/", "-")
            select[name] = {"setting": setting, "optimizer": opt, "seed": int(seed), "runId": run["id"], "lr": run["lr"],
                            "finalVal": final_val(run), "adapter": f"rerun/{d}", "rerun": f"rerun/{d}.json"}
            lines.append(f"{d} {seed} {opt} {run['lr']} {','.join(targets)}")
    json.dump(select, open(os.path.join(out, "select.json"), "w"), indent=1)
    open(os.path.join(out, "runs.txt"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
