#!/usr/bin/env python3
"""PyTorch peer of the LoRA Lab benchmark, batched as our engine is: the R runs of a sweep are ONE
computation (the run is a leading batch dimension), FP32 with TF32 off.

- Model: lab-gpt (GPT-2 architecture, byte vocabulary), weights from the same file as our engine (see
  torch_sweep.py, whose readers, init and batches this reuses), or `--model-size gpt2-small`: 12 layers
  × 768, 12 heads, random weights (std 0.02), byte vocabulary, batch 8 × seq 256.
- LoRA on c_attn, r 4, alpha 8: shared base weights; per-run factors A [L, R, r, C], B [L, R, 3C, r]
  (L adapters, one per layer), y = x W + b + s (x Aᵀ) Bᵀ with batched matmuls over the runs.
- Per-run learning rates are a tensor [R]; the optimizer of each run (adamw or riemannian-adamw, as
  bench/step.ts sweepRuns) is a per-run mask. AdamW is torch.optim.AdamW's arithmetic written as tensor
  ops over all runs; Riemannian AdamW (../../../shared/ALGORITHM.md) preconditions gA with (BᵀB + δI)⁻¹
  (one batched Cholesky over [L·R, r, r], cholesky_solve), steps A, then builds (AAᵀ + δI) from the
  UPDATED A for gB. No per-run Python loop anywhere.
- Modes: `eager`; `graph` (the whole step — forward, backward, both optimizers — captured in one CUDA
  graph with static input buffers, warmed up on a side stream); `compile` (torch.compile of the loss and
  of the optimizer, mode --compile-mode; failures are caught and reported); `bf16` (eager with bf16
  autocast of the forward: a separately labelled row, NOT the FP32 comparison).
- Check: the first losses of adamw@lr and riemannian-adamw@lr (both in one batched R = 2 sweep, on the
  sequential batches, from the engine's seeded init) are printed and written like torch_sweep.py's, so
  `bench.mjs compare` reads this file; `--check` against our engine's JSON prints the max difference.
Timing: median over trials of `--steps` steps, synchronised at the end of each trial only.
"""

import argparse
import json
import math
import os
import sys
import time
import traceback

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_sweep import init_lora_a, read_weights, sequential_batches, sweep_runs  # noqa: E402

GPT2_SMALL = dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=256, layer_norm_epsilon=1e-5)


def random_weights(cfg, device, seed=1, std=0.02):
    """GPT-2-shaped random weights (std 0.02, LayerNorm 1/0): timing only, never compared."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    w = {}

    def rnd(*shape):
        return (torch.randn(*shape, generator=g) * std).to(device)

    w["transformer.wte.weight"] = rnd(V, C)
    w["transformer.wpe.weight"] = rnd(P, C)
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = torch.ones(C, device=device)
            w[p + ln + ".bias"] = torch.zeros(C, device=device)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = rnd(C, 3 * C), torch.zeros(3 * C, device=device)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = rnd(C, C), torch.zeros(C, device=device)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = rnd(C, 4 * C), torch.zeros(4 * C, device=device)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = rnd(4 * C, C), torch.zeros(C, device=device)
    w["transformer.ln_f.weight"] = torch.ones(C, device=device)
    w["transformer.ln_f.bias"] = torch.zeros(C, device=device)
    return w


class BatchedLoraGPT:
    """The frozen model, shared by all runs; loss() takes the per-run adapters and returns [R] losses."""

    def __init__(self, weights, cfg, r, alpha, device, attention):
        self.cfg, self.r, self.scale, self.attention = cfg, r, alpha / r, attention
        self.w = {k: v.to(device) for k, v in weights.items()}

    def loss(self, tokens, targets, mask, A, B):
        """tokens, targets, mask [Bt, T] (shared); A [L, R, r, C]; B [L, R, 3C, r] → per-run mean loss [R]."""
        cfg, w = self.cfg, self.w
        R = A.shape[1]
        Bt, T = tokens.shape
        C, H = cfg["n_embd"], cfg["n_head"]
        D = C // H
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        x0 = w["transformer.wte.weight"][tokens] + w["transformer.wpe.weight"][:T]  # [Bt, T, C]
        x = x0.unsqueeze(0).expand(R, Bt, T, C).reshape(R, Bt * T, C)
        for l in range(cfg["n_layer"]):
            p = f"transformer.h.{l}."
            h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h.view(-1, C), w[p + "attn.c_attn.weight"]).view(R, Bt * T, 3 * C)
            u = torch.bmm(h, A[l].transpose(1, 2))  # [R, Bt·T, r]
            qkv = torch.baddbmm(qkv, u, B[l].transpose(1, 2), alpha=self.scale)
            q, k, v = (t.reshape(R * Bt, T, H, D).transpose(1, 2) for t in qkv.split(C, dim=2))
            if self.attention == "sdpa":
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
                causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
                y = torch.softmax(att.masked_fill(~causal, torch.finfo(att.dtype).min), dim=-1) @ v
            y = y.transpose(1, 2).reshape(R * Bt * T, C)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], y, w[p + "attn.c_proj.weight"]).view(R, Bt * T, C)
            h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps).view(-1, C)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"]).view(R, Bt * T, C)
        x = F.layer_norm(x, (C,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
        logits = x.view(-1, C) @ w["transformer.wte.weight"].t()
        nll = F.cross_entropy(logits.float(), targets.view(-1).repeat(R), reduction="none").view(R, Bt * T)
        m = mask.view(1, -1)
        return (nll * m).sum(1) / m.sum()


class BatchedOptimizer:
    """AdamW / Riemannian AdamW for all runs and adapters at once. State and hyper-parameters are device
    tensors updated in place, so one step can be captured in a CUDA graph and replayed."""

    def __init__(self, A, B, lrs, riemannian, hp, device):
        R = A.shape[1]
        self.A, self.B = A, B
        self.lr = torch.tensor(lrs, dtype=torch.float32, device=device).view(1, R, 1, 1)
        self.riem = torch.tensor(riemannian, dtype=torch.bool, device=device).view(1, R, 1, 1)
        self.hp = hp
        self.mA, self.vA = torch.zeros_like(A), torch.zeros_like(A)
        self.mB, self.vB = torch.zeros_like(B), torch.zeros_like(B)
        # float64 step count: 1 − β^t in float64, then float32, as our engine's host does.
        self.t = torch.zeros((), dtype=torch.float64, device=device)
        self.eye = torch.eye(A.shape[2], device=device)
        self.solve = "cholesky_solve"

    def _chol_solve(self, P, rhs):
        """rhs ← P⁻¹ rhs for a batch [L, R, r, r] of SPD matrices; a failed factorisation keeps rhs."""
        Lf, info = torch.linalg.cholesky_ex(P)
        if self.solve == "cholesky_solve":
            x = torch.cholesky_solve(rhs, Lf)
        else:  # two triangular solves (a fall-back if cholesky_solve cannot be captured)
            y = torch.linalg.solve_triangular(Lf, rhs, upper=False)
            x = torch.linalg.solve_triangular(Lf.transpose(-1, -2), y, upper=True)
        return torch.where((info == 0)[..., None, None], x, rhs)

    def _adamw(self, p, g, m, v, bc1, bc2):
        """torch.optim.AdamW (single-tensor path) with a per-run lr."""
        b1, b2, eps, wd = self.hp["beta1"], self.hp["beta2"], self.hp["eps"], self.hp["weight_decay"]
        p.mul_(1 - self.lr * wd)
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v.sqrt() / bc2.sqrt()).add_(eps)
        p.sub_((self.lr / bc1) * (m / denom))  # addcdiv's order: p + value · (m / denom)

    @torch.no_grad()
    def step(self, gA, gB):
        b1, b2, d = self.hp["beta1"], self.hp["beta2"], self.hp["damping"]
        self.t.add_(1)
        bc1 = (1 - torch.pow(b1, self.t)).float()
        bc2 = (1 - torch.pow(b2, self.t)).float()
        A, B = self.A, self.B
        # 1. gA' = (BᵀB + δI)⁻¹ gA for the Riemannian runs, then AdamW on A.
        PA = B.transpose(-1, -2) @ B + d * self.eye
        gA = torch.where(self.riem, self._chol_solve(PA, gA), gA)
        self._adamw(A, gA, self.mA, self.vA, bc1, bc2)
        # 2. gB' = gB (AAᵀ + δI)⁻¹ with A already updated (the paper's order), then AdamW on B.
        PB = A @ A.transpose(-1, -2) + d * self.eye
        gB = torch.where(self.riem, self._chol_solve(PB, gB.transpose(-1, -2)).transpose(-1, -2), gB)
        self._adamw(B, gB, self.mB, self.vB, bc1, bc2)


class Trainer:
    """One batched sweep: adapters from the shared init, a step function, and its eager/graph/compile forms."""

    def __init__(self, model, runs, A0, rank, hp, device, bf16=False):
        L, C = len(A0), model.cfg["n_embd"]
        R = len(runs)
        self.model, self.device, self.bf16 = model, device, bf16
        self.A = torch.stack([a.to(device) for a in A0]).unsqueeze(1).repeat(1, R, 1, 1).contiguous()
        self.B = torch.zeros(L, R, 3 * C, rank, device=device)
        self.opt = BatchedOptimizer(self.A, self.B, [lr for _, lr in runs], [k == "riemannian-adamw" for k, _ in runs], hp, device)
        self.loss_fn = model.loss
        self.opt_fn = self.opt.step
        self.compiled = False

    def step(self, tokens, targets, mask):
        if self.compiled:
            # torch.compile's CUDA graphs (mode reduce-overhead): a new iteration starts here.
            torch.compiler.cudagraph_mark_step_begin()
        A = self.A.detach().requires_grad_(True)
        B = self.B.detach().requires_grad_(True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.bf16):
            losses = self.loss_fn(tokens, targets, mask, A, B)
        gA, gB = torch.autograd.grad(losses.sum(), [A, B])
        self.opt_fn(gA, gB)
        return losses.detach()


def make_graphed(trainer, batch0):
    """Capture trainer.step on static copies of one batch; returns (replay(tokens, targets, mask), losses)."""
    static = [t.clone() for t in batch0]
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    # Warm-up on a side stream (allocations, cuBLAS/cuSOLVER handles), then restore the state: the
    # warm-up steps must not count as training.
    saved = [t.clone() for t in (trainer.A, trainer.B, trainer.opt.mA, trainer.opt.vA, trainer.opt.mB, trainer.opt.vB, trainer.opt.t)]
    with torch.cuda.stream(s):
        for _ in range(3):
            trainer.step(*static)
    torch.cuda.current_stream().wait_stream(s)
    for dst, src in zip((trainer.A, trainer.B, trainer.opt.mA, trainer.opt.vA, trainer.opt.mB, trainer.opt.vB, trainer.opt.t), saved):
        dst.copy_(src)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = trainer.step(*static)

    def replay(tokens, targets, mask):
        static[0].copy_(tokens)
        static[1].copy_(targets)
        static[2].copy_(mask)
        g.replay()
        return out

    return replay


GRAPH_SOLVE = "triangular"


def build(model, runs, A0, rank, hp, device, mode, batch0, compile_mode):
    """A step callable for `mode`; the trainer's state starts at the shared init."""
    t = Trainer(model, runs, A0, rank, hp, device, bf16=(mode == "bf16"))
    if mode == "compile":
        t.loss_fn = torch.compile(model.loss, mode=compile_mode)
        t.opt_fn = torch.compile(t.opt.step, mode=compile_mode)
        t.compiled = True
    if mode == "graph":
        # Batched cholesky_solve goes through MAGMA on CUDA builds, which synchronises (not capturable):
        # by default the graphed step does the same solve as two batched triangular solves (cuBLAS).
        t.opt.solve = GRAPH_SOLVE
        return t, make_graphed(t, batch0)
    return t, t.step


def first_losses(model, A0, rank, hp, device, mode, batches, steps, lr, compile_mode):
    """adamw@lr and riemannian-adamw@lr as one batched R = 2 sweep; per-step losses per run."""
    runs = [("adamw", lr), ("riemannian-adamw", lr)]
    tokens, targets, mask = batches
    t, step = build(model, runs, A0, rank, hp, device, mode, (tokens[0], targets[0], mask[0]), compile_mode)
    out = []
    for s in range(steps):
        k = s % tokens.shape[0]
        out.append(step(tokens[k], targets[k], mask[k]).clone())
    l = torch.stack(out).cpu()
    return {f"{kind}@{lr:g}": [float(x) for x in l[:, i]] for i, (kind, _) in enumerate(runs)}, t.opt.solve


def time_sweep(model, R, A0, rank, hp, device, mode, batches, steps, warmup, trials, compile_mode):
    runs = sweep_runs(R)
    tokens, targets, mask = batches
    nb = tokens.shape[0]
    torch.cuda.reset_peak_memory_stats()
    t, step = build(model, runs, A0, rank, hp, device, mode, (tokens[0], targets[0], mask[0]), compile_mode)
    for s in range(warmup):
        step(tokens[s % nb], targets[s % nb], mask[s % nb])
    torch.cuda.synchronize()
    times = []
    for _ in range(trials):
        t0 = time.perf_counter()
        for s in range(steps):
            step(tokens[s % nb], targets[s % nb], mask[s % nb])
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / steps)
    ms = sorted(times)[len(times) // 2] * 1000
    peak = torch.cuda.max_memory_allocated()
    del t, step
    return ms, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    onnx_path = os.path.join(here, "model", "model.onnx")
    random_path = os.path.join(here, "model", "random-weights.safetensors")
    ap.add_argument("--model", default=onnx_path if os.path.exists(onnx_path) else random_path)
    ap.add_argument("--model-size", choices=["lab-gpt", "gpt2-small"], default="lab-gpt")
    ap.add_argument("--vocab", type=int, default=256, help="gpt2-small's vocabulary (50257: the hub's GPT-2; timing with byte ids)")
    ap.add_argument("--data", default=os.path.join(here, "data", "devils-dictionary.txt"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=None, help="default 128 (lab-gpt) or 256 (gpt2-small)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per trial")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rs", default="1,4,8,16,64")
    ap.add_argument("--modes", default="eager,graph,bf16,compile")
    ap.add_argument("--compile-mode", default="reduce-overhead", help="or max-autotune-no-cudagraphs (slow to compile)")
    ap.add_argument("--graph-solve", choices=["triangular", "cholesky_solve"], default="triangular")
    ap.add_argument("--compile-rs", default="8", help="R values timed with torch.compile (compiling is slow)")
    ap.add_argument("--loss-steps", type=int, default=8)
    ap.add_argument("--loss-lr", type=float, default=5e-3)
    ap.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--check", help="our engine's bench JSON: print the max loss difference against it")
    ap.add_argument("--out", default="peer-batched.json")
    args = ap.parse_args()
    global GRAPH_SOLVE
    GRAPH_SOLVE = args.graph_solve

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device("cuda")
    rank, alpha = 4, 8
    hp = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, damping=1e-6)
    if args.model_size == "gpt2-small":
        cfg = dict(GPT2_SMALL, vocab_size=args.vocab)
        weights, reader, model_name = random_weights(cfg, device), "random (std 0.02, seed 1)", f"gpt2-small shape, vocabulary {args.vocab}, random weights"
        seq = args.seq or 256
    else:
        cfg = json.load(open(os.path.join(os.path.dirname(args.model), "config.json")))
        cfg.setdefault("vocab_size", 256)
        weights, reader = read_weights(args.model)
        model_name = os.path.relpath(args.model)
        seq = args.seq or 128
    model = BatchedLoraGPT(weights, cfg, rank, alpha, device, args.attention)
    A0 = init_lora_a(cfg, rank, seed=0)
    n_batches = max(args.steps, args.loss_steps, args.warmup)
    batches = sequential_batches(args.data, args.batch, seq, n_batches, device)
    name = torch.cuda.get_device_name(0)
    print(
        f"peer (batched): torch {torch.__version__} on {name}; {model_name} via {reader}; n_layer {cfg['n_layer']} n_embd {cfg['n_embd']}; "
        f"attention {args.attention}; batch {args.batch} × seq {seq}; FP32, TF32 off"
    )
    tokens_per_step = args.batch * seq
    modes = args.modes.split(",")
    rs = [int(x) for x in args.rs.split(",")]
    compile_rs = [int(x) for x in args.compile_rs.split(",")] if args.compile_rs else []

    losses, loss_mode, solve, errors, by_mode = {}, None, None, [], {}
    if args.model_size == "lab-gpt":
        # Eager first (it cannot fail to capture); the graphed step's losses are checked against it.
        for mode in [m for m in ("eager", "graph") if m in modes]:
            try:
                by_mode[mode], slv = first_losses(model, A0, rank, hp, device, mode, batches, args.loss_steps, args.loss_lr, args.compile_mode)
            except Exception as e:  # noqa: BLE001
                errors.append(f"losses ({mode}): {type(e).__name__}: {str(e)[:300]}")
                traceback.print_exc()
                continue
            for k, l in by_mode[mode].items():
                print(f"  {k} ({mode}, {slv}): " + " ".join(f"{x:.6f}" for x in l))
            if not losses:
                losses, loss_mode, solve = by_mode[mode], mode, slv
        if len(by_mode) == 2:
            e, g = by_mode["eager"], by_mode["graph"]
            worst = max(abs(a - b) for k in e for a, b in zip(e[k], g[k]))
            print(f"  graph vs eager: max |diff| of the first losses = {worst:.2e}")
        if args.check and os.path.exists(args.check):
            ours = json.load(open(args.check))["losses"]["byRun"]
            for mode, ls in by_mode.items():
                worst = max((abs(a - b) for k in ls if k in ours for a, b in zip(ls[k], ours[k])), default=float("nan"))
                print(f"  {mode} vs our engine ({args.check}): max |diff| of the first losses = {worst:.2e}")

    results = {}

    def write_report():
        """Rewritten after each mode, so that a slow or failing mode (compile) keeps what came before."""
        primary = "graph" if results.get("graph") else next((m for m in modes if results.get(m)), "eager")
        report = dict(
            device=name,
            torch=torch.__version__,
            model=model_name,
            modelSize=args.model_size,
            n_layer=cfg["n_layer"],
            n_embd=cfg["n_embd"],
            batch=args.batch,
            seq=seq,
            attention=f"{args.attention}, batched runs, {primary}",
            peerKind="batched",
            primaryMode=primary,
            choleskySolve=solve,
            compileMode=args.compile_mode,
            perOptimizer=[],
            sweep=results.get(primary, []),
            modes=results,
            losses=dict(steps=args.loss_steps, lr=args.loss_lr, byRun=losses, mode=loss_mode, byMode=by_mode),
            graphSolve=GRAPH_SOLVE,
            errors=errors,
        )
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)

    for mode in modes:
        rows = []
        results[mode] = rows
        for R in rs if mode != "compile" else compile_rs:
            try:
                ms, peak = time_sweep(model, R, A0, rank, hp, device, mode, batches, args.steps, args.warmup, args.trials, args.compile_mode)
            except Exception as e:  # noqa: BLE001
                msg = f"{mode} R={R}: {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
                errors.append(msg)
                print(f"  FAILED {msg}")
                torch.cuda.synchronize()
                continue
            tps = R * tokens_per_step / ms * 1000
            rows.append(dict(R=R, msPerStep=ms, tokensPerSec=tps, peakMemoryBytes=peak, totalSeconds=ms * args.steps / 1000, steps=args.steps, msPerRunStep=ms / R))
            print(f"  {mode:8s} R={R:<3d} {ms:8.3f} ms/step  {tps:12.0f} tokens/s  peak {peak / 2**20:8.1f} MiB")
            write_report()
        write_report()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
