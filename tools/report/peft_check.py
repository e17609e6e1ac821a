#!/usr/bin/env python3
"""The reproduction's cross-check (docs/reproduction.md): the engine's riemannian-adamw against Hugging Face
PEFT's `create_riemannian_optimizer` (wrapping torch.optim.AdamW) and against a float32 PyTorch
re-implementation of ALGORITHM.md (bench/peers/torch_batched.py's BatchedOptimizer), from the same
adapter (`--init-adapter`) on the same batches (`--order sequential`, plain text so no loss mask).

  peft_check.py make-zero-init <adapter dir> <new dir>     same adapter with every lora_B set to 0
  peft_check.py compare --model M --data D --lr LR --steps N --check-dir DIR --out JSON
      reads DIR/init-{nz,zero} and the engine's logs DIR/engine-{nz,zero}-{paper,old-iterate}.jsonl
"""

import argparse
import copy
import inspect
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_batched import BatchedLoraGPT, BatchedOptimizer  # noqa: E402
from torch_sweep import read_weights, sequential_batches  # noqa: E402

HP = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, damping=1e-6)


def make_zero_init(src, dst):
    from safetensors import safe_open
    from safetensors.torch import save_file

    os.makedirs(dst, exist_ok=True)
    path = os.path.join(src, "adapter_model.safetensors")
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors = {k: (torch.zeros_like(v) if ".lora_B." in k else v) for k, v in tensors.items()}
    save_file(tensors, os.path.join(dst, "adapter_model.safetensors"), metadata=meta)
    shutil.copy(os.path.join(src, "adapter_config.json"), os.path.join(dst, "adapter_config.json"))


class OldIterateOptimizer(BatchedOptimizer):
    """ALGORITHM.md's Riemannian AdamW with both preconditioners from (A_t, B_t) (`--preconditioner-order old-iterate`)."""

    @torch.no_grad()
    def step(self, gA, gB):
        b1, b2, d = self.hp["beta1"], self.hp["beta2"], self.hp["damping"]
        self.t.add_(1)
        bc1 = (1 - torch.pow(b1, self.t)).float()
        bc2 = (1 - torch.pow(b2, self.t)).float()
        A, B = self.A, self.B
        PA = B.transpose(-1, -2) @ B + d * self.eye
        PB = A @ A.transpose(-1, -2) + d * self.eye
        gA = self._chol_solve(PA, gA)
        gB = self._chol_solve(PB, gB.transpose(-1, -2)).transpose(-1, -2)
        self._adamw(A, gA, self.mA, self.vA, bc1, bc2)
        self._adamw(B, gB, self.mB, self.vB, bc1, bc2)


def adapter_factors(adapter_dir, n_layer):
    from safetensors.torch import load_file

    t = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    pre = "base_model.model.transformer.h.{}.attn.c_attn.lora_{}.weight"
    A = torch.stack([t[pre.format(l, "A")] for l in range(n_layer)]).unsqueeze(1)  # [L, 1, r, C]
    B = torch.stack([t[pre.format(l, "B")] for l in range(n_layer)]).unsqueeze(1)  # [L, 1, 3C, r]
    return A, B


def torch_reference(weights, cfg, adapter_dir, batches, steps, lr, order, device):
    A, B = adapter_factors(adapter_dir, cfg["n_layer"])
    alpha = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))["lora_alpha"]
    r = A.shape[2]
    model = BatchedLoraGPT(weights, cfg, r, alpha, device, "eager")
    A, B = A.to(device).contiguous(), B.to(device).contiguous()
    cls = BatchedOptimizer if order == "paper" else OldIterateOptimizer
    opt = cls(A, B, [lr], [True], HP, device)
    tokens, targets, mask = batches
    out = []
    for s in range(steps):
        a = A.detach().requires_grad_(True)
        b = B.detach().requires_grad_(True)
        loss = model.loss(tokens[s], targets[s], mask[s], a, b)
        gA, gB = torch.autograd.grad(loss.sum(), [a, b])
        opt.step(gA, gB)
        out.append(float(loss[0]))
    return out


def hf_model(weights, config_path, device):
    """GPT2LMHeadModel with lab-gpt's weights (the ONNX initializers carry HF GPT-2 state_dict names)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config.from_json_file(config_path)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config)
    own = model.state_dict()
    missing, _ = model.load_state_dict({k: v for k, v in weights.items() if k in own}, strict=False)
    model.tie_weights()
    missing = [m for m in missing if not m.endswith("attn.bias") and not m.endswith("masked_bias") and m != "lm_head.weight"]
    assert not missing, missing
    return model.to(device).eval()


def peft_run(base, adapter_dir, batches, steps, lr, device, optimizer_cls):
    from peft import PeftModel
    from peft.optimizers import create_riemannian_optimizer

    model = PeftModel.from_pretrained(copy.deepcopy(base), adapter_dir, is_trainable=True).to(device)
    kw = dict(betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"], weight_decay=HP["weight_decay"])
    params = inspect.signature(create_riemannian_optimizer).parameters
    if optimizer_cls is None:
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, **kw)
    elif "optimizer_kwargs" in params:
        opt = create_riemannian_optimizer(model, optimizer_cls=optimizer_cls, optimizer_kwargs=dict(lr=lr, **kw), reg=HP["damping"])
    else:
        opt = create_riemannian_optimizer(model, optimizer_cls, lr=lr, reg=HP["damping"], **kw)
    tokens, targets, _ = batches
    out = []
    for s in range(steps):
        logits = model(input_ids=tokens[s]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets[s].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        out.append(float(loss))
    return out


def engine_losses(path):
    out = []
    for line in open(path):
        o = json.loads(line)
        if "loss" in o:
            out.append(o["loss"])
    return out


def compare(a):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda")
    import peft
    from peft.optimizers import create_riemannian_optimizer

    print(f"torch {torch.__version__}, peft {peft.__version__}")
    print("==== PEFT's create_riemannian_optimizer module source ====")
    print(inspect.getsource(inspect.getmodule(create_riemannian_optimizer)))
    print("==== end of source ====")
    cfg = json.load(open(os.path.join(os.path.dirname(a.model), "config.json")))
    weights, reader = read_weights(a.model)
    batches = sequential_batches(a.data, 8, 128, a.steps, device)
    base = hf_model(weights, os.path.join(os.path.dirname(a.model), "config.json"), device)
    report = {"lr": a.lr, "steps": a.steps, "hyper": HP, "torch": torch.__version__, "peft": peft.__version__, "inits": {}}
    for init in ("nz", "zero"):
        d = os.path.join(a.check_dir, f"init-{init}")
        runs = {}
        for order in ("paper", "old-iterate"):
            p = os.path.join(a.check_dir, f"engine-{init}-{order}.jsonl")
            if os.path.exists(p):
                runs[f"engine {order}"] = engine_losses(p)[: a.steps]
            runs[f"torch {order}"] = torch_reference(weights, cfg, d, batches, a.steps, a.lr, order, device)
        runs["peft riemannian AdamW"] = peft_run(base, d, batches, a.steps, a.lr, device, torch.optim.AdamW)
        runs["peft plain AdamW"] = peft_run(base, d, batches, a.steps, a.lr, device, None)
        pairs = {}
        names = list(runs)
        for i, x in enumerate(names):
            for y in names[i + 1 :]:
                n = min(len(runs[x]), len(runs[y]))
                pairs[f"{x} | {y}"] = max((abs(u - v) for u, v in zip(runs[x][:n], runs[y][:n])), default=None)
        report["inits"][init] = {"losses": runs, "maxAbsDiff": pairs}
        print(f"--- init {init} (B {'nonzero' if init == 'nz' else '= 0'}) ---")
        for k, v in runs.items():
            print(f"  {k:24s} " + " ".join(f"{x:.6f}" for x in v))
        for k, v in pairs.items():
            print(f"  max|diff| {k}: {v:.3e}" if v is not None else f"  {k}: n/a")
    json.dump(report, open(a.out, "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    z = sub.add_parser("make-zero-init")
    z.add_argument("src")
    z.add_argument("dst")
    c = sub.add_parser("compare")
    c.add_argument("--model", required=True)
    c.add_argument("--data", required=True)
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--check-dir", required=True)
    c.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "make-zero-init":
        make_zero_init(a.src, a.dst)
    else:
        compare(a)


if __name__ == "__main__":
    main()
