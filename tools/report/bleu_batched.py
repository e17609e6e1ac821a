#!/usr/bin/env python3
"""BLEU of every run of the reproduction's E2E-style grids, many adapters decoded at once (docs/reproduction.md).

bleu_all.py decodes one adapter at a time through HF's GPT2LMHeadModel (~5 s a run on the GPU). This script
decodes S systems (adapters) × the 300 validation prompts in ONE greedy loop: a plain-torch GPT-2 forward
(lab-gpt: pre-LN blocks, causal multi-head attention, gelu_new, final LN, LM head tied to wte) where every
system has its own merged Conv1D weights W0 + (alpha/r)·(B·A)ᵀ (bleu_all.py's adapter_deltas, added in float32),
stacked as [S, in, out] and applied with batched matmuls over the system's rows. Embeddings, biases and layer
norms are shared (LoRA does not touch them).

Decoding semantics are generate_bleu.py's `greedy`: argmax (torch's), stop at the first "\\n" (not kept) or
when feeding the byte just made would need position n_positions; finished rows keep being fed at a clamped
position and their output is ignored. The layout differs (right padding; a row's K/V slot is its position, so
the cache holds n_positions slots; pad slots past a row's prompt are overwritten by its own bytes before its
mask reaches them), which changes nothing but rounding.

Grid folders (written by tools/report/grid.sh's grid(): sweep JSONs + adapters/<sweep>/<run id>/ PEFT folders)
are taken in the order given; with --wait a grid is decoded once its `.done` marker exists (the GPU script
writes it when the grid's trainings end), the first ready one in the given order first. After every batch
the systems decoded so far are scored (sacrebleu when importable, and src/eval/bleu.ts through bleu.mjs) and
--out is rewritten, so that a timeout keeps what was done; --budget stops starting new batches.

Self-check (--check K): the base model and K adapters of the first grid decoded (evenly spaced in its run order, so
from different sweeps and learning rates; with --extra, those too) are also decoded one system at a time by a
reference decoder (--check-with hf: generate_bleu.py's `greedy` on GPT2LMHeadModel with the same merged
weights; numpy: decode_bleu_cpu.py's float32 decoder, for CPU tests), and the number of identical completions,
the BLEU difference and, for differing completions, the reference's top-2 logit margin at the first differing
byte are written into the JSON.

  bleu_batched.py --model models/lab-gpt/model.onnx --data data/e2e-restaurants.jsonl --out bleu-all-runs.json GRID...
"""

import argparse
import glob
import gzip
import json
import math
import os
import re
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
if os.path.isdir(os.path.join(HERE, "..", "..", "bench", "peers")):  # in the repository (the GPU build has it beside)
    sys.path.append(os.path.join(HERE, "..", "..", "bench", "peers"))
PREFIX = "base_model.model."
LINEARS = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def log(t0, msg):
    print(f"[{time.time() - t0:7.1f} s] {msg}", flush=True)


def read_weights_any(model_path):
    """lab-gpt's weights {HF GPT-2 name: float32 tensor} from the ONNX initializers (torch_sweep.read_weights)."""
    from torch_sweep import read_weights

    w, _ = read_weights(model_path)
    return {k: (v if isinstance(v, torch.Tensor) else torch.as_tensor(v)).float() for k, v in w.items()}


def load_safetensors(path):
    try:
        from safetensors.torch import load_file

        return load_file(path)
    except ImportError:  # CPU test machines without safetensors: decode_bleu_cpu.py's reader
        from decode_bleu_cpu import read_safetensors

        return {k: torch.from_numpy(v) for k, v in read_safetensors(path)[0].items()}


def adapter_deltas(folder):
    """{parameter name: ΔW in the Conv1D layout [in, out], float32} of a PEFT LoRA folder (as bleu_all.py)."""
    cfg = json.load(open(os.path.join(folder, "adapter_config.json")))
    assert not cfg.get("use_rslora") and not cfg.get("rank_pattern") and not cfg.get("alpha_pattern"), folder
    scale = cfg["lora_alpha"] / cfg["r"]
    t = load_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    out = {}
    for k, a in t.items():
        if not k.endswith(".lora_A.weight"):
            continue
        b = t[k.replace(".lora_A.", ".lora_B.")]
        name = k[len(PREFIX) :].replace(".lora_A.weight", ".weight")
        out[name] = scale * (b.double() @ a.double()).T.float()
    assert out, folder
    return out


def merged(base, folder):
    """The system's weights: base with its adapter's deltas added in float32 (as bleu_all.py's params.add_)."""
    if folder is None:
        return base
    w = dict(base)
    for k, d in adapter_deltas(folder).items():
        assert w[k].shape == d.shape, (k, w[k].shape, d.shape)
        w[k] = base[k] + d
    return w


class BatchedGPT:
    """GPT-2 forward for S systems × N prompts with a KV cache; per-system Conv1D weights [S, in, out]."""

    def __init__(self, base, cfg, device):
        self.L, self.H, self.D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.dh, self.eps, self.npos = self.D // self.H, cfg["layer_norm_epsilon"], cfg["n_positions"]
        self.device = device
        self.shared = {k: v.to(device) for k, v in base.items() if not any(k.endswith(f"{m}.weight") for m in LINEARS)}
        self.wte = self.shared["transformer.wte.weight"]
        self.wpe = self.shared["transformer.wpe.weight"]

    def stack(self, weights):
        """{layer: {linear: [S, in, out]}} from a list of per-system weight dicts."""
        return [{m: torch.stack([w[f"transformer.h.{l}.{m}.weight"] for w in weights]).to(self.device) for m in LINEARS} for l in range(self.L)]

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, (self.D,), self.shared[p + ".weight"], self.shared[p + ".bias"], self.eps)

    @staticmethod
    def gelu(x):  # transformers' NewGELUActivation
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    def lin(self, x, W, l, m):
        """x [S, M, in] @ W[l][m] [S, in, out] + bias."""
        return torch.baddbmm(self.shared[f"transformer.h.{l}.{m}.bias"], x, W[l][m])

    def layers(self, x, W, attend):
        """x [S, M, D]; attend(l, q, k, v) -> [S, M, D] (q, k, v [S, M, D])."""
        for l in range(self.L):
            p = f"transformer.h.{l}"
            qkv = self.lin(self.ln(x, p + ".ln_1"), W, l, "attn.c_attn")
            q, k, v = qkv.split(self.D, dim=-1)
            x = x + self.lin(attend(l, q, k, v), W, l, "attn.c_proj")
            x = x + self.lin(self.gelu(self.lin(self.ln(x, p + ".ln_2"), W, l, "mlp.c_fc")), W, l, "mlp.c_proj")
        return x

    def logits(self, x):
        return self.ln(x, "transformer.ln_f") @ self.wte.T

    @torch.no_grad()
    def greedy(self, weights, prompts, stop=10, prefill_chunk=8):
        """Greedy completions (lists of byte values) of every prompt (list of byte lists) under every system of
        `weights` (list of weight dicts): [S][N]."""
        S, N, H, dh, T, dev = len(weights), len(prompts), self.H, self.dh, self.npos, self.device
        W = self.stack(weights)
        lens = torch.tensor([len(p) for p in prompts], device=dev)
        P = int(lens.max())
        assert P <= T
        ids = torch.zeros(N, P, dtype=torch.long, device=dev)
        for i, p in enumerate(prompts):
            ids[i, : len(p)] = torch.tensor(p, device=dev)
        # K/V cache per layer: [S, N, H, T, dh]; a row's slot = its position.
        K = [torch.zeros(S, N, H, T, dh, device=dev) for _ in range(self.L)]
        V = [torch.zeros(S, N, H, T, dh, device=dev) for _ in range(self.L)]
        scale = float(dh) ** 0.5
        neg = torch.finfo(torch.float32).min

        # Prefill, a few systems at a time (right padding; positions 0..P-1; causal mask).
        causal = torch.ones(P, P, dtype=torch.bool, device=dev).tril()
        x0 = (self.wte[ids] + self.wpe[torch.arange(P, device=dev)]).reshape(1, N * P, self.D)
        nxt = torch.empty(S, N, dtype=torch.long, device=dev)
        for s0 in range(0, S, prefill_chunk):
            s1 = min(S, s0 + prefill_chunk)
            Wc = [{m: w[m][s0:s1] for m in LINEARS} for w in W]

            def attend(l, q, k, v, s0=s0, s1=s1):
                s = s1 - s0
                q, k, v = (t.reshape(s, N, P, H, dh).transpose(2, 3) for t in (q, k, v))  # [s, N, H, P, dh]
                K[l][s0:s1, :, :, :P] = k
                V[l][s0:s1, :, :, :P] = v
                att = torch.matmul(q, k.transpose(-1, -2)) / scale
                att = torch.where(causal, att, torch.tensor(neg, device=dev)).softmax(-1)
                return torch.matmul(att, v).transpose(2, 3).reshape(s, N * P, self.D)

            x = self.layers(x0.expand(s1 - s0, -1, -1), Wc, attend).reshape(s1 - s0, N, P, self.D)
            last = x[:, torch.arange(N, device=dev), lens - 1]  # [s, N, D]
            nxt[s0:s1] = self.logits(last).argmax(-1)

        # Decode: one byte per row and step, all systems and prompts together.
        R = S * N
        nxt = nxt.reshape(R)
        cur = lens.repeat(S)  # positions used so far (= the position the next fed byte takes)
        done = torch.zeros(R, dtype=torch.bool, device=dev)
        out = torch.zeros(R, T + 1, dtype=torch.long, device=dev)
        n_out = torch.zeros(R, dtype=torch.long, device=dev)
        rows = torch.arange(R, device=dev)
        slots = torch.arange(T, device=dev)
        Kf = [k.view(R, H, T, dh) for k in K]
        Vf = [v.view(R, H, T, dh) for v in V]
        while True:
            keep = ~done & (nxt != stop)
            out[rows, n_out.clamp(max=T)] = torch.where(keep, nxt, out[rows, n_out.clamp(max=T)])
            n_out = n_out + keep.long()
            done = done | (nxt == stop) | (cur >= T)  # feeding the byte just made would need position T
            if bool(done.all()):
                break
            pos = cur.clamp(max=T - 1)  # finished rows keep being fed; clamp their positions into the table
            Tm = int(pos.max()) + 1
            mask = (slots[None, :Tm] <= pos[:, None])[:, None, None, :]  # [R, 1, 1, Tm]

            def attend(l, q, k, v):
                q, k, v = (t.reshape(R, H, 1, dh) for t in (q, k, v))
                Kf[l][rows, :, pos] = k[:, :, 0]
                Vf[l][rows, :, pos] = v[:, :, 0]
                att = torch.matmul(q, Kf[l][:, :, :Tm].transpose(-1, -2)) / scale  # [R, H, 1, Tm]
                att = torch.where(mask, att, torch.tensor(neg, device=dev)).softmax(-1)
                return torch.matmul(att, Vf[l][:, :, :Tm]).reshape(S, N, self.D)

            x = (self.wte[nxt] + self.wpe[pos]).reshape(S, N, self.D)
            nxt = self.logits(self.layers(x, W, attend)).reshape(R, -1).argmax(-1)
            cur = cur + 1
        out, n_out = out.cpu().tolist(), n_out.cpu().tolist()
        return [[out[s * N + i][: n_out[s * N + i]] for i in range(N)] for s in range(S)]


def text(g):
    return bytes(g).decode("utf-8", errors="replace")


def val_split(path, frac):
    lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    n_val = min(len(lines) - 1, max(1, round(len(lines) * frac)))
    val = lines[len(lines) - n_val :]
    return [ex["prompt"] for ex in val], [ex["completion"] for ex in val]


def grid_systems(grid):
    """[(name, adapter folder, meta)] of a grid folder's runs, sweep files in sorted order, runs in file order."""
    out = []
    for path in sorted(glob.glob(os.path.join(grid, "*.json"))):
        tag = os.path.splitext(os.path.basename(path))[0]
        for run in json.load(open(path))["runs"]:
            folder = os.path.join(grid, "adapters", tag, re.sub(r"[^A-Za-z0-9._-]", "_", run["id"]))
            v = run["validation"]
            meta = {"grid": os.path.basename(os.path.normpath(grid)), "sweep": tag, "runId": run["id"], "optimizer": run["optimizer"],
                    "lr": run["lr"], "damping": run["hyper"].get("damping"), "divergedAtStep": run["divergedAtStep"],
                    "finalVal": v[-1]["loss"] if v else None}
            out.append((f"{meta['grid']}/{run['id']}", folder, meta))
    return out


class Scorer:
    """Corpus BLEU by sacrebleu (when importable) and by src/eval/bleu.ts (bleu.mjs, or bleu-cli.ts via tsx)."""

    def __init__(self, refs, bleu_js, tmp):
        self.refs, self.bleu_js, self.tmp = refs, bleu_js, tmp
        try:
            import sacrebleu

            self.sacrebleu = sacrebleu
        except ImportError:
            self.sacrebleu = None

    def ours(self, systems):
        gen, res = self.tmp + ".in.json", self.tmp + ".out.json"
        cmd = ["npx", "tsx", self.bleu_js] if self.bleu_js.endswith(".ts") else ["node", self.bleu_js]
        try:  # a scorer failure must not lose the decoded outputs
            json.dump({"refs": self.refs, "systems": systems}, open(gen, "w"))
            subprocess.run(cmd + [gen, res], check=True)
            out = json.load(open(res))
        except Exception as e:  # noqa: BLE001
            print(f"our BLEU failed: {type(e).__name__}: {e}", flush=True)
            return {}
        finally:
            for f in (gen, res):
                if os.path.exists(f):
                    os.remove(f)
        return {k: v["score"] for k, v in out.items()}

    def score(self, systems):
        """{name: {"ours": ..., "sacrebleu": ...}}."""
        ours = self.ours(systems)
        out = {}
        for name, hyps in systems.items():
            out[name] = {"ours": ours.get(name)}
            if self.sacrebleu is not None:
                out[name]["sacrebleu"] = self.sacrebleu.corpus_bleu(hyps, [self.refs]).score
        return out


def reference_decoder(kind, base, cfg_path, cfg, device, data_prompts):
    """(decode(weights) -> [completion bytes], logits(weights, seq) -> [256] logits of the last position)."""
    if kind == "hf":
        from generate_bleu import greedy
        from peft_check import hf_model

        model = hf_model(base, cfg_path, device)
        params = dict(model.named_parameters())

        def load(weights):
            with torch.no_grad():
                for k, p in params.items():
                    src = "transformer.wte.weight" if k == "lm_head.weight" else k
                    if src in weights:
                        p.copy_(weights[src].to(device))

        def decode(weights):
            load(weights)
            return [list(s.encode("utf-8")) for s in greedy(model, data_prompts, cfg["n_positions"], device)]

        def logits(weights, seq):
            load(weights)
            with torch.no_grad():
                return model(input_ids=torch.tensor([seq], device=device)).logits[0, -1].double().cpu()

        return decode, logits
    if kind == "numpy":
        from decode_bleu_cpu import GPT

        enc = [list(p.encode("utf-8")) for p in data_prompts]

        def decode(weights):
            return GPT({k: v.numpy() for k, v in weights.items()}, cfg).greedy(enc, cap=10**9)

        def logits(weights, seq):
            return torch.from_numpy(GPT({k: v.numpy() for k, v in weights.items()}, cfg).full_logits(seq)[-1]).double()

        return decode, logits
    raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--config", help="config.json (default: beside --model)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--bleu-js", default="bleu.mjs", help="bleu.mjs, or tools/report/bleu-cli.ts (run by npx tsx)")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--prompts", type=int, default=0, help="only the first N validation prompts (tests)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=1e9, help="start no new batch after this many seconds")
    ap.add_argument("--systems", type=int, default=64, help="systems decoded at once (capped by free GPU memory)")
    ap.add_argument("--mem-fraction", type=float, default=0.5, help="share of the free GPU memory the KV cache may take")
    ap.add_argument("--prefill-chunk", type=int, default=8)
    ap.add_argument("--check", type=int, default=3, help="self-check: base + K adapters of the first grid by the reference decoder")
    ap.add_argument("--check-with", default="hf", choices=["hf", "numpy", "none"])
    ap.add_argument("--wait", action="store_true", help="decode a grid once <grid>/.done exists")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--extra", nargs="*", default=[], help="NAME=ADAPTER_FOLDER systems (tests)")
    ap.add_argument("grids", nargs="*")
    a = ap.parse_args()
    t0 = time.time()
    torch.backends.cuda.matmul.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")
    device = torch.device(a.device)
    cfg_path = a.config or os.path.join(os.path.dirname(a.model), "config.json")
    cfg = json.load(open(cfg_path))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    prompts, refs = val_split(a.data, a.val_fraction)
    if a.prompts:
        prompts, refs = prompts[: a.prompts], refs[: a.prompts]
    enc = [list(p.encode("utf-8")) for p in prompts]
    base = read_weights_any(a.model)
    gpt = BatchedGPT(base, cfg, device)
    N, T = len(prompts), cfg["n_positions"]
    per_system = 2 * cfg["n_layer"] * N * T * cfg["n_embd"] * 4  # K and V cache bytes of one system
    S = a.systems
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        S = max(1, min(S, int(free * a.mem_fraction // per_system)))
        log(t0, f"{torch.cuda.get_device_name(device)}: {free / 2**30:.1f} of {total / 2**30:.1f} GiB free; "
                f"KV cache {per_system / 2**20:.0f} MiB a system; {S} systems at once")
    else:
        log(t0, f"device {device}; {S} systems at once")
    scorer = Scorer(refs, a.bleu_js, os.path.splitext(a.out)[0] + ".tmp")
    gen_base = os.path.splitext(a.out)[0] + "-generations"

    systems, report, gens = {}, {}, {}  # name -> completion text; name -> meta + scores; grid -> {name: completions}
    timing = []
    state = {"decodeSeconds": 0.0}

    def write(not_decoded=None, final=False):
        diffs = [abs(r["sacrebleu"] - r["ours"]) for r in report.values() if r.get("sacrebleu") is not None and r.get("ours") is not None]
        doc = {"prompts": N, "sacrebleu": scorer.sacrebleu.__version__ if scorer.sacrebleu else None,
               "maxAbsDiff": max(diffs) if diffs else None,
               "decoder": f"tools/report/bleu_batched.py: plain-torch GPT-2 with KV cache, up to {S} systems at once, float32 (TF32 off), {device.type}",
               "decoding": f"greedy (argmax); stop at \\n (not kept) or when the next byte would need position {T}",
               "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "torch": torch.__version__,
               "decodeSeconds": state["decodeSeconds"], "batches": timing, "selfCheck": state.get("check"),
               "notDecoded": not_decoded, "complete": final and not not_decoded, "systems": report}
        json.dump(doc, open(a.out + ".part", "w"), indent=1)
        os.replace(a.out + ".part", a.out)

    def finish_batch(batch, outs, grid_key):
        texts = {name: [text(g) for g in o] for (name, _, _), o in zip(batch, outs)}
        systems.update(texts)
        sc = scorer.score(texts)
        for name, folder, meta in batch:
            report[name] = {**meta, **sc[name], "meanHypBytes": sum(len(t.encode()) for t in texts[name]) / N}
        gens.setdefault(grid_key, {}).update(texts)
        with gzip.open(f"{gen_base}-{grid_key}.json.gz", "wt", encoding="utf-8", compresslevel=5) as f:
            json.dump({"prompts": prompts, "refs": refs, "systems": gens[grid_key]}, f)

    def decode_batch(batch, grid_key):
        t = time.time()
        ws = [merged(base, folder) for _, folder, _ in batch]
        tm = time.time() - t
        outs = gpt.greedy(ws, enc, prefill_chunk=a.prefill_chunk)
        if device.type == "cuda":
            torch.cuda.synchronize()
        td = time.time() - t - tm
        state["decodeSeconds"] += td
        finish_batch(batch, outs, grid_key)
        timing.append({"grid": grid_key, "systems": len(batch), "mergeSeconds": round(tm, 2), "decodeSeconds": round(td, 2),
                       "scoreSeconds": round(time.time() - t - tm - td, 2)})
        log(t0, f"{grid_key}: {len(batch)} systems decoded in {td:.1f} s (merge {tm:.1f} s, score {timing[-1]['scoreSeconds']:.1f} s); "
                f"{len(report)} systems so far")
        return outs

    # The base model (and any --extra systems) first.
    first = [("base", None, {"optimizer": "base model (no adapter)"})]
    for e in a.extra:
        name, folder = e.split("=", 1)
        first.append((name, folder, {"optimizer": name}))
    decode_batch(first, "base")

    # Grids, in the given order (with --wait: the first ready one).
    pending = list(a.grids)
    not_decoded, last_batch = [], 0.0
    check_list = list(first) if a.check_with != "none" else []
    checked = False
    while pending:
        ready = [g for g in pending if not a.wait or os.path.exists(os.path.join(g, ".done"))]
        if not ready:
            if time.time() - t0 > a.budget:
                break
            time.sleep(1)
            continue
        grid = ready[0]
        pending.remove(grid)
        key = os.path.basename(os.path.normpath(grid))
        todo = []
        for name, folder, meta in grid_systems(grid):
            if os.path.exists(os.path.join(folder, "adapter_model.safetensors")):
                todo.append((name, folder, meta))
            else:
                log(t0, f"{name}: no adapter at {folder}")
                not_decoded.append(name)
        if not todo:
            not_decoded.append(f"{key}/* (no runs with adapters)")
        log(t0, f"grid {key}: {len(todo)} runs with adapters")
        for i in range(0, len(todo), S):
            if time.time() - t0 + last_batch > a.budget:
                not_decoded += [n for n, _, _ in todo[i:]]
                log(t0, f"budget: {len(todo) - i} runs of {key} not decoded")
                break
            tb = time.time()
            decode_batch(todo[i : i + S], key)
            last_batch = time.time() - tb
            write(not_decoded + [n for n, _, _ in todo[i + S :]] + [f"{os.path.basename(os.path.normpath(g))}/*" for g in pending])
        if not checked and a.check_with != "none" and todo:
            check_list += todo[:: max(1, len(todo) // a.check)][: a.check] if a.check > 0 else []  # spread over the grid's sweeps
            checked = True
            state["check"] = self_check(a, check_list, base, cfg_path, cfg, device, prompts, systems, scorer, t0)
    for g in pending:
        not_decoded.append(f"{os.path.basename(os.path.normpath(g))}/*")
    if not checked and a.check_with != "none":
        state["check"] = self_check(a, check_list, base, cfg_path, cfg, device, prompts, systems, scorer, t0)
    write(not_decoded, final=True)
    log(t0, f"decoded {len(systems)} systems in {state['decodeSeconds']:.1f} s")
    diffs = [abs(r["sacrebleu"] - r["ours"]) for r in report.values() if r.get("sacrebleu") is not None and r.get("ours") is not None]
    if diffs:
        log(t0, f"max |sacrebleu - ours| = {max(diffs):.3e} over {len(diffs)} systems, {N} prompts")


def self_check(*args):
    try:
        return _self_check(*args)
    except Exception as e:  # noqa: BLE001  (the check must not lose the decoded runs)
        print(f"self-check failed: {type(e).__name__}: {e}", flush=True)
        return {"failed": f"{type(e).__name__}: {e}"}


def _self_check(a, check_list, base, cfg_path, cfg, device, prompts, systems, scorer, t0):
    """The batched decoder against a one-system reference decoder on the first systems."""
    if time.time() - t0 > a.budget:
        return {"skipped": "budget"}
    try:
        decode, logits = reference_decoder(a.check_with, base, cfg_path, cfg, device, prompts)
    except Exception as e:  # noqa: BLE001
        log(t0, f"self-check unavailable: {type(e).__name__}: {e}")
        return {"skipped": f"{type(e).__name__}: {e}"}
    out = {"reference": {"hf": "generate_bleu.py greedy (GPT2LMHeadModel, eager attention, left padding)",
                         "numpy": "decode_bleu_cpu.py GPT.greedy (numpy float32, no byte cap)"}[a.check_with], "systems": {}}
    enc = [list(p.encode("utf-8")) for p in prompts]
    for name, folder, _ in check_list:
        t = time.time()
        w = merged(base, folder)
        ref = decode(w)
        ref_txt = [text(g) for g in ref]
        mine = systems[name]
        same = sum(x == y for x, y in zip(ref_txt, mine))
        sc = scorer.score({"ref": ref_txt, "batched": mine})
        diffs = []
        for i, (x, y) in enumerate(zip(ref_txt, mine)):
            if x == y:
                continue
            xb, yb = ref[i], list(y.encode("utf-8"))
            j = next((j for j in range(min(len(xb), len(yb))) if xb[j] != yb[j]), min(len(xb), len(yb)))
            lg = logits(w, enc[i] + xb[:j])
            top = torch.topk(lg, 2)
            diffs.append({"prompt": i, "firstDiffByte": j, "refByte": xb[j] if j < len(xb) else None, "batchedByte": yb[j] if j < len(yb) else None,
                          "refTop2Margin": float(top.values[0] - top.values[1])})
        key = "ours" if sc["ref"]["ours"] is not None else "sacrebleu"
        br, bb = sc["ref"].get(key), sc["batched"].get(key)
        r = {"identical": same, "of": len(prompts), "bleuBy": key, "bleuRef": br, "bleuBatched": bb,
             "bleuDiff": bb - br if br is not None and bb is not None else None, "differences": diffs[:20], "seconds": round(time.time() - t, 1)}
        out["systems"][name] = r
        log(t0, f"self-check {name}: {same} of {len(prompts)} completions identical; BLEU ref {br} batched {bb}"
                + (f"; margins at the first difference {[round(d['refTop2Margin'], 5) for d in diffs[:5]]}" if diffs else ""))
    return out


if __name__ == "__main__":
    main()
