#!/usr/bin/env python3
"""PyTorch peer of the LoRA Lab benchmark: the same lab-gpt, LoRA and optimizers, a sweep done as a
researcher does it (one run after another), eager mode, FP32 with TF32 off.

- Model: GPT-2 architecture, byte vocabulary, weights read from the same ONNX file as our engine (the
  `onnx` package when present, else a minimal protobuf reader below), config.json beside it.
- LoRA on c_attn, r 4, alpha 8 (scale 2): y = x W + b + s (x Aᵀ) Bᵀ, A [r, in], B [out, r]; A starts
  as our engine's seeded PEFT init (mulberry32, the same numbers), B = 0.
- Optimizers as ../../../shared/ALGORITHM.md: plain AdamW is torch.optim.AdamW; Riemannian AdamW
  preconditions gA with (BᵀB + δI)⁻¹, steps A with AdamW, then builds (AAᵀ + δI) from the updated A and
  preconditions gB (the paper's order). SGD (no momentum; torch's coupled decay equals decoupled decay
  then) and Riemannian SGD (both preconditioners from the old iterate). The r×r solves of all adapters
  are one batched Cholesky call, and AdamW is torch's foreach path: a strong eager peer, not a slow one.
- Batches: the training split (the first 90% of the bytes of a .txt) in the sequential order of our
  engine (row j of batch k starts at ((k·B + j)·T) mod (N − T − 1)), so the first losses can be compared.
Timing syncs the GPU only at the end of each run (no per-step .item()).
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------- weights


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(buf):
    """(field number, wire type, value) of one protobuf message; bytes values are memoryviews."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"onnx: unsupported wire type {wire}")
        yield field, wire, value


def read_onnx_minimal(path):
    """FLOAT initializers of ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto."""
    data = memoryview(open(path, "rb").read())
    out = {}
    for f, _, graph in _fields(data):
        if f != 7:
            continue
        for g, _, tensor in _fields(graph):
            if g != 5:
                continue
            dims, dtype, name, raw, floats = [], 1, "", None, []
            for t, wire, v in _fields(tensor):
                if t == 1:
                    if wire == 2:  # packed
                        j = 0
                        while j < len(v):
                            d, j = _varint(v, j)
                            dims.append(d)
                    else:
                        dims.append(v)
                elif t == 2:
                    dtype = v
                elif t == 8:
                    name = bytes(v).decode()
                elif t == 9:
                    raw = bytes(v)
                elif t == 4:
                    if wire == 2:
                        floats.extend(struct.unpack(f"<{len(v) // 4}f", v))
                    else:
                        floats.append(struct.unpack("<f", v)[0])
            if dtype != 1:
                continue
            t = torch.frombuffer(bytearray(raw), dtype=torch.float32) if raw else torch.tensor(floats, dtype=torch.float32)
            out[name] = t.reshape(dims)
    return out


def read_safetensors(path):
    """The safetensors layout: u64 header length, JSON header, then the raw little-endian tensors."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        lo, hi = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + lo : 8 + n + hi]), dtype=torch.float32).reshape(info["shape"])
    return out


def read_weights(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path), "safetensors"
    return read_onnx(path)


def read_onnx(path):
    try:
        import onnx
        from onnx import numpy_helper

        model = onnx.load(path)
        return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}, "onnx"
    except ImportError:
        return read_onnx_minimal(path), "minimal protobuf reader"


# ------------------------------------------------------------------------------------------------ model


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rand


def init_lora_a(cfg, r, seed):
    """src/model/init.ts initLora: A ~ U(−1/√in, 1/√in) from mulberry32(seed ^ 0x10a4), layer by layer."""
    rand = mulberry32(seed ^ 0x10A4)
    C = cfg["n_embd"]
    bound = 1 / math.sqrt(C)
    return [torch.tensor([(2 * rand() - 1) * bound for _ in range(r * C)], dtype=torch.float32).reshape(r, C) for _ in range(cfg["n_layer"])]


class LoraGPT:
    def __init__(self, weights, cfg, r, alpha, device, attention):
        self.cfg, self.r, self.scale = cfg, r, alpha / r
        self.w = {k: v.to(device) for k, v in weights.items()}
        self.attention = attention
        self.device = device

    def loss(self, tokens, targets, mask, A, B):
        cfg, w = self.cfg, self.w
        Bt, T = tokens.shape
        C, H = cfg["n_embd"], cfg["n_head"]
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        x = w["transformer.wte.weight"][tokens] + w["transformer.wpe.weight"][:T]
        for l in range(cfg["n_layer"]):
            p = f"transformer.h.{l}."
            h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h.view(-1, C), w[p + "attn.c_attn.weight"]).view(Bt, T, 3 * C)
            qkv = qkv + self.scale * ((h @ A[l].t()) @ B[l].t())
            q, k, v = (t.view(Bt, T, H, C // H).transpose(1, 2) for t in qkv.split(C, dim=2))
            if self.attention == "sdpa":
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
                causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
                y = torch.softmax(att.masked_fill(~causal, torch.finfo(att.dtype).min), dim=-1) @ v
            y = y.transpose(1, 2).reshape(Bt * T, C)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], y, w[p + "attn.c_proj.weight"]).view(Bt, T, C)
            h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps).view(-1, C)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"]).view(Bt, T, C)
        x = F.layer_norm(x, (C,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
        logits = x.view(-1, C) @ w["transformer.wte.weight"].t()
        nll = F.cross_entropy(logits, targets.view(-1), reduction="none")
        return (nll * mask.view(-1)).sum() / mask.sum()


# ------------------------------------------------------------------------------------------- optimizers


def precondition(factors_gram, grads, damping, side):
    """side 'left': g ← P⁻¹ g (gA [r, in]); 'right': g ← g P⁻¹ (gB [out, r]). One batched Cholesky."""
    P = torch.stack(factors_gram)
    P = P + damping * torch.eye(P.shape[-1], device=P.device, dtype=P.dtype)
    L, info = torch.linalg.cholesky_ex(P)
    G = torch.stack(grads)
    rhs = G if side == "left" else G.transpose(1, 2)
    solved = torch.cholesky_solve(rhs, L)
    if side == "right":
        solved = solved.transpose(1, 2)
    # A failed factorisation leaves that gradient unpreconditioned (the identity fall-back).
    ok = (info == 0).view(-1, 1, 1)
    out = torch.where(ok, solved, G)
    for g, s in zip(grads, out.unbind(0)):
        g.copy_(s)


class Optimizer:
    def __init__(self, kind, A, B, lr, hp):
        self.kind, self.A, self.B, self.hp = kind, A, B, hp
        adam = dict(lr=lr, betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"], weight_decay=hp["weight_decay"])
        if kind in ("adamw", "riemannian-adamw"):
            self.optA = torch.optim.AdamW(A, **adam)
            self.optB = torch.optim.AdamW(B, **adam)
        else:
            self.optA = torch.optim.SGD(A, lr=lr, weight_decay=hp["weight_decay"])
            self.optB = torch.optim.SGD(B, lr=lr, weight_decay=hp["weight_decay"])

    @torch.no_grad()
    def step(self):
        A, B, d = self.A, self.B, self.hp["damping"]
        if self.kind == "riemannian-adamw":
            precondition([b.t() @ b for b in B], [a.grad for a in A], d, "left")
            self.optA.step()
            precondition([a @ a.t() for a in A], [b.grad for b in B], d, "right")  # A_{t+1}
            self.optB.step()
        elif self.kind == "riemannian-sgd":
            precondition([b.t() @ b for b in B], [a.grad for a in A], d, "left")
            precondition([a @ a.t() for a in A], [b.grad for b in B], d, "right")
            self.optA.step()
            self.optB.step()
        else:
            self.optA.step()
            self.optB.step()

    def zero_grad(self):
        self.optA.zero_grad(set_to_none=True)
        self.optB.zero_grad(set_to_none=True)


# ------------------------------------------------------------------------------------------------- data


def sequential_batches(path, Bt, T, steps, device, val_fraction=0.1):
    data = open(path, "rb").read()
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    N = len(data)
    cut = min(N - 1, max(1, math.floor(N * (1 - val_fraction) + 0.5)))
    train = torch.tensor(list(data[:cut]), dtype=torch.long)
    M = cut - T - 1
    starts = torch.tensor([[((k * Bt + j) * T) % M for j in range(Bt)] for k in range(steps)])
    idx = starts.unsqueeze(-1) + torch.arange(T + 1)
    windows = train[idx]  # [steps, Bt, T+1]
    tokens = windows[:, :, :T].contiguous().to(device)
    targets = windows[:, :, 1:].contiguous().to(device)
    mask = torch.ones(steps, Bt, T, device=device)
    return tokens, targets, mask


# -------------------------------------------------------------------------------------------- the bench


def sweep_runs(R):
    """bench/step.ts sweepRuns: R = 1 is one riemannian-adamw run; else adamw, riemannian-adamw × lrs."""
    if R == 1:
        return [("riemannian-adamw", 1e-3)]
    per = math.ceil(R / 2)
    lrs = [float(f"{1e-4 * 100 ** (0.5 if per == 1 else i / (per - 1)):.3g}") for i in range(per)]
    return [(opt, lr) for opt in ("adamw", "riemannian-adamw") for lr in lrs][:R]


def train_run(model, kind, lr, hp, batches, steps, A0, rank, record=False):
    """One run from the shared init: fresh adapters and optimizer, `steps` steps. Returns losses (GPU)."""
    dev = model.device
    A = [a.clone().to(dev).requires_grad_(True) for a in A0]
    B = [torch.zeros(3 * model.cfg["n_embd"], rank, device=dev, requires_grad=True) for _ in A0]
    opt = Optimizer(kind, A, B, lr, hp)
    tokens, targets, mask = batches
    losses = torch.zeros(steps, device=dev) if record else None
    for s in range(steps):
        k = s % tokens.shape[0]
        loss = model.loss(tokens[k], targets[k], mask[k], A, B)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if record:
            losses[s] = loss.detach()
    return losses


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    onnx_path = os.path.join(here, "model", "model.onnx")
    random_path = os.path.join(here, "model", "random-weights.safetensors")
    ap.add_argument("--model", default=onnx_path if os.path.exists(onnx_path) else random_path)
    ap.add_argument("--data", default=os.path.join(here, "data", "devils-dictionary.txt"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=50, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rs", default="1,2,4,8,16")
    ap.add_argument("--loss-steps", type=int, default=8)
    ap.add_argument("--loss-lr", type=float, default=5e-3)
    ap.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--out", default="peer.json")
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.attention == "sdpa" and not hasattr(F, "scaled_dot_product_attention"):
        args.attention = "eager"
    cfg = json.load(open(os.path.join(os.path.dirname(args.model), "config.json")))
    cfg.setdefault("vocab_size", 256)
    weights, reader = read_weights(args.model)
    rank, alpha = 4, 8
    hp = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, damping=1e-6)
    model = LoraGPT(weights, cfg, rank, alpha, device, args.attention)
    A0 = init_lora_a(cfg, rank, seed=0)
    n_batches = max(args.steps, args.loss_steps, args.warmup)
    batches = sequential_batches(args.data, args.batch, args.seq, n_batches, device)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"peer: torch {torch.__version__} on {name}; {os.path.basename(args.model)} via {reader}; attention {args.attention}; batch {args.batch} × seq {args.seq}")
    tokens_per_step = args.batch * args.seq

    losses = {}
    for kind in ("adamw", "riemannian-adamw"):
        l = train_run(model, kind, args.loss_lr, hp, batches, args.loss_steps, A0, rank, record=True)
        losses[f"{kind}@{args.loss_lr:g}"] = [float(x) for x in l.cpu()]
        print(f"  {kind}@{args.loss_lr:g}: " + " ".join(f"{x:.5f}" for x in losses[f'{kind}@{args.loss_lr:g}']))

    per_opt = []
    for kind in ("adamw", "riemannian-adamw", "sgd", "riemannian-sgd"):
        train_run(model, kind, 1e-3, hp, batches, args.warmup, A0, rank)
        sync(device)
        t0 = time.perf_counter()
        train_run(model, kind, 1e-3, hp, batches, args.steps, A0, rank)
        sync(device)
        ms = (time.perf_counter() - t0) * 1000 / args.steps
        per_opt.append(dict(optimizer=kind, msPerStep=ms))
        print(f"  {kind:18s} {ms:8.3f} ms/step  {tokens_per_step / ms * 1000:10.0f} tokens/s")

    sweep = []
    for R in [int(x) for x in args.rs.split(",")]:
        sync(device)
        t0 = time.perf_counter()
        for kind, lr in sweep_runs(R):
            train_run(model, kind, lr, hp, batches, args.steps, A0, rank)
        sync(device)
        total = time.perf_counter() - t0
        tps = R * args.steps * tokens_per_step / total
        sweep.append(dict(R=R, totalSeconds=total, steps=args.steps, tokensPerSec=tps, msPerRunStep=total * 1000 / (R * args.steps)))
        print(f"  sweep R={R:<3d} {total:8.3f} s for {R}×{args.steps} steps  {tps:10.0f} tokens/s")

    report = dict(
        device=name,
        torch=torch.__version__,
        model=os.path.relpath(args.model),
        batch=args.batch,
        seq=args.seq,
        attention=args.attention,
        perOptimizer=per_opt,
        sweep=sweep,
        losses=dict(steps=args.loss_steps, lr=args.loss_lr, byRun=losses),
    )
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
