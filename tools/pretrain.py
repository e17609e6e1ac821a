#!/usr/bin/env python3
"""Pretrain lab-gpt (a byte-level GPT-2) and export it as ONNX with Hugging Face GPT-2 weight names.

Offline tooling, not part of the page. Plain PyTorch (no `transformers` needed): the model
(tools/labgpt.py) is GPT2LMHeadModel's architecture exactly (learned positions, pre-LN blocks with eps 1e-5, causal multi-head
attention, gelu_new MLP of width 4·d, final LN, LM head tied to wte), and its parameters have exactly the
names of GPT2LMHeadModel's state_dict (Conv1D weights [in, out]; lm_head is tied and not stored).
Works with Debian's python3-torch 1.13 (CPU) and with PyTorch 2.x (CUDA).

Subcommands (run from the repository root; see public/models/README.md for the exact runs):
  train    train a preset on .corpus/*.txt (tools/make-corpus.py), save the best-validation state_dict
  export   state_dict -> <out>/model.onnx + config.json (+ optional reference-logits fixture)
  sample   print samples from a state_dict
  check-hf compare logits with transformers' GPT2LMHeadModel loaded from the same state_dict
"""

import argparse
import base64
import contextlib
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no tools/__pycache__ in the work tree from importing labgpt
from labgpt import PRESETS, VOCAB, build, hf_config, load_weights

# Training settings of the shipped models (public/models/README.md); flags override them.
TRAIN_DEFAULTS = {
    "lab-gpt-tiny": dict(steps=2500, batch=32, lr=3e-3, warmup=100, dropout=0.0),
    "lab-gpt": dict(steps=12000, batch=128, lr=1.5e-3, warmup=200, dropout=0.1),
}
PIECE = 16384  # corpus split unit: every VAL_EVERY-th piece of each source file is validation
VAL_EVERY = 20


# ------------------------------------------------------------------------------------------------ data


def load_corpus(data_dir):
    """Split every .txt of data_dir into PIECE-byte pieces; every VAL_EVERY-th piece is validation."""
    train, val, sources = [], [], []
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(data_dir, name), "rb") as f:
            data = f.read()
        sources.append((name, len(data)))
        for k, at in enumerate(range(0, len(data), PIECE)):
            (val if k % VAL_EVERY == VAL_EVERY - 1 else train).append(data[at : at + PIECE])
    if not sources:
        raise SystemExit(f"no .txt files in {data_dir}: run tools/make-corpus.py first")
    to_tensor = lambda parts: torch.frombuffer(bytearray(b"".join(parts)), dtype=torch.uint8).long()
    return to_tensor(train), to_tensor(val), sources


@torch.no_grad()
def evaluate(model, val, T, device, batch=256, amp=False):
    """Mean next-byte cross-entropy over non-overlapping windows of the validation stream, in bits/byte."""
    model.eval()
    n = (val.numel() - 1) // T
    total, count = 0.0, 0
    xs, ys = val[: n * T].view(n, T), val[1 : n * T + 1].view(n, T)
    for s in range(0, n, batch):
        x, y = xs[s : s + batch].to(device), ys[s : s + batch].to(device)
        with autocast(amp):
            logits = model(x)
        total += F.cross_entropy(logits.float().view(-1, VOCAB), y.view(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count / math.log(2)


# ----------------------------------------------------------------------------------------------- train


def autocast(enabled):
    # Constructing a CUDA autocast context at all fails on CPU-only builds of torch, hence the switch.
    return torch.autocast("cuda", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def lr_at(step, total, warmup, lr, min_lr):
    if step < warmup:
        return lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * t))


def cmd_train(a):
    torch.manual_seed(a.seed)
    cfg = dict(PRESETS[a.preset], vocab_size=VOCAB)
    T = cfg["n_positions"]
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    train, val, sources = load_corpus(a.data)
    print(f"corpus {sources}; train {train.numel()} bytes, val {val.numel()} bytes", flush=True)
    model = build(cfg).to(device)
    model.set_sdpa(cuda and hasattr(F, "scaled_dot_product_attention"))
    model.set_dropout(a.dropout)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{a.preset}: {cfg}, {n_params} parameters", flush=True)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt_kw = dict(lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    if cuda:
        opt_kw["fused"] = True
    opt = torch.optim.AdamW(
        [dict(params=decay, weight_decay=a.weight_decay), dict(params=no_decay, weight_decay=0.0)], **opt_kw
    )
    fwd = model
    if a.compile and cuda:
        try:  # compiling errors show on the first call: fall back to eager rather than lose the run
            fwd = torch.compile(model)
            with autocast(True):
                fwd(train[: a.batch * T].view(a.batch, T).to(device)).float().sum().backward()
            opt.zero_grad(set_to_none=True)
        except Exception as err:  # noqa: BLE001
            print(f"torch.compile failed ({err!r}); training eagerly", flush=True)
            fwd = model
            opt.zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(a.seed)
    n_windows = train.numel() - T - 1
    train_dev = train.to(device)  # batches are gathered where the model runs
    ramp = torch.arange(T + 1, device=device).unsqueeze(0)

    ckpt = os.path.join(a.out, f"{a.preset}{a.tag}.pt")
    total = None if a.time_budget else a.steps
    t0 = time.time()
    t_calib = None
    best = (float("inf"), -1)
    log = []
    step = 0
    while step < total if total else True:
        if total is None and step == a.calib_end:
            # Decide the step count from measured speed, so that training fits the time budget.
            per_step = (time.time() - t_calib) / (a.calib_end - a.calib_start)
            left = a.time_budget - (time.time() - t0)
            total = max(step + 1, step + int(left / (per_step * 1.04)))  # ~4% for evaluations
            print(f"{per_step * 1000:.2f} ms/step -> {total} steps in total", flush=True)
        if step == a.calib_start:
            if cuda:
                torch.cuda.synchronize()
            t_calib = time.time()
        lr = lr_at(step, total or 10**9, a.warmup, a.lr, a.lr * a.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, n_windows, (a.batch,), generator=gen)
        xy = train_dev[starts.to(device).unsqueeze(1) + ramp]
        with autocast(cuda):
            logits = fwd(xy[:, :-1])
        loss = F.cross_entropy(logits.float().view(-1, VOCAB), xy[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        last = total is not None and step == total
        if step % a.eval_every == 0 or last:
            vb = evaluate(model, val, T, device, amp=cuda)
            tb = loss.item() / math.log(2)
            el = time.time() - t0
            log.append(dict(step=step, train_bpb=tb, val_bpb=vb, lr=lr, seconds=el))
            print(f"step {step}/{total} train {tb:.4f} val {vb:.4f} bits/byte lr {lr:.2e} {el:.0f}s", flush=True)
            if vb < best[0]:
                best = (vb, step)
                sd = {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}
                # Saved at once, so that a run cut off by a time limit still leaves its best weights.
                os.makedirs(a.out, exist_ok=True)
                torch.save(dict(config=cfg, state_dict=sd, meta=dict(step=step, val_bpb=vb)), ckpt)
        if last:
            break
    wall = time.time() - t0
    # Validation of the saved weights in float32 (no autocast), the number the README reports.
    final = build(cfg, sd).to(device)
    final.set_sdpa(False)
    val_fp32 = evaluate(final, val, T, device, amp=False)
    os.makedirs(a.out, exist_ok=True)
    meta = dict(
        preset=a.preset,
        config=cfg,
        parameters=n_params,
        steps=total,
        best_step=best[1],
        val_bpb_fp32=val_fp32,
        wall_seconds=wall,
        device=torch.cuda.get_device_name(0) if cuda else "cpu",
        torch=torch.__version__,
        args=vars(a),
        sources=sources,
        train_bytes=train.numel(),
        val_bytes=val.numel(),
        log=log,
    )
    torch.save(dict(config=cfg, state_dict=sd, meta=meta), ckpt)
    with open(os.path.join(a.out, f"{a.preset}{a.tag}-train.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"done: {total} steps in {wall:.0f}s; best step {best[1]}; val {val_fp32:.4f} bits/byte (fp32)")


# ---------------------------------------------------------------------------------------------- export


def cmd_export(a):
    import onnx
    from onnx import numpy_helper

    cfg, sd = load_weights(a.weights)
    model = build(cfg, sd).eval()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "model.onnx")
    dummy = torch.randint(0, VOCAB, (2, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.onnx.export(
            model,
            (dummy,),
            path,
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
            opset_version=17,
            # No folding: it would bake transposed copies of weights into new, anonymous initializers.
            do_constant_folding=False,
            export_params=True,
        )
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    problems = []
    for name, ref in sd.items():
        t = inits.get(name)
        if t is None:
            problems.append(f"missing {name}")
            continue
        arr = numpy_helper.to_array(t)
        if list(arr.shape) != list(ref.shape) or not (arr == ref.numpy()).all():
            problems.append(f"{name}: shape {list(arr.shape)} vs {list(ref.shape)} or values differ")
    float_extra = [n for n, t in inits.items() if n not in sd and t.data_type == onnx.TensorProto.FLOAT]
    if float_extra:
        problems.append(f"extra float initializers {float_extra}")
    if problems:
        raise SystemExit("export check failed:\n  " + "\n  ".join(problems))
    onnx.checker.check_model(m)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    others = sorted(n for n in inits if n not in sd)
    print(f"{path}: {os.path.getsize(path)} bytes; {len(sd)} HF-named initializers exact; other: {others}")
    print("ops:", sorted({n.op_type for n in m.graph.node}))
    if a.fixture:
        write_fixture(model, cfg, a.fixture)


def write_fixture(model, cfg, path):
    """PyTorch float32 logits for a fixed batch, for the onnxruntime-web test."""
    texts = ["It is a truth universally", "And God said, Let there be"]
    T = min(len(t.encode()) for t in texts)
    ids = torch.tensor([list(t.encode()[:T]) for t in texts], dtype=torch.long)
    with torch.no_grad():
        logits = model(ids)
    # float32 little-endian bytes in base64: exact and compact. Written by hand in the layout prettier
    # gives (one key a line), so that a re-export leaves `npm run lint` clean.
    raw = logits.contiguous().numpy().astype("<f4").tobytes()
    fields = [
        ("note", "PyTorch float32 logits of the exported model (tools/pretrain.py export --fixture)"),
        ("dims", list(logits.shape)),
        ("input_text", [bytes(row).decode("ascii") for row in ids.tolist()]),
        ("logits_f32le_base64", base64.b64encode(raw).decode("ascii")),
    ]
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(', ', ': '))}" for k, v in fields)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n" + body + "\n}\n")
    print(f"{path}: logits {list(logits.shape)}")


# --------------------------------------------------------------------------------------------- sampling


@torch.no_grad()
def sample(model, prompt, n, temperature, top_k, gen):
    ids = list(prompt.encode("utf-8"))
    T = model.cfg["n_positions"]
    for _ in range(n):
        logits = model(torch.tensor([ids[-T:]]))[0, -1]
        if temperature == 0:
            ids.append(int(logits.argmax()))
            continue
        logits = logits / temperature
        if top_k:
            kth = torch.topk(logits, top_k).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        ids.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)))
    return bytes(ids).decode("utf-8", errors="replace")


def cmd_sample(a):
    cfg, sd = load_weights(a.weights)
    model = build(cfg, sd).eval()
    gen = torch.Generator().manual_seed(a.seed)
    for p in a.prompt:
        print(repr(sample(model, p, a.tokens, a.temperature, a.top_k, gen)))


def cmd_check_hf(a):
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg, sd = load_weights(a.weights)
    hf = GPT2LMHeadModel(GPT2Config(**{k: v for k, v in hf_config(cfg).items() if k != "architectures"}))
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    print("missing in ours (expected: lm_head.weight, tied):", missing, "unexpected:", unexpected)
    if hf.lm_head.weight.data_ptr() != hf.transformer.wte.weight.data_ptr():
        print("lm_head not tied after load: copying wte into it")
        hf.lm_head.weight.data.copy_(hf.transformer.wte.weight.data)
    hf.eval()
    model = build(cfg, sd).eval()
    ids = torch.randint(0, VOCAB, (3, cfg["n_positions"]), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        d = (hf(ids).logits - model(ids)).abs().max().item()
    print(f"max |logits(HF GPT2LMHeadModel) - logits(ours)| = {d:.3e}")
    if d > 1e-4:
        raise SystemExit("HF mismatch")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--preset", choices=sorted(PRESETS), required=True)
    t.add_argument("--data", default=".corpus")
    t.add_argument("--out", required=True)
    t.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--batch", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--min-lr-frac", type=float, default=0.1)
    t.add_argument("--warmup", type=int)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--steps", type=int)
    t.add_argument(
        "--time-budget", type=float, default=None, help="seconds: choose the step count from measured speed"
    )
    t.add_argument("--calib-start", type=int, default=30)
    t.add_argument("--calib-end", type=int, default=130)
    t.add_argument("--eval-every", type=int, default=500)
    t.add_argument("--compile", action="store_true")
    t.add_argument("--dropout", type=float)
    t.add_argument("--tag", default="", help="suffix of the output file names")
    e = sub.add_parser("export")
    e.add_argument("--weights", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--fixture", default=None)
    s = sub.add_parser("sample")
    s.add_argument("--weights", required=True)
    s.add_argument("--prompt", action="append", required=True)
    s.add_argument("--tokens", type=int, default=200)
    s.add_argument("--temperature", type=float, default=0.8)
    s.add_argument("--top-k", type=int, default=40)
    s.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check-hf")
    c.add_argument("--weights", required=True)
    a = p.parse_args()
    if a.cmd == "train":
        for k, v in TRAIN_DEFAULTS[a.preset].items():
            if getattr(a, k) is None:
                setattr(a, k, v)
    if a.cmd == "train" and a.time_budget and a.warmup <= a.calib_end:
        p.error("--warmup must exceed --calib-end (the step count is decided during warm-up)")
    dict(train=cmd_train, export=cmd_export, sample=cmd_sample, **{"check-hf": cmd_check_hf})[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
