#!/usr/bin/env python3
"""BLEU of the reproduction's E2E-style runs (docs/reproduction.md), on the GPU machine.

For every `<results>/e2e-cattn-s*/` grid: each optimizer's best learning rate (lowest final validation loss
among the runs that did not diverge, at the default damping 1e-6) is picked from the sweep JSONs, its saved
PEFT adapter is merged into a GPT2LMHeadModel built from lab-gpt's weights, and the validation prompts (the
last 10 % of the JSONL examples, as the engine's split) are completed greedily (argmax, lowest byte on ties;
KV cache; stop at the first "\\n" or at n_positions = 256 positions). The base model is scored too.
Corpus BLEU is computed twice on the same outputs: by sacrebleu (defaults) and by our TypeScript
(`node bleu.mjs`, src/eval/bleu.ts); the difference is printed and stored.
"""

import argparse
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peft_check import hf_model  # noqa: E402
from select_best import best_runs, final_val  # noqa: E402
from torch_sweep import read_weights  # noqa: E402

@torch.no_grad()
def greedy(model, prompts, n_positions, device, stop=10):
    """Batched greedy completion of byte prompts (left-padded, explicit positions, KV cache)."""
    enc = [list(p.encode("utf-8")) for p in prompts]
    N, P = len(enc), max(len(e) for e in enc)
    ids = torch.zeros(N, P, dtype=torch.long, device=device)
    mask = torch.zeros(N, P, dtype=torch.long, device=device)
    for i, e in enumerate(enc):
        ids[i, P - len(e) :] = torch.tensor(e, device=device)
        mask[i, P - len(e) :] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
    lengths = torch.tensor([len(e) for e in enc], device=device)
    gen = [[] for _ in range(N)]
    done = torch.zeros(N, dtype=torch.bool, device=device)
    nxt = out.logits[:, -1].argmax(-1)
    cur = lengths.clone()  # positions used so far
    past = out.past_key_values
    while True:
        nl, dl = nxt.tolist(), done.tolist()
        for i in range(N):
            if dl[i]:
                continue
            if nl[i] == stop:
                done[i] = True
            else:
                gen[i].append(nl[i])
        done |= cur >= n_positions  # feeding the byte just made would need position n_positions
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones(N, 1, dtype=torch.long, device=device)], 1)
        # Finished rows keep being fed (their output is ignored); clamp their positions into the table.
        pos = cur.clamp(max=n_positions - 1)[:, None]
        out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos, past_key_values=past, use_cache=True)
        past = out.past_key_values
        cur = cur + 1
        nxt = out.logits[:, -1].argmax(-1)
    return [bytes(g).decode("utf-8", errors="replace") for g in gen]


def validation_and_model(data, val_fraction, model_path, device):
    """The validation prompts and references (the last val_fraction of the JSONL examples, as the engine splits
    them), the model's n_positions, and lab-gpt as a GPT2LMHeadModel on the device."""
    lines = [json.loads(l) for l in open(data, encoding="utf-8") if l.strip()]
    n_val = min(len(lines) - 1, max(1, round(len(lines) * val_fraction)))
    val = lines[len(lines) - n_val :]
    cfg_path = os.path.join(os.path.dirname(model_path), "config.json")
    weights, _ = read_weights(model_path)
    model = hf_model(weights, cfg_path, device)
    return [ex["prompt"] for ex in val], [ex["completion"] for ex in val], json.load(open(cfg_path))["n_positions"], model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--bleu-js", default="bleu.mjs")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--select", help="JSON of the runs to score (adapters re-trained by gpu-bleu.sh)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda")
    import sacrebleu
    from peft import PeftModel

    prompts, refs, n_positions, base = validation_and_model(a.data, a.val_fraction, a.model, device)
    systems, meta = {}, {}
    t = time.time()
    systems["base"] = greedy(base, prompts, n_positions, device)
    meta["base"] = {"optimizer": "base model (no adapter)"}
    if a.select:
        # Re-trained best runs (same seed, flags and batches as in the grid): { name: {adapter, rerun, finalVal, ...} }.
        chosen = json.load(open(a.select))
    else:
        chosen = {}
        for grid in sorted(glob.glob(os.path.join(a.results, "e2e-cattn-s*"))):
            seed = int(re.search(r"-s(\d+)$", grid).group(1))
            for opt, (run, tag) in sorted(best_runs(grid).items()):
                ad = os.path.join(grid, "adapters", tag, re.sub(r"[^A-Za-z0-9._-]", "_", run["id"]))
                chosen[f"{opt}/s{seed}"] = {"optimizer": opt, "seed": seed, "runId": run["id"], "lr": run["lr"], "finalVal": final_val(run), "adapter": ad}
    for name, m in chosen.items():
        try:
            ad = m["adapter"]
            if m.get("rerun") and os.path.exists(m["rerun"]):
                rerun = json.load(open(m["rerun"]))["runs"][0]
                m["rerunFinalVal"] = final_val(rerun)
            model = PeftModel.from_pretrained(copy.deepcopy(base), ad).merge_and_unload().eval()
            systems[name] = greedy(model, prompts, n_positions, device)
            meta[name] = m
            shutil.copytree(ad, os.path.join(a.results, "best-adapters", name.replace("/", "-")), dirs_exist_ok=True)
            print(f"{name}: {m['runId']} val {m['finalVal']:.4f} (rerun {m.get('rerunFinalVal', float('nan')):.4f}), {time.time() - t:.1f} s")
        except Exception as e:  # noqa: BLE001
            print(f"{name}: FAILED {type(e).__name__}: {e}")
    print(f"generation done in {time.time() - t:.1f} s")
    gen_path = os.path.join(a.results, "generations.json")
    json.dump({"prompts": prompts, "refs": refs, "systems": systems}, open(gen_path, "w"), indent=1)
    ours_path = os.path.join(a.results, "bleu-ours.json")
    subprocess.run(["node", a.bleu_js, gen_path, ours_path], check=True)
    ours = json.load(open(ours_path))
    report, worst = {}, 0.0
    for name, hyps in systems.items():
        sb = sacrebleu.corpus_bleu(hyps, [refs])
        diff = abs(sb.score - ours[name]["score"])
        worst = max(worst, diff)
        report[name] = {**meta[name], "sacrebleu": sb.score, "ours": ours[name]["score"], "absDiff": diff, "signature": str(sb)}
        print(f"{name:28s} sacrebleu {sb.score:8.4f}  ours {ours[name]['score']:8.4f}  |diff| {diff:.2e}   {sb}")
    print(f"max |sacrebleu - ours| = {worst:.3e} over {len(systems)} systems, {len(prompts)} prompts")
    json.dump({"prompts": len(prompts), "sacrebleu": sacrebleu.__version__, "maxAbsDiff": worst, "systems": report}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
