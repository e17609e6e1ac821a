#!/usr/bin/env python3
"""CPU test of bleu_batched.py against decode_bleu_cpu.py's numpy decoder (docs/reproduction.md).

Writes synthetic PEFT LoRA folders (r 4, alpha 8; A ~ U(-1/16, 1/16) as the engine initialises it, B ~ N(0, σ)
standing in for trained values) for c_attn only and for all four module kinds, then runs bleu_batched.py on the
first --prompts validation prompts with the base model and those adapters decoded together, and the numpy
decoder (already checked against onnxruntime-web) as the reference (--check-with numpy).

  python3 tools/report/bleu_batched_test.py --out .work/bleu-batched-test [--prompts 20] [--systems 3]
(from the repository root; needs torch (CPU is enough), numpy and `npx tsx` for src/eval/bleu.ts)
"""

import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODULES = {"cattn": ["attn.c_attn"], "all": ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]}


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def synthetic_adapter(folder, targets, cfg, seed, sigma, r=4, alpha=8):
    rng = np.random.default_rng(seed)
    D, t = cfg["n_embd"], {}
    dims = {"attn.c_attn": (D, 3 * D), "attn.c_proj": (D, D), "mlp.c_fc": (D, 4 * D), "mlp.c_proj": (4 * D, D)}
    for l in range(cfg["n_layer"]):
        for m in targets:
            fin, fout = dims[m]
            p = f"base_model.model.transformer.h.{l}.{m}"
            t[p + ".lora_A.weight"] = rng.uniform(-1 / np.sqrt(fin), 1 / np.sqrt(fin), (r, fin))
            t[p + ".lora_B.weight"] = rng.normal(0, sigma, (fout, r))
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), t)
    json.dump({"peft_type": "LORA", "r": r, "lora_alpha": alpha, "fan_in_fan_out": True,
               "target_modules": targets, "base_model_name_or_path": "lab-gpt"}, open(os.path.join(folder, "adapter_config.json"), "w"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--systems", type=int, default=3, help="bleu_batched.py --systems")
    ap.add_argument("--synthetic", type=int, default=3, help="how many synthetic adapters (c_attn, c_attn, all modules)")
    ap.add_argument("--sigma", type=float, default=0.1)
    ap.add_argument("--adapter", action="append", default=[], help="NAME=FOLDER: a real (trained) PEFT folder to add")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(ROOT, "public/models/lab-gpt/config.json")))
    extra = []
    for i, (kind, seed) in enumerate([("cattn", 1), ("cattn", 2), ("all", 3)][: a.synthetic]):
        folder = os.path.join(a.out, f"adapter-{kind}-{seed}")
        synthetic_adapter(folder, MODULES[kind], cfg, seed, a.sigma)
        extra.append(f"{kind}-{seed}={folder}")
    extra += a.adapter
    cmd = [sys.executable, os.path.join(HERE, "bleu_batched.py"), "--model", "public/models/lab-gpt/model.onnx",
           "--data", "public/datasets/e2e-restaurants.jsonl", "--bleu-js", os.path.join(HERE, "bleu-cli.ts"), "--device", "cpu",
           "--prompts", str(a.prompts), "--systems", str(a.systems), "--check-with", "numpy", "--check", "0",
           "--out", os.path.join(a.out, "bleu.json"), "--extra", *extra]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    d = json.load(open(os.path.join(a.out, "bleu.json")))
    ok = True
    for name, r in d["selfCheck"]["systems"].items():
        print(f"{name}: {r['identical']} of {r['of']} identical; BLEU numpy {r['bleuRef']:.4f} batched {r['bleuBatched']:.4f}; differences {r['differences']}")
        ok &= r["identical"] == r["of"]
    print("PASS" if ok else "DIFFERENCES (see above)")


if __name__ == "__main__":
    main()
