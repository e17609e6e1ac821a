#!/usr/bin/python3
"""Figures and tables of docs/reproduction.md, made only from the saved sweep results.

  python3 tools/report/make_report.py        (from the repository root; needs matplotlib)

Reads docs/reproduction/data/results.tar.gz (the GPU call's sweep JSONs) and writes
docs/reproduction/fig1-lr-robustness.svg, fig2-best-curves.svg, fig3-damping.svg, docs/reproduction/tables.md, and
the tables into docs/reproduction.md between the markers <!-- tables:begin --> and <!-- tables:end -->.

Definitions (also in the report):
- final loss: the run's last validation loss (step = steps); best loss: its lowest validation loss.
- diverged: the engine's guard (NaN/Inf or training loss > 3 × the first loss) froze the run; failed: diverged, or final
  validation loss above the run's first training loss (worse than the untrained adapter).
- an optimizer's best learning rate per seed: the lowest final loss among its runs at damping 1e-6 (the default).
- width within x %: on the seed-mean final loss against log10(lr), linearly interpolated between grid points (a failed
  run counts as +inf at its grid point), the length in decades of the connected interval around the best point where
  the loss is <= (1 + x) × the best mean; an interval that reaches the grid's edge is marked with >=.
- steps to loss L: the first validation step at which the run's validation loss is <= L, at the seed's best lr.
"""

import glob
import io
import json
import math
import os
import re
import statistics
import tarfile
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "docs", "reproduction", "data")
FIGS = os.path.join(ROOT, "docs", "reproduction")
REPORT = os.path.join(ROOT, "docs", "reproduction.md")
DEFAULT_DAMPING = 1e-6
OPTIMIZERS = ["sgd", "riemannian-sgd", "adamw", "riemannian-adamw", "loraplus-adamw"]
COLORS = {"sgd": "#1f77b4", "riemannian-sgd": "#ff7f0e", "adamw": "#2ca02c", "riemannian-adamw": "#d62728", "loraplus-adamw": "#9467bd"}
SETTINGS = {
    "e2e-cattn": "E2E-style set, LoRA on c_attn (r 4)",
    "e2e-all": "E2E-style set, LoRA on all four module kinds (r 4)",
    "devils-cattn": "devils-dictionary.txt, LoRA on c_attn (r 4)",
}
THRESHOLDS = {"e2e-cattn": [1.2, 1.0, 0.8], "e2e-all": [1.0, 0.6, 0.45], "devils-cattn": [1.55, 1.5, 1.46]}


def load():
    """{setting: {seed: [run, ...]}} from the tarball, plus {setting: config/timing of the first sweep}."""
    runs, meta = defaultdict(lambda: defaultdict(list)), {}
    with tarfile.open(os.path.join(DATA, "results.tar.gz")) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            g = re.match(r"results/([a-z0-9-]+)-s(\d+)/(\w+)\.json$", m.name)
            if not g:
                continue
            setting, seed, tag = g.group(1), int(g.group(2)), g.group(3)
            res = json.load(io.TextIOWrapper(tar.extractfile(m), encoding="utf-8"))
            for r in res["runs"]:
                r["sweep"] = tag
                runs[setting][seed].append(r)
            meta.setdefault(setting, {"config": res["config"], "model": res["model"], "dataset": res["dataset"], "adapter": res["adapter"], "timings": []})
            meta[setting]["timings"].append({"seed": seed, "sweep": tag, "runs": len(res["runs"]), **res["timings"]})
    return runs, meta


def final(r):
    v = r["validation"]
    x = v[-1]["loss"] if v else None
    return x if x is not None and math.isfinite(x) else math.inf


def best_val(r):
    xs = [v["loss"] for v in r["validation"] if v["loss"] is not None and math.isfinite(v["loss"])]
    return min(xs) if xs else math.inf


def first_loss(r):
    return next((x for x in r["losses"] if x is not None), math.inf)


def failed(r):
    return r["divergedAtStep"] is not None or not (final(r) < first_loss(r))


def loss_or_inf(r):
    return math.inf if failed(r) else final(r)


def by_opt(runs_of_seed, damping=DEFAULT_DAMPING):
    """optimizer -> {lr: run} at one damping."""
    out = defaultdict(dict)
    for r in runs_of_seed:
        if abs(r["hyper"]["damping"] - damping) <= 1e-12 * max(1.0, damping) or (damping == DEFAULT_DAMPING and not r["optimizer"].startswith("riemannian")):
            out[r["optimizer"]][r["lr"]] = r
    return out


def width(lrs, losses, frac):
    """Decades of the connected interval around the minimum where the interpolated loss <= (1 + frac) × minimum."""
    xs = [math.log10(l) for l in lrs]
    i0 = min(range(len(losses)), key=lambda i: losses[i])
    lim = losses[i0] * (1 + frac)

    def cross(i, j):  # from inside point i to outside point j
        if not math.isfinite(losses[j]):
            return xs[i] + 0.0 if losses[i] == lim else xs[i] + (xs[j] - xs[i]) * 0.0 + _frac(losses[i], losses[j], lim) * (xs[j] - xs[i])
        return xs[i] + _frac(losses[i], losses[j], lim) * (xs[j] - xs[i])

    lo, edge_lo = xs[i0], False
    i = i0
    while True:
        if i == 0:
            lo, edge_lo = xs[0], True
            break
        if losses[i - 1] <= lim:
            i -= 1
            continue
        lo = cross(i, i - 1)
        break
    hi, edge_hi = xs[i0], False
    i = i0
    while True:
        if i == len(xs) - 1:
            hi, edge_hi = xs[-1], True
            break
        if losses[i + 1] <= lim:
            i += 1
            continue
        hi = cross(i, i + 1)
        break
    return hi - lo, edge_lo or edge_hi


def _frac(inside, outside, lim):
    if not math.isfinite(outside):
        return 0.0  # a failed neighbour: the interval ends at the last good grid point
    return (lim - inside) / (outside - inside)


def fmt_lr(x):
    e = math.floor(math.log10(x) + 1e-9)
    m = x / 10**e
    return f"{m:.3g}e{e}" if abs(m - 1) > 1e-6 else f"1e{e}"


def summarize(setting, seeds_runs):
    rows = {}
    seeds = sorted(seeds_runs)
    for opt in OPTIMIZERS:
        per_seed = {s: by_opt(seeds_runs[s]).get(opt, {}) for s in seeds}
        if not any(per_seed.values()):
            continue
        lrs = sorted(set().union(*[set(d) for d in per_seed.values()]))
        mean_curve = []
        for lr in lrs:
            vals = [loss_or_inf(per_seed[s][lr]) for s in seeds if lr in per_seed[s]]
            mean_curve.append(statistics.fmean(vals) if all(math.isfinite(v) for v in vals) else math.inf)
        best_per_seed = {}
        for s in seeds:
            ok = [(loss_or_inf(r), lr) for lr, r in per_seed[s].items()]
            best_per_seed[s] = min(ok)
        bests = [b[0] for b in best_per_seed.values()]
        w5, e5 = width(lrs, mean_curve, 0.05)
        w25, e25 = width(lrs, mean_curve, 0.25)
        all_runs = [r for s in seeds for r in seeds_runs[s] if r["optimizer"] == opt]
        at_default = [r for s in seeds for r in per_seed[s].values()]
        div_lrs = [min([lr for lr, r in per_seed[s].items() if r["divergedAtStep"] is not None] or [math.inf]) for s in seeds]
        fail_lrs = [min([lr for lr, r in per_seed[s].items() if failed(r) and lr > best_per_seed[s][1]] or [math.inf]) for s in seeds]
        steps = {}
        for L in THRESHOLDS[setting]:
            got = []
            for s in seeds:
                r = per_seed[s][best_per_seed[s][1]]
                got.append(next((v["step"] for v in r["validation"] if v["loss"] is not None and v["loss"] <= L), None))
            steps[L] = got
        flat = []
        for s in seeds:
            r = per_seed[s][best_per_seed[s][1]]
            v = {x["step"]: x["loss"] for x in r["validation"]}
            last = max(v)
            prev = last - 100
            if prev in v:
                flat.append((v[prev] - v[last]) / v[last])
        rows[opt] = {
            "lrs": lrs,
            "meanCurve": mean_curve,
            "bestPerSeed": best_per_seed,
            "bestMean": statistics.fmean(bests),
            "bestSd": statistics.stdev(bests) if len(bests) > 1 else 0.0,
            "bestValMin": statistics.fmean([best_val(per_seed[s][best_per_seed[s][1]]) for s in seeds]),
            "width5": (w5, e5),
            "width25": (w25, e25),
            "diverged": sum(r["divergedAtStep"] is not None for r in at_default),
            "failed": sum(failed(r) for r in at_default),
            "runs": len(at_default),
            "divergedAllDampings": sum(r["divergedAtStep"] is not None for r in all_runs),
            "runsAllDampings": len(all_runs),
            "firstDivergedLr": div_lrs,
            "firstFailedLrAboveBest": fail_lrs,
            "steps": steps,
            "flat": flat,
        }
    return rows


def plus(x, sd, n):
    return f"{x:.4f} ± {sd:.4f}" if n > 1 else f"{x:.4f}"


def fmt_w(w):
    return ("≥ " if w[1] else "") + f"{w[0]:.2f}"


def table(setting, rows, nseeds, bleu):
    th = THRESHOLDS[setting]
    head = ["optimizer", f"best final val loss ({'mean ± sd over ' + str(nseeds) + ' seeds' if nseeds > 1 else '1 seed'})", "best lr (per seed)",
            "decades within 5 %", "decades within 25 %", "diverged (guard) / failed, δ = 1e-6", "lowest diverged lr (per seed)",
            "BLEU at best lr"] + [f"steps to val ≤ {L}" for L in th] + ["last-100-step drop at best lr"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for opt, r in rows.items():
        steps = []
        for L in th:
            got = r["steps"][L]
            steps.append(" / ".join("–" if g is None else str(g) for g in got))
        out.append("| " + " | ".join([
            f"`{opt}`",
            plus(r["bestMean"], r["bestSd"], nseeds),
            ", ".join(fmt_lr(b[1]) for b in r["bestPerSeed"].values()),
            fmt_w(r["width5"]),
            fmt_w(r["width25"]),
            f"{r['diverged']} / {r['failed']} of {r['runs']}",
            ", ".join("none" if not math.isfinite(x) else fmt_lr(x) for x in r["firstDivergedLr"]),
            bleu.get(opt, "not measured"),
        ] + steps + [", ".join(f"{100 * f:.1f} %" for f in r["flat"])]) + " |")
    return "\n".join(out)


def damping_table(seeds_runs):
    seeds = sorted(seeds_runs)
    out = []
    for opt in ["riemannian-adamw", "riemannian-sgd"]:
        cells = defaultdict(list)
        for s in seeds:
            for r in seeds_runs[s]:
                if r["optimizer"] == opt:
                    cells[(r["hyper"]["damping"], r["lr"])].append(r)
        ds = sorted({d for d, _ in cells})
        lrs = sorted({l for _, l in cells})
        out.append(f"**`{opt}`**, final validation loss (mean over {len(seeds)} seeds; ✗ = a seed failed):\n")
        out.append("| δ \\ lr | " + " | ".join(fmt_lr(l) for l in lrs) + " |")
        out.append("|---|" + "---|" * len(lrs))
        for d in ds:
            row = []
            for l in lrs:
                rs = cells[(d, l)]
                vals = [loss_or_inf(r) for r in rs]
                row.append("✗" if any(not math.isfinite(v) for v in vals) else f"{statistics.fmean(vals):.3f}")
            out.append(f"| {fmt_lr(d)} | " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def fig1(runs, summaries):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for ax, setting in zip(axes, SETTINGS):
        seeds = sorted(runs[setting])
        for opt in OPTIMIZERS:
            if opt not in summaries[setting]:
                continue
            lrs = summaries[setting][opt]["lrs"]
            cap = 2.5
            ys = []
            for lr in lrs:
                vals = [min(loss_or_inf(by_opt(runs[setting][s])[opt][lr]), cap) for s in seeds if lr in by_opt(runs[setting][s])[opt]]
                ys.append(vals)
            mean = [statistics.fmean(v) for v in ys]
            ax.plot(lrs, mean, "-o", ms=3, color=COLORS[opt], label=opt)
            if len(seeds) > 1:
                ax.fill_between(lrs, [min(v) for v in ys], [max(v) for v in ys], color=COLORS[opt], alpha=0.2)
        ax.set_xscale("log")
        ax.set_ylim(top=2.55)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("final validation loss (nats/byte; failed runs drawn at 2.5)")
        ax.set_title(f"{SETTINGS[setting]}\n{len(seeds)} seed{'s' if len(seeds) > 1 else ''}{' (band: min–max)' if len(seeds) > 1 else ''}, δ = 1e-6", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig1-lr-robustness.svg"))
    plt.close(fig)


def fig2(runs, summaries):
    setting = "e2e-cattn"
    seeds = sorted(runs[setting])
    pairs = [("sgd", "riemannian-sgd"), ("adamw", "riemannian-adamw", "loraplus-adamw")]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for ax, group in zip(axes, pairs):
        for opt in group:
            s0 = summaries[setting][opt]
            for k, s in enumerate(seeds):
                lr = s0["bestPerSeed"][s][1]
                r = by_opt(runs[setting][s])[opt][lr]
                tl = [x for x in r["losses"]]
                ema, sm = None, []
                for x in tl:
                    ema = x if ema is None else 0.95 * ema + 0.05 * x
                    sm.append(ema)
                ax.plot(range(1, len(sm) + 1), sm, color=COLORS[opt], alpha=0.25, lw=0.8)
                v = r["validation"]
                ax.plot([p["step"] for p in v], [p["loss"] for p in v], "-", color=COLORS[opt], lw=1.6,
                        label=f"{opt} (val; lr {', '.join(sorted({fmt_lr(b[1]) for b in s0['bestPerSeed'].values()}))})" if k == 0 else None)
        ax.set_xlabel("step")
        ax.set_title("plain vs preconditioned: " + " / ".join(group) + f"\nat each seed's best lr ({len(seeds)} seeds; thin: training loss, EMA 0.95)", fontsize=9)
        ax.set_ylim(0.5, 2.4)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("loss (nats/byte, completion bytes)")
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig2-best-curves.svg"))
    plt.close(fig)


def fig3(runs):
    setting = "e2e-cattn"
    seeds = sorted(runs[setting])
    fig, axes = plt.subplots(1, 2, figsize=(14, 3.6))
    for ax, opt in zip(axes, ["riemannian-adamw", "riemannian-sgd"]):
        cells = defaultdict(list)
        for s in seeds:
            for r in runs[setting][s]:
                if r["optimizer"] == opt:
                    cells[(r["hyper"]["damping"], r["lr"])].append(loss_or_inf(r))
        ds = sorted({d for d, _ in cells})
        lrs = sorted({l for _, l in cells})
        z = [[min(statistics.fmean(cells[(d, l)]), 2.5) if all(math.isfinite(v) for v in cells[(d, l)]) else math.nan for l in lrs] for d in ds]
        cmap = matplotlib.colormaps["viridis_r"].copy()
        cmap.set_bad("#bbbbbb")
        im = ax.imshow(z, aspect="auto", cmap=cmap, vmin=0.6, vmax=2.5)
        ax.set_xticks(range(len(lrs)), [fmt_lr(l) for l in lrs], rotation=45, fontsize=7)
        ax.set_yticks(range(len(ds)), [fmt_lr(d) for d in ds])
        for i, row in enumerate(z):
            for j, v in enumerate(row):
                ax.text(j, i, "fail" if v != v else f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v == v and v > 1.5 else "black")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("damping δ")
        ax.set_title(f"{opt}: final validation loss, mean of {len(seeds)} seeds (fail: a seed failed, grey)", fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig3-damping.svg"))
    plt.close(fig)


def bleu_cells():
    path = os.path.join(DATA, "bleu.json")
    if not os.path.exists(path):
        return {}
    b = json.load(open(path))["systems"]
    per = defaultdict(list)
    for name, s in b.items():
        if name.startswith("cattn/"):
            per[s["optimizer"]].append(s["ours"])
    return {o: (f"{statistics.fmean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}") for o, v in per.items()}


def bleu_table():
    """Per-seed BLEU of the c_attn best runs (data/bleu.json, tools/report/decode_bleu_cpu.py)."""
    path = os.path.join(DATA, "bleu.json")
    if not os.path.exists(path):
        return "not measured.\n"
    d = json.load(open(path))
    b = d["systems"]
    per = defaultdict(dict)
    for name, s in b.items():
        if name.startswith("cattn/"):
            per[s["optimizer"]][s["seed"]] = s
    seeds = sorted({k for v in per.values() for k in v})
    out = [f"{d['decoder']}; {d['decoding'].replace(chr(92) + 'n', '`' + chr(92) + 'n`')}; {d['prompts']} validation prompts ({d['promptsFitContext']} of them leave room for their whole reference). "
           f"Corpus BLEU by src/eval/bleu.ts (sacrebleu 13a defaults). Setting: {d['setting']}.\n"]
    v = d.get("verification")
    if v:
        lv = [x for x in v.values() if "fullMaxAbsDiff" in x]
        worst = max(max(x["fullMaxAbsDiff"], x["cachedMaxAbsDiff"]) for x in lv)
        out.append(f"Decoder against onnxruntime-web logits (base + {len(lv) - 1} merged adapters, {lv[0]['positions']} positions each, with and without the KV cache): "
                   f"max \\|difference\\| {worst:.1e} (logits up to ~{max(x['logitScale'] for x in lv):.0f}), "
                   f"argmax mismatches {sum(x['argmaxMismatches'] for x in lv)} of {sum(x['positions'] for x in lv)}.\n")
        bs = {k[len("batch-vs-single "):]: x for k, x in v.items() if k.startswith("batch-vs-single")}
        if bs:
            out.append("Batched decoding against one prompt at a time: identical for " + ", ".join(f"{x['identical']} of the first {x['prompts']} prompts ({k})" for k, x in bs.items()) + ".\n")
    rr = [s for s in b.values() if "rerunFinalVal" in s]
    if rr:
        same = sum(1 for s in rr if s["rerunFinalVal"] == s["finalVal"])
        out.append(f"The re-trained adapters reproduce their grid runs: final validation loss identical to the grid's for {same} of {len(rr)} runs"
                   + ("" if same == len(rr) else f" (max \\|difference\\| {max(abs(s['rerunFinalVal'] - s['finalVal']) for s in rr):.1e})") + ".\n")
    if d.get("sacrebleu"):
        out.append(f"sacrebleu {d['sacrebleu']} on the same outputs: max \\|difference\\| {d['maxAbsDiff']:.1e}.\n")
    out += ["| optimizer | best lr (per seed) | " + " | ".join(f"BLEU s{s}" for s in seeds) + " | mean ± sd | BLEU, reference fits context (mean) | rows stopped by cap/context (per seed) | final val loss (per seed) |",
            "|---|---|" + "---|" * len(seeds) + "---|---|---|---|"]
    order = ["sgd", "riemannian-sgd", "adamw", "riemannian-adamw", "loraplus-adamw"]  # as the loss tables
    for opt in [o for o in order if o in per] + sorted(o for o in per if o not in order):
        r = per[opt]
        xs = [r[s]["ours"] for s in seeds if s in r]
        fit = [r[s]["oursFitsContext"] for s in seeds if s in r]
        ms = f"{statistics.fmean(xs):.2f} ± {statistics.stdev(xs):.2f}" if len(xs) > 1 else f"{xs[0]:.2f}"
        out.append(f"| `{opt}` | {', '.join(fmt_lr(r[s]['lr']) for s in seeds if s in r)} | " + " | ".join(f"{r[s]['ours']:.2f}" if s in r else "–" for s in seeds)
                   + f" | {ms} | {statistics.fmean(fit):.2f} | {' / '.join(str(r[s]['hitCapOrContext']) for s in seeds if s in r)} | {' / '.join(format(r[s]['finalVal'], '.3f') for s in seeds if s in r)} |")
    if "base" in b:
        out.append(f"\nThe base model (no adapter) scores {b['base']['ours']:.2f} (reference-fits subset {b['base']['oursFitsContext']:.2f}).")
    return "\n".join(out) + "\n"


def timings(meta):
    out = ["| setting | sweep (seed) | runs | wall s | s/step | tokens/s |", "|---|---|---|---|---|---|"]
    for setting, m in meta.items():
        for t in sorted(m["timings"], key=lambda t: (t["seed"], t["sweep"])):
            out.append(f"| {setting} | {t['sweep']} (s{t['seed']}) | {t['runs']} | {t['totalSeconds']:.1f} | {t['secondsPerStep'] * 1000:.1f} ms | {t['tokensPerSec']:,.0f} |")
    return "\n".join(out)


def peft_table():
    path = os.path.join(DATA, "peft-check.json")
    if not os.path.exists(path):
        return "not run.\n"
    d = json.load(open(path))
    pairs = [
        ("engine paper | torch paper", "engine (paper order) vs float32 torch re-implementation of ALGORITHM.md (paper order)"),
        ("engine old-iterate | torch old-iterate", "engine `--preconditioner-order old-iterate` vs torch re-implementation (old iterate)"),
        ("engine old-iterate | peft riemannian AdamW", "engine `--preconditioner-order old-iterate` vs PEFT `create_riemannian_optimizer`"),
        ("torch old-iterate | peft riemannian AdamW", "torch re-implementation (old iterate) vs PEFT"),
        ("engine paper | peft riemannian AdamW", "engine (paper order, the default) vs PEFT"),
        ("engine paper | engine old-iterate", "engine: paper order vs old iterate"),
        ("peft riemannian AdamW | peft plain AdamW", "PEFT Riemannian vs PEFT plain AdamW (the preconditioner's own effect)"),
    ]
    out = [f"{d['steps']} steps at lr {d['lr']}, δ = {d['hyper']['damping']}, weight decay {d['hyper']['weight_decay']}, torch {d['torch']}, peft {d['peft']}.\n",
           "| max \\|loss difference\\| over the steps | init B ≠ 0 | init B = 0 |", "|---|---|---|"]
    for key, label in pairs:
        out.append(f"| {label} | {d['inits']['nz']['maxAbsDiff'][key]:.2e} | {d['inits']['zero']['maxAbsDiff'][key]:.2e} |")
    out.append("\nPer-step losses, init B ≠ 0 (first 8 of the steps):\n")
    runs = d["inits"]["nz"]["losses"]
    out.append("| run | " + " | ".join(str(i + 1) for i in range(8)) + " | … | " + str(d["steps"]) + " |")
    out.append("|---|" + "---|" * 10)
    for k, v in runs.items():
        out.append(f"| {k} | " + " | ".join(f"{x:.6f}" for x in v[:8]) + f" | … | {v[-1]:.6f} |")
    return "\n".join(out) + "\n"


def bleu_check_table():
    path = os.path.join(DATA, "bleu-check.json")
    if not os.path.exists(path):
        return "not run.\n"
    d = json.load(open(path))
    out = [f"sacrebleu {d['sacrebleu']}, {d['references']} references (the E2E-style validation completions); max \\|difference\\| {d['maxAbsDiff']:.1e}.\n",
           "| system | sacrebleu | ours (src/eval/bleu.ts) |", "|---|---|---|"]
    for k, v in d["systems"].items():
        out.append(f"| {k} | {v['sacrebleu']:.6f} | {v['ours']:.6f} |")
    return "\n".join(out) + "\n"


def main():
    runs, meta = load()
    summaries = {s: summarize(s, runs[s]) for s in SETTINGS if s in runs}
    fig1(runs, summaries)
    fig2(runs, summaries)
    fig3(runs)
    bleu = bleu_cells()
    parts = []
    for s in SETTINGS:
        if s not in summaries:
            parts.append(f"### {SETTINGS[s]}\n\nnot run.\n")
            continue
        c = meta[s]["config"]
        parts.append(
            f"### {SETTINGS[s]}\n\n{len(runs[s])} seed(s) ({', '.join(str(x) for x in sorted(runs[s]))}); {c['steps']} steps, batch {c['batch']} × seq {c['seq']}, "
            f"{c['decay']} lr, warm-up {c['warmup']}, weight decay {c['hyper']['weightDecay']}, validation every {c['valEvery']} steps on {c['valBatches']} batches; "
            f"dataset {meta[s]['dataset']['name']} ({meta[s]['dataset']['trainTokens']:,} training / {meta[s]['dataset']['valTokens']:,} validation bytes).\n\n"
            + table(s, summaries[s], len(runs[s]), bleu if s == "e2e-cattn" else {})
            + "\n"
        )
    parts.append("### BLEU of greedy completions at the best learning rate (E2E-style set, c_attn)\n\n" + bleu_table())
    parts.append("### Damping δ × learning rate (E2E-style set, c_attn)\n\n" + damping_table(runs["e2e-cattn"]))
    parts.append("### PEFT cross-check (devils-dictionary.txt, sequential batches, same adapter)\n\n" + peft_table())
    parts.append("### BLEU implementation against sacrebleu\n\n" + bleu_check_table())
    parts.append("### Sweep wall times\n\nThe four sweeps of a grid ran at once on the one GPU; the e2e-all and devils grids (eight sweeps) ran at once, beside the (failed) decoding, so their step times are not those of a sweep alone.\n\n" + timings(meta) + "\n")
    text = "\n".join(parts)
    open(os.path.join(FIGS, "tables.md"), "w").write("<!-- generated by tools/report/make_report.py; do not edit -->\n\n" + text)
    if os.path.exists(REPORT):
        rep = open(REPORT).read()
        a, b = "<!-- tables:begin -->", "<!-- tables:end -->"
        if a in rep and b in rep:
            rep = rep[: rep.index(a) + len(a)] + "\n\n" + text + "\n" + rep[rep.index(b) :]
            open(REPORT, "w").write(rep)
    json.dump({s: {o: {k: v for k, v in r.items() if k not in ("meanCurve",)} for o, r in rows.items()} for s, rows in summaries.items()},
              open(os.path.join(DATA, "summary.json"), "w"), indent=1, default=str)
    print(text)


if __name__ == "__main__":
    main()
