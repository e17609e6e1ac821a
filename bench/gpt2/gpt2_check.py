#!/usr/bin/env python3
"""Issue 15's GPU checks for a user's own GPT-2 checkpoint, at GPT-2 small's size (bench/gpt2/run.sh runs them).

  gpt2_check.py make --out DIR --tokenizer tokenizer.json
      a randomly initialised GPT2LMHeadModel with GPT-2 small's config (12 layers × 768, 12 heads, 1024 positions,
      vocabulary 50,257: 124 M parameters) saved by save_pretrained (safetensors), with the tokenizer.json given.
  gpt2_check.py losses --model DIR --data FILE.txt --engine-logs DIR --optimizers a,b --lr LR --steps N --batch B --seq T
      PyTorch's first N losses (FP32, TF32 off) for each optimizer, from the engine's seeded adapter init
      (torch_sweep.py's init_lora_a), on the engine's sequential batches of the tokenized training split, against
      the engine's `--log` files ENGINE_LOGS/<optimizer>.jsonl; prints and writes the largest difference.
  gpt2_check.py peft --model DIR --adapter DIR --merged FILE.safetensors --data FILE.txt --out FILE.json
      PEFT loads the engine's exported adapter onto the checkpoint (PeftModel.from_pretrained, merge_and_unload);
      its logits on a token window against GPT2LMHeadModel with the engine's merged weights.
"""

import argparse
import json
import math
import os
import shutil
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "peers"))
from torch_sweep import LoraGPT, Optimizer, init_lora_a, read_safetensors  # noqa: E402

HP = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, damping=1e-6)


def make(a):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg)
    model.save_pretrained(a.out, safe_serialization=True)
    shutil.copy(a.tokenizer, os.path.join(a.out, "tokenizer.json"))
    n = sum(p.numel() for p in model.parameters())
    print(f"saved {a.out}: {n:,} parameters")


def token_stream(model_dir, data):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    text = open(data, encoding="utf-8").read()
    return tok.encode(text, add_special_tokens=False).ids


def sequential_token_batches(ids, Bt, T, steps, device, val_fraction=0.1):
    """The engine's split (train = first round(N·0.9) tokens of a txt) and sequential order."""
    N = len(ids)
    cut = min(N - 1, max(1, math.floor(N * (1 - val_fraction) + 0.5)))
    train = torch.tensor(ids[:cut], dtype=torch.long)
    M = cut - T - 1
    starts = torch.tensor([[((k * Bt + j) * T) % M for j in range(Bt)] for k in range(steps)])
    w = train[starts.unsqueeze(-1) + torch.arange(T + 1)]
    return w[:, :, :T].contiguous().to(device), w[:, :, 1:].contiguous().to(device), torch.ones(steps, Bt, T, device=device)


def engine_losses(path):
    out = []
    for line in open(path):
        rec = json.loads(line)
        if "loss" in rec and "step" in rec:
            out.append(rec["loss"])
    return out


def losses(a):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda")
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    weights = read_safetensors(os.path.join(a.model, "model.safetensors"))
    weights = {k if k.startswith("transformer.") or k.startswith("lm_head") else f"transformer.{k}": v for k, v in weights.items()}
    ids = token_stream(a.model, a.data)
    batches = sequential_token_batches(ids, a.batch, a.seq, a.steps, device)
    rank, alpha = 4, 8
    model = LoraGPT(weights, cfg, rank, alpha, device, "eager")
    A0 = init_lora_a(cfg, rank, seed=0)
    report, worst = {}, 0.0
    for kind in a.optimizers.split(","):
        A = [t.clone().to(device).requires_grad_(True) for t in A0]
        B = [torch.zeros(3 * cfg["n_embd"], rank, device=device, requires_grad=True) for _ in A0]
        opt = Optimizer(kind, A, B, a.lr, HP)
        ours = []
        tokens, targets, mask = batches
        for s in range(a.steps):
            loss = model.loss(tokens[s], targets[s], mask[s], A, B)
            opt.zero_grad()
            loss.backward()
            opt.step()
            ours.append(loss.item())
        eng = engine_losses(os.path.join(a.engine_logs, f"{kind}.jsonl"))[: a.steps]
        diff = max(abs(x - y) for x, y in zip(ours, eng)) if len(eng) == a.steps else float("nan")
        worst = max(worst, diff) if diff == diff else float("nan")
        report[kind] = {"torch": ours, "engine": eng, "maxAbsDiff": diff}
        print(f"{kind:18s} torch {[round(x, 6) for x in ours]}\n{'':18s} ours  {[round(x, 6) for x in eng]}  max |diff| {diff:.2e}")
    print(f"max |engine - torch| over {a.steps} steps, {len(report)} optimizers: {worst:.3e} (tokens {len(ids):,}, batch {a.batch} x {a.seq})")
    json.dump({"steps": a.steps, "lr": a.lr, "batch": a.batch, "seq": a.seq, "maxAbsDiff": worst, "optimizers": report}, open(a.out, "w"), indent=1)


def peft(a):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import GPT2LMHeadModel

    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device("cuda")
    ids = token_stream(a.model, a.data)[:256]
    x = torch.tensor([ids], device=device)
    base = GPT2LMHeadModel.from_pretrained(a.model, attn_implementation="eager").to(device).eval()
    adapter = os.path.abspath(a.adapter)
    merged_peft = PeftModel.from_pretrained(base, adapter).merge_and_unload().eval()
    with torch.no_grad():
        lp = merged_peft(x).logits.float()
    ours = GPT2LMHeadModel.from_pretrained(a.model, attn_implementation="eager").to(device).eval()
    sd = load_file(a.merged, device="cuda")
    sd = {k if k.startswith("transformer.") else f"transformer.{k}": v for k, v in sd.items()}
    missing, unexpected = ours.load_state_dict(sd, strict=False)
    missing = [m for m in missing if m != "lm_head.weight" and not m.endswith("attn.bias")]
    ours.tie_weights()
    with torch.no_grad():
        lo = ours(x).logits.float()
        lb = GPT2LMHeadModel.from_pretrained(a.model, attn_implementation="eager").to(device).eval()(x).logits.float()
    diff = (lp - lo).abs().max().item()
    moved = (lp - lb).abs().max().item()
    print(f"PEFT-merged vs engine-merged logits: max |diff| {diff:.3e} (the adapter moves logits by up to {moved:.3e}); missing {missing} unexpected {list(unexpected)[:3]}")
    json.dump({"maxAbsDiff": diff, "adapterEffect": moved, "positions": len(ids), "missing": missing}, open(a.out, "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--tokenizer", required=True)
    l = sub.add_parser("losses")
    for k in ("--model", "--data", "--engine-logs", "--out"):
        l.add_argument(k, required=True)
    l.add_argument("--optimizers", default="sgd,riemannian-sgd,adamw,riemannian-adamw")
    l.add_argument("--lr", type=float, default=1e-3)
    l.add_argument("--steps", type=int, default=5)
    l.add_argument("--batch", type=int, default=4)
    l.add_argument("--seq", type=int, default=128)
    p = sub.add_parser("peft")
    for k in ("--model", "--adapter", "--merged", "--data", "--out"):
        p.add_argument(k, required=True)
    a = ap.parse_args()
    {"make": make, "losses": losses, "peft": peft}[a.cmd](a)


if __name__ == "__main__":
    main()
