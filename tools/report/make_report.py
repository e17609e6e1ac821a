#!/usr/bin/python3
"""Figures and tables of docs/reproduction.md, made only from the saved sweep results.

  python3 tools/report/make_report.py        (from the repository root; needs matplotlib)

Reads docs/reproduction/data/results.tar.gz (GPU call 1's sweep JSONs), rerun.tar.gz (call 3, tools/report/gpu-rerun.sh:
the c_attn seed-0 grid again, the all-modules grids of seeds 0-2, the best c_attn runs for 2,400 steps, BLEU per run),
bleu-all-runs.tar.gz when present (call 4, tools/report/gpu-bleu-all.sh: the six E2E-style grids re-trained with adapters and every
run decoded by bleu_batched.py; it then replaces call 3's per-run BLEU section and figure 5, and gives the main table's "BLEU at
best lr" of both E2E settings), long-grid.tar.gz when present (calls 5 and 6, tools/report/gpu-long-grid.sh: the c_attn grid at
2,400 steps, seeds 0-2, δ = 1e-6), bleu.json, bleu-check.json and peft-check.json, and writes docs/reproduction/fig1-lr-robustness.svg,
fig2-best-curves.svg, fig3-damping.svg, fig4-long-schedule.svg, fig5-bleu-per-run.svg, fig6-long-grid.svg, docs/reproduction/tables.md, data/summary.json, and the
tables into docs/reproduction.md between the markers <!-- tables:begin --> and <!-- tables:end -->.

The main table takes c_attn and devils from call 1 and the all-modules setting from call 3 (its three seeds: one build,
one call); call 1's all-modules seed 0 and call 3's c_attn seed 0 are compared with their counterparts in
"Re-running the recorded commands".

Definitions (also in the report):
- final loss: the run's last validation loss (step = steps); best loss: its lowest validation loss.
- diverged: the engine's guard (NaN/Inf or training loss > 3 × the first loss) froze the run; failed: diverged, or final
  validation loss above the run's first training loss (worse than the untrained adapter).
- an optimizer's best learning rate per seed: the lowest final loss among its runs at damping 1e-6 (the default).
- width within x %: on the seed-mean final loss against log10(lr), linearly interpolated between grid points (a failed
  run counts as +inf at its grid point), the length in decades of the connected interval around the best point where
  the loss is <= (1 + x) × the best mean; an interval that reaches the grid's edge is marked with >=.
- steps to loss L: the first validation step at which the run's validation loss is <= L, at the seed's best lr.
- failure edge (re-run comparison): per optimizer and damping, the lowest learning rate that failed in either call; a
  run's position is the number of grid points below it (no run fails below its best rate in these grids).
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

plt.rcParams["svg.hashsalt"] = "lora-lab-reproduction"  # stable ids: a re-run changes only what the data changes
SVG_META = {"Date": None}

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


def load(name="results.tar.gz"):
    """{setting: {seed: [run, ...]}} from a call's tarball, plus {setting: config/timing of the first sweep}."""
    runs, meta = defaultdict(lambda: defaultdict(list)), {}
    with tarfile.open(os.path.join(DATA, name)) as tar:
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
    fig.savefig(os.path.join(FIGS, "fig1-lr-robustness.svg"), metadata=SVG_META)
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
    fig.savefig(os.path.join(FIGS, "fig2-best-curves.svg"), metadata=SVG_META)
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
    fig.savefig(os.path.join(FIGS, "fig3-damping.svg"), metadata=SVG_META)
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


def timings(calls, long=None, long_label=None):
    """calls: [(label, meta)]; long: the 2,400-step runs."""
    out = ["| call | setting | sweep (seed) | runs | wall s | s/step | tokens/s |", "|---|---|---|---|---|---|---|"]
    for label, meta in calls:
        for setting, m in meta.items():
            for t in sorted(m["timings"], key=lambda t: (t["seed"], t["sweep"])):
                out.append(f"| {label} | {setting} | {t['sweep']} (s{t['seed']}) | {t['runs']} | {t['totalSeconds']:.1f} | {t['secondsPerStep'] * 1000:.1f} ms | {t['tokensPerSec']:,.0f} |")
    for opt, d in (long or {}).items():
        for s, r in sorted(d.items()):
            t = r["timings"]
            out.append(f"| {long_label or calls[-1][0]} | 2,400 steps | {opt} (s{s}) | 1 | {t['totalSeconds']:.1f} | {t['secondsPerStep'] * 1000:.1f} ms | {t['tokensPerSec']:,.0f} |")
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


# ---------------------------------------------------------------------------------------------------------------
# The re-run call (tools/report/gpu-rerun.sh, data/rerun.tar.gz): the recorded c_attn grid of seed 0 again, the
# best c_attn runs for 2,400 steps, the all-modules setting for seeds 0-2, BLEU of every run that the budget allowed.

RERUN = "rerun.tar.gz"
LONG_CHECKPOINTS = [600, 1200, 1800, 2400]


def build_commit(name):
    """The commit a call's build was made at: build-info.json (re-run call) or the JSON line of results/gpu.txt."""
    with tarfile.open(os.path.join(DATA, name)) as tar:
        for member in ("build-info.json", "results/gpu.txt"):
            try:
                text = tar.extractfile(member).read().decode()
            except KeyError:
                continue
            g = re.search(r'"commit":"(\w+)"', text)
            if g:
                return g.group(1)
    return "?"


def fmt_sd(xs, digits=4):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return "–"
    return f"{statistics.fmean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}" if len(xs) > 1 else f"{xs[0]:.{digits}f}"


def edge_positions(pairs):
    """{run id: k}: k = grid points below the lowest learning rate at which its optimizer (and damping) failed, in
    either call (k <= 0: at or past that edge; inf: no failure on the grid). No run fails below its best rate here."""
    groups = defaultdict(list)
    for k, (a, _) in pairs.items():
        groups[(a["optimizer"], a["hyper"]["damping"])].append(k)
    out = {}
    for ids in groups.values():
        ids.sort(key=lambda k: pairs[k][0]["lr"])
        fails = [i for i, k in enumerate(ids) if failed(pairs[k][0]) or failed(pairs[k][1])]
        for i, k in enumerate(ids):
            out[k] = (min(fails) - i) if fails else math.inf
    return out


def status(r):
    if r["divergedAtStep"] is not None:
        return f"diverged at step {r['divergedAtStep']}"
    return "failed (not diverged)" if failed(r) else "trained"


def agreement(rec, rer):
    """Per-run agreement of two calls' runs of one grid: rows by position against the failure edge, plus changes."""
    a, b = {r["id"]: r for r in rec}, {r["id"]: r for r in rer}
    pairs = {k: (a[k], b[k]) for k in a if k in b}
    pos = edge_positions(pairs)
    cats = [("≥ 2 grid points below the failure edge", lambda k: k >= 2), ("1 grid point below the edge", lambda k: k == 1),
            ("at or past the edge", lambda k: k <= 0), ("all", lambda k: True)]
    rows = []
    for label, pick in cats:
        ids = [k for k in pairs if pick(pos[k])]
        ok = [k for k in ids if not failed(pairs[k][0]) and not failed(pairs[k][1])]
        d = {k: abs(final(pairs[k][0]) - final(pairs[k][1])) for k in ok}
        worst = max(d, key=d.get) if d else None
        rows.append({"label": label, "runs": len(ids), "failedBoth": sum(failed(pairs[k][0]) and failed(pairs[k][1]) for k in ids),
                     "ok": len(ok), "identical": sum(x == 0 for x in d.values()),
                     "median": statistics.median(d.values()) if d else None, "max": d[worst] if d else None, "worst": worst,
                     "sameDivergence": sum(pairs[k][0]["divergedAtStep"] == pairs[k][1]["divergedAtStep"] for k in ids)})
    finite = [abs(final(x) - final(y)) for x, y in pairs.values() if math.isfinite(final(x)) and math.isfinite(final(y))]
    changes = [{"id": k, "recorded": status(x), "rerun": status(y), "position": pos[k]} for k, (x, y) in pairs.items()
               if failed(x) != failed(y) or (x["divergedAtStep"] is None) != (y["divergedAtStep"] is None)]
    return {"rows": rows, "pairs": len(pairs), "finiteMedian": statistics.median(finite), "finite": len(finite),
            "identicalAll": sum(final(x) == final(y) for x, y in pairs.values()), "changes": changes}


def agreement_table(ag):
    out = ["| runs (position of the learning rate) | runs | failed in both calls | trained in both | bit-identical final loss | median \\|Δ final val loss\\| | max \\|Δ final val loss\\| (run) | same divergence step (or none in both) |",
           "|---|---|---|---|---|---|---|---|"]
    for r in ag["rows"]:
        out.append(f"| {r['label']} | {r['runs']} | {r['failedBoth']} | {r['ok']} | {r['identical']} | "
                   + ("–" if r["median"] is None else f"{r['median']:.1e}") + " | "
                   + ("–" if r["max"] is None else f"{r['max']:.2g} (`{r['worst']}`)") + f" | {r['sameDivergence']} |")
    out.append(f"\nOver the {ag['finite']} runs with a finite final loss in both calls (failed ones included), the median \\|Δ\\| is {ag['finiteMedian']:.1e}; "
               f"{ag['identicalAll']} of {ag['pairs']} final losses are bit-identical.")
    if ag["changes"]:
        out.append("Runs whose status changed: " + "; ".join(
            f"`{c['id']}`: {c['recorded']} → {c['rerun']} ({'at or past the failure edge' if c['position'] <= 0 else str(c['position']) + ' grid point(s) below the edge'})"
            for c in ag["changes"]) + ".")
    else:
        out.append("No run changed status (trained / failed / diverged).")
    return "\n".join(out) + "\n"


def steps_cell(a, b, sds):
    f = lambda x: "–" if x is None else str(x)
    return f"{f(a)} / {f(b)}" + (f" ({sds})" if sds else "")


def quantities_table(setting, rec0, rer0, sd_runs, sd_label):
    """Table quantities of seed 0 in two calls, beside the per-seed sd of sd_runs ({seed: runs})."""
    A, B = summarize(setting, {0: rec0}), summarize(setting, {0: rer0})
    per_seed = {s: summarize(setting, {s: sd_runs[s]}) for s in sorted(sd_runs)}
    th = THRESHOLDS[setting]
    head = ["optimizer", "best final val loss: recorded / re-run", "\\|Δ\\|", f"sd over {sd_label}", "best lr: recorded / re-run",
            "decades within 5 %: recorded / re-run (sd)", "decades within 25 % (sd)", "diverged / failed, δ = 1e-6: recorded / re-run"] + \
           [f"steps to val ≤ {L}: recorded / re-run (sd)" for L in th]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    verdict = defaultdict(int)
    n = 0
    for opt in A:
        n += 1
        a, b = A[opt], B[opt]
        la, lb = a["bestMean"], b["bestMean"]
        sd = statistics.stdev([per_seed[s][opt]["bestMean"] for s in per_seed])
        verdict["lossWithinSd"] += abs(la - lb) <= sd
        verdict["sameLr"] += a["bestPerSeed"][0][1] == b["bestPerSeed"][0][1]
        ws = []
        for key in ("width5", "width25"):
            sdw = statistics.stdev([per_seed[s][opt][key][0] for s in per_seed])
            verdict["widthWithinSd"] += abs(a[key][0] - b[key][0]) <= sdw
            ws.append(f"{fmt_w(a[key])} / {fmt_w(b[key])} ({sdw:.2f})")
        verdict["sameCounts"] += (a["diverged"], a["failed"]) == (b["diverged"], b["failed"])
        steps = []
        for L in th:
            xs = [per_seed[s][opt]["steps"][L][0] for s in per_seed]
            xs = [x for x in xs if x is not None]
            sds = f"{statistics.stdev(xs):.0f}" if len(xs) > 1 else ""
            sa, sb = a["steps"][L][0], b["steps"][L][0]
            verdict["stepsSame"] += sa == sb
            verdict["stepsWithinSd"] += (sa == sb) or (sa is not None and sb is not None and len(xs) > 1 and abs(sa - sb) <= statistics.stdev(xs))
            steps.append(steps_cell(sa, sb, sds))
        out.append("| " + " | ".join([f"`{opt}`", f"{la:.4f} / {lb:.4f}", f"{abs(la - lb):.1e}", f"{sd:.4f}",
                                      f"{fmt_lr(a['bestPerSeed'][0][1])} / {fmt_lr(b['bestPerSeed'][0][1])}"] + ws +
                                     [f"{a['diverged']} / {a['failed']} → {b['diverged']} / {b['failed']} of {a['runs']}"] + steps) + " |")
    nth = len(th)
    text = "\n".join(out) + (f"\n\nWithin seed noise: best loss \\|Δ\\| ≤ the seed sd for {verdict['lossWithinSd']} of {n} optimizers; "
                             f"the same best lr for {verdict['sameLr']} of {n}; widths \\|Δ\\| ≤ their seed sd for {verdict['widthWithinSd']} of {2 * n}; "
                             f"the same diverged / failed counts for {verdict['sameCounts']} of {n}; steps to the fixed losses the same for "
                             f"{verdict['stepsSame']} of {nth * n}, within the seed sd for {verdict['stepsWithinSd']} of {nth * n}.\n")
    return text, dict(verdict), {"recorded": A, "rerun": B}


def fallbacks_line(calls):
    """calls: [(label, [run, ...])]: how many runs counted a Cholesky fallback, and which."""
    out = []
    for label, runs in calls:
        hit = [r for r in runs if r.get("choleskyFallbacks")]
        txt = f"{label}: {len(hit)} of {len(runs)} runs counted any"
        if hit:
            txt += " (" + "; ".join(f"`{r['id']}` s{r.get('seed', '?')}: {r['choleskyFallbacks']}, " + (f"diverged at step {r['divergedAtStep']}" if r["divergedAtStep"] is not None else "not diverged")
                                    for r in hit) + ")"
        out.append(txt)
    return "Cholesky fallbacks (`choleskyFallbacks` of each run): " + "; ".join(out) + ".\n"


def load_long():
    """optimizer -> seed -> the 2,400-step run (with its sweep config and timings)."""
    out = defaultdict(dict)
    with tarfile.open(os.path.join(DATA, RERUN)) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            g = re.match(r"results/long/cattn-([a-z-]+)-s(\d+)\.json$", m.name)
            if not g:
                continue
            res = json.load(io.TextIOWrapper(tar.extractfile(m), encoding="utf-8"))
            r = res["runs"][0]
            r["config"], r["timings"] = res["config"], res["timings"]
            out[r["optimizer"]][int(g.group(2))] = r
    return out


def val_at(r, step):
    return next((v["loss"] for v in r["validation"] if v["step"] == step), None)


def long_tables(long, rec_runs):
    """The 2,400-step runs: validation loss at the checkpoints, paired differences, and step 600 against the recorded run."""
    seeds = sorted({s for d in long.values() for s in d})
    cfg = next(iter(next(iter(long.values())).values()))["config"]
    out = [f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); each optimizer's best c_attn learning rate of each seed at 600 steps (tools/report/select_best.py: "
           f"lowest final validation loss, not diverged, δ = 1e-6), trained for {cfg['steps']} steps with the same flags and seed "
           f"(constant lr, validation every {cfg['valEvery']} steps on {cfg['valBatches']} batches); {cfg['steps']} × {cfg['batch']} × {cfg['seq']} = "
           f"{cfg['steps'] * cfg['batch'] * cfg['seq']:,} training bytes.\n",
           "| optimizer | lr (per seed) | " + " | ".join(f"val at {c:,}" for c in LONG_CHECKPOINTS) + " | lowest val over the run | drop 600 → 2,400 | drop 1,800 → 2,400 | diverged |",
           "|---|---|" + "---|" * (len(LONG_CHECKPOINTS) + 4)]
    means = {}
    for opt in [o for o in OPTIMIZERS if o in long]:
        rs = [long[opt][s] for s in seeds]
        cps = {c: [val_at(r, c) for r in rs] for c in LONG_CHECKPOINTS}
        means[opt] = {c: statistics.fmean(v) for c, v in cps.items()}
        drop = lambda c0, c1: fmt_sd([100 * (val_at(r, c0) - val_at(r, c1)) / val_at(r, c0) for r in rs], 1) + " %"
        out.append(f"| `{opt}` | {', '.join(fmt_lr(r['lr']) for r in rs)} | " + " | ".join(fmt_sd(cps[c], 3) for c in LONG_CHECKPOINTS)
                   + f" | {fmt_sd([best_val(r) for r in rs], 3)} | {drop(600, 2400)} | {drop(1800, 2400)} | {sum(r['divergedAtStep'] is not None for r in rs)} of {len(rs)} |")
    out.append("\nValidation loss, mean ± sd over the seeds. Drops are relative to the earlier value, per seed, then mean ± sd.\n")
    out.append("Ranking by the seed mean: " + "; ".join(f"step {c:,}: " + " < ".join(f"`{o}`" for o in sorted(means, key=lambda o: means[o][c])) for c in LONG_CHECKPOINTS) + ".\n")
    pairs = [("riemannian-adamw", "adamw"), ("loraplus-adamw", "adamw"), ("riemannian-sgd", "sgd")]
    out += ["Paired differences (same seed: same initialisation and batch order), validation loss of the first minus the second, mean ± sd over seeds [seeds where the first is lower]:\n",
            "| pair | " + " | ".join(f"at {c:,}" for c in LONG_CHECKPOINTS) + " |", "|---|" + "---|" * len(LONG_CHECKPOINTS)]
    for p, q in pairs:
        if p in long and q in long:
            cells = []
            for c in LONG_CHECKPOINTS:
                d = [val_at(long[p][s], c) - val_at(long[q][s], c) for s in seeds]
                cells.append(f"{fmt_sd(d, 3)} [{sum(x < 0 for x in d)} of {len(d)}]")
            out.append(f"| `{p}` − `{q}` | " + " | ".join(cells) + " |")
    # Step 600 of the long runs against the recorded 600-step runs (call 1) and the re-run grid (same build).
    diffs, same_build, same_n = [], 0, 0
    for opt, d in long.items():
        for s, r in d.items():
            rec = by_opt(rec_runs["recorded"][s]).get(opt, {}).get(r["lr"])
            if rec is not None:
                diffs.append((abs(val_at(r, 600) - final(rec)), f"{opt} s{s}"))
            rr = by_opt(rec_runs["rerun"].get(s, [])).get(opt, {}).get(r["lr"])
            if rr is not None:
                same_n += 1
                same_build += val_at(r, 600) == final(rr)
    diffs.sort()
    out.append(f"\nAt step 600 the {len(diffs)} long runs pass the final loss of their recorded 600-step runs (GPU call 1) to a median \\|Δ\\| of "
               f"{statistics.median([d for d, _ in diffs]):.1e} (largest {diffs[-1][0]:.2g}, `{diffs[-1][1]}`; next {diffs[-2][0]:.2g}, `{diffs[-2][1]}`). "
               f"The seed-0 ones equal the re-run grid's seed-0 runs (same build, validation every 25 instead of 100 steps) bit for bit in {same_build} of {same_n}.\n")
    return "\n".join(out) + "\n", means


def fig4(long):
    seeds = sorted({s for d in long.values() for s in d})
    styles = ["-", "--", ":"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for ax, group in zip(axes, [("sgd", "riemannian-sgd"), ("adamw", "riemannian-adamw", "loraplus-adamw")]):
        for opt in group:
            for k, s in enumerate(seeds):
                r = long[opt][s]
                v = r["validation"]
                ax.plot([p["step"] for p in v], [p["loss"] for p in v], styles[k % 3], color=COLORS[opt], lw=1.4,
                        label=f"{opt} s{s} (lr {fmt_lr(r['lr'])})")
        ax.axvline(600, color="grey", lw=0.8, ls="--")
        ax.text(620, 0.465, "600 steps (the grid)", fontsize=7, color="grey")
        ax.set_yscale("log")
        ax.set_ylim(0.45, 3.6)
        ax.set_yticks([0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0], ["0.5", "0.6", "0.7", "0.8", "1.0", "1.2", "1.5", "2.0", "3.0"])
        ax.set_yticks([], minor=True)
        ax.set_xlabel("step")
        ax.set_title(" / ".join(group) + f"\nvalidation loss every 100 steps, at each seed's best lr of the 600-step grid ({len(seeds)} seeds)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2 if len(group) > 2 else 1)
    axes[0].set_ylabel("validation loss (nats/byte, log scale)")
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig4-long-schedule.svg"), metadata=SVG_META)
    plt.close(fig)


def load_bleu_runs():
    """{name: (bleu json, decoding log)} of the re-run call's per-run BLEU."""
    out = {}
    with tarfile.open(os.path.join(DATA, RERUN)) as tar:
        for name in ("bleu-cattn-s0", "bleu-all"):
            try:
                d = json.load(io.TextIOWrapper(tar.extractfile(f"results/{name}.json"), encoding="utf-8"))
                log = tar.extractfile(f"results/{name}.log").read().decode()
            except KeyError:
                continue
            out[name] = (d, log)
    return out


def rank(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(xs, ys):
    rx, ry = rank(xs), rank(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return num / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def bleu_rows(bleu, rerun_runs):
    """[(grid, system meta + 'run' (the re-run's run) + 'bleu')] of the decoded runs."""
    out = []
    for d, _ in bleu.values():
        for name, s in d["systems"].items():
            if name == "base":
                continue
            g = re.match(r"e2e-(\w+)-s(\d+)$", s["grid"])
            setting, seed = f"e2e-{g.group(1)}", int(g.group(2))
            run = next(r for r in rerun_runs[setting][seed] if r["id"] == s["runId"])
            out.append({**s, "setting": setting, "seed": seed, "run": run, "bleu": s["ours"]})
    return out


def bleu_runs_section(bleu, rerun_runs, cpu_bleu):
    rows = bleu_rows(bleu, rerun_runs)
    out = []
    for name, (d, log) in bleu.items():
        g = re.search(r"decoded (\d+) systems in ([\d.]+) s", log)
        out.append(f"- `{name}.json`: {len(d['systems']) - 1} runs + the base model decoded in {g.group(2) if g else '?'} s; "
                   f"sacrebleu {d['sacrebleu']} and src/eval/bleu.ts differ by at most {d['maxAbsDiff']:.1e}.")
    out.append("")
    # Not decoded, per grid and sweep.
    decoded = {(r["grid"], r["runId"]) for r in rows}
    grids = sorted({r["grid"] for r in rows}, key=lambda g: ("cattn" not in g, g))
    missing = missing_runs(rerun_runs, decoded)
    n_all = sum(len(r) for s in rerun_runs.values() for r in s.values())
    out.append(f"Decoded: {len(rows)} of the call's {n_all} grid runs. Not decoded (the decoding ran out of the call's time budget; "
               "it goes through the grids' sweep files in order): " + "; ".join(missing) + ".\n")
    # BLEU against lr, per grid.
    for grid in grids:
        rs = [r for r in rows if r["grid"] == grid]
        lrs = sorted({r["lr"] for r in rs})
        keys = []
        for r in rs:
            k = (r["optimizer"], r["damping"] if r["optimizer"].startswith("riemannian") else None)
            if k not in keys:
                keys.append(k)
        out.append(f"**`{grid}`**: BLEU of each decoded run (greedy, GPU). **Bold**: the row's lowest final validation loss; ✗: failed run; –: not decoded.\n")
        out.append("| optimizer | " + " | ".join(fmt_lr(l) for l in lrs) + " | lr of the highest BLEU / of the lowest loss |")
        out.append("|---|" + "---|" * (len(lrs) + 1))
        for opt, damp in keys:
            cell = {r["lr"]: r for r in rs if r["optimizer"] == opt and (damp is None or r["damping"] == damp)}
            ok = [r for r in cell.values() if not failed(r["run"])]
            best_loss = min(ok, key=lambda r: final(r["run"])) if ok else None
            best_bleu = max(ok, key=lambda r: r["bleu"]) if ok else None
            cells = []
            for l in lrs:
                r = cell.get(l)
                if r is None:
                    cells.append("–")
                    continue
                t = f"{r['bleu']:.2f}" + (" ✗" if failed(r["run"]) else "")
                cells.append(f"**{t}**" if r is best_loss else t)
            label = f"`{opt}`" + (f" δ = {fmt_lr(damp)}" if damp is not None else "")
            tail = f"{fmt_lr(best_bleu['lr'])} ({best_bleu['bleu']:.2f}) / {fmt_lr(best_loss['lr'])} ({best_loss['bleu']:.2f})" if ok and len(cell) > 1 else "–"
            out.append(f"| {label} | " + " | ".join(cells) + f" | {tail} |")
        ok = [r for r in rs if not failed(r["run"])]
        if len(ok) > 2:
            out.append(f"\nSpearman rank correlation of final validation loss and BLEU over the {len(ok)} decoded runs that did not fail: "
                       f"{spearman([final(r['run']) for r in ok], [r['bleu'] for r in ok]):.2f}.\n")
    # GPU against CPU on the runs both decoded.
    if cpu_bleu:
        out.append("**GPU against CPU decoding** on the runs both decoded (the c_attn seed-0 best runs). The CPU decoded the adapter of the "
                   "recorded run (re-trained bit for bit, see \"BLEU of greedy completions\"); the GPU decoded the re-run call's adapter of the same "
                   "command (build " + build_commit(RERUN) + "). The GPU decoder (generate_bleu.py's `greedy`) stops at `\\n` or at 256 positions; "
                   "the CPU one also at 200 generated bytes.\n")
        out.append("| run | final val loss: recorded / re-run | BLEU CPU | BLEU GPU | Δ (GPU − CPU) |")
        out.append("|---|---|---|---|---|")
        common, absent = [], []
        for name, s in cpu_bleu["systems"].items():
            if not name.startswith("cattn/") or s["seed"] != 0:
                continue
            g = next((r for r in rows if r["grid"] == "e2e-cattn-s0" and r["runId"] == s["runId"]), None)
            if g is None:
                absent.append(f"`{s['runId']}`")
                continue
            common.append(g["bleu"] - s["ours"])
            out.append(f"| `{s['runId']}` | {s['finalVal']:.6f} / {final(g['run']):.6f} | {s['ours']:.3f} | {g['bleu']:.3f} | {g['bleu'] - s['ours']:+.3f} |")
        base_gpu = next(iter(bleu.values()))[0]["systems"]["base"]["ours"]
        out.append(f"| base model | – | {cpu_bleu['systems']['base']['ours']:.4f} | {base_gpu:.4f} | {base_gpu - cpu_bleu['systems']['base']['ours']:+.4f} |")
        if common:
            out.append(f"\nOn the {len(common)} common runs the BLEU differs by at most {max(abs(x) for x in common):.3f}"
                       + (f"; not decoded on the GPU: {', '.join(absent)}." if absent else "."))
    return "\n".join(out) + "\n", rows


def fig5(rows, cpu_bleu):
    grids = sorted({r["grid"] for r in rows}, key=lambda g: ("cattn" not in g, g))
    fig, axes = plt.subplots(1, len(grids) + 1, figsize=(6 * (len(grids) + 1), 4.8))
    for ax, grid in zip(axes, grids):
        rs = [r for r in rows if r["grid"] == grid]
        for opt in OPTIMIZERS:
            for damp in sorted({r["damping"] for r in rs if r["optimizer"] == opt}):
                pts = sorted((r["lr"], r["bleu"], failed(r["run"])) for r in rs if r["optimizer"] == opt and r["damping"] == damp)
                if not pts:
                    continue
                main = damp == DEFAULT_DAMPING or not opt.startswith("riemannian")
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o" if main else ":", ms=3, color=COLORS[opt], lw=1.5 if main else 0.8,
                        label=(opt + (" δ = 1e-6" if opt.startswith("riemannian") else "")) if main else (f"{opt}, δ = 1e-8, 1e-4, 1e-2 (dotted)" if damp == 1e-2 else None),
                        alpha=1 if main else 0.6)
                ax.plot([p[0] for p in pts if p[2]], [p[1] for p in pts if p[2]], "x", color=COLORS[opt], ms=6)
        if grid == "e2e-cattn-s0" and cpu_bleu:
            first = True
            for name, s in cpu_bleu["systems"].items():
                if name.startswith("cattn/") and s["seed"] == 0 and any(r["optimizer"] == s["optimizer"] for r in rs):
                    ax.plot([s["lr"]], [s["ours"]], "*", ms=11, mfc="none", color=COLORS[s["optimizer"]], label="CPU decoding of the recorded best run (s0)" if first else None)
                    first = False
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("corpus BLEU (greedy, 300 validation prompts)")
        ax.set_title(f"{grid}: BLEU per decoded run (GPU; x: failed run)", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left")
    ax = axes[-1]
    for grid, marker in zip(grids, ["o", "s"]):
        for opt in OPTIMIZERS:
            pts = [(final(r["run"]), r["bleu"]) for r in rows if r["grid"] == grid and r["optimizer"] == opt and not failed(r["run"])]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, ms=4, color=COLORS[opt], mfc="none" if marker == "s" else COLORS[opt],
                        ls="none", label=f"{opt} ({grid})")
    ax.set_xlabel("final validation loss of the run")
    ax.set_ylabel("corpus BLEU")
    ax.set_title("BLEU against final validation loss (runs that did not fail)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig5-bleu-per-run.svg"), metadata=SVG_META)
    plt.close(fig)


# The BLEU-of-every-run call (tools/report/gpu-bleu-all.sh, data/bleu-all-runs.tar.gz): the six E2E-style grids
# re-trained with their adapters saved, every run decoded by tools/report/bleu_batched.py (many adapters at once).
BLEU_ALL = "bleu-all-runs.tar.gz"
FAMILIES = [("AdamW family", ["adamw", "riemannian-adamw", "loraplus-adamw"]), ("SGD family", ["sgd", "riemannian-sgd"])]


def load_bleu_all():
    """(bleu json, {setting: {seed: [run]}}, sweep meta, decoding log) of the BLEU-of-every-run call, or None."""
    path = os.path.join(DATA, BLEU_ALL)
    if not os.path.exists(path):
        return None
    runs, meta = load(BLEU_ALL)
    with tarfile.open(path) as tar:
        try:
            d = json.load(io.TextIOWrapper(tar.extractfile("results/bleu-all-runs.json"), encoding="utf-8"))
        except KeyError:
            return None
        try:
            log = tar.extractfile("results/bleu-all-runs.log").read().decode()
        except KeyError:
            log = ""
    # The call's generations rescored here with the fixed src/eval/bleu.ts (tools/report/bleu_rescore.py).
    rescore = os.path.join(DATA, "bleu-all-rescore.json")
    if os.path.exists(rescore):
        r = json.load(open(rescore))
        d["callMaxAbsDiff"] = d.get("maxAbsDiff")
        d["maxAbsDiff"] = r["maxAbsDiff"]
        d["rescored"] = True
        for name, s in d["systems"].items():
            if name in r["systems"]:
                s["ours"], s["sacrebleu"] = r["systems"][name]["ours"], r["systems"][name]["sacrebleu"]
    return d, runs, meta, log


def bleu_all_rows(d, runs):
    """The decoded runs: system meta + setting, seed, 'run' (the call's own run) and 'bleu' (ours; sacrebleu if ours failed)."""
    out = []
    for name, s in d["systems"].items():
        if name == "base":
            continue
        g = re.match(r"(e2e-\w+)-s(\d+)$", s["grid"])
        setting, seed = g.group(1), int(g.group(2))
        run = next((r for r in runs.get(setting, {}).get(seed, []) if r["id"] == s["runId"]), None)
        b = s.get("ours") if s.get("ours") is not None else s.get("sacrebleu")
        if run is None or b is None:
            continue
        out.append({**s, "setting": setting, "seed": seed, "run": run, "bleu": b})
    return out


def missing_runs(runs, decoded):
    """'grid: sweep.json (all n)' / 'k of n (lr …)' of the runs not in decoded {(grid, run id)}."""
    missing = []
    for setting, seeds in sorted(runs.items()):
        for seed, rs_ in sorted(seeds.items()):
            grid = f"{setting}-s{seed}"
            per = defaultdict(list)
            for r in rs_:
                per[r["sweep"]].append(r)
            parts = []
            for sweep in ("adam", "radam", "sgd", "rsgd"):
                rs = per.get(sweep, [])
                miss = [r for r in rs if (grid, r["id"]) not in decoded]
                if not rs or not miss:
                    continue
                if len(miss) == len(rs):
                    parts.append(f"{sweep}.json (all {len(rs)})")
                else:
                    parts.append(f"{sweep}.json {len(miss)} of {len(rs)} (lr {', '.join(sorted({fmt_lr(r['lr']) for r in miss}, key=float))})")
            if parts:
                missing.append(f"{grid}: " + ", ".join(parts))
    return missing


def mean_sd(xs, digits=2):
    if not xs:
        return "–"
    return f"{statistics.fmean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}" if len(xs) > 1 else f"{xs[0]:.{digits}f}"


def bleu_best_cells(rows, setting, summary, label):
    """Main table's 'BLEU at best lr': mean ± sd over seeds of the GPU per-run BLEU at each seed's best lr."""
    cell = {}
    for opt, r in summary.items():
        got, miss = [], []
        for seed, (_, lr) in r["bestPerSeed"].items():
            x = next((b for b in rows if b["setting"] == setting and b["seed"] == seed and b["optimizer"] == opt and b["lr"] == lr
                      and (b["damping"] == DEFAULT_DAMPING or not opt.startswith("riemannian"))), None)
            (got if x else miss).append((seed, x))
        if not got:
            cell[opt] = "not decoded"
            continue
        cell[opt] = mean_sd([x["bleu"] for _, x in got]) + f" ({label}" + (f"; s{', s'.join(str(s) for s, _ in miss)} not decoded" if miss else "") + ")"
    return cell


def bleu_all_section(d, rows, runs, log, label, cpu_bleu):
    out = [f"{d['decoder']}; {d['decoding'].replace(chr(92) + 'n', '`' + chr(92) + 'n`')}; {d['prompts']} validation prompts; {d.get('device', '?')}, torch {d.get('torch', '?')}. "
           f"Corpus BLEU by src/eval/bleu.ts (sacrebleu 13a defaults)"
           + (f"; sacrebleu {d['sacrebleu']} on the same outputs differs by at most {d['maxAbsDiff']:.1e}" if d.get("maxAbsDiff") is not None else "") + ".\n"]
    if d.get("rescored"):
        out.append(f"The scores are the call's generations rescored here (`tools/report/bleu_rescore.py`, data/bleu-all-generations.tar → "
                   f"data/bleu-all-rescore.json). In the call itself src/eval/bleu.ts differed from sacrebleu by up to {d['callMaxAbsDiff']:.1e}, "
                   "on failed runs only (BLEU ≈ 0): it split at JavaScript's whitespace where sacrebleu splits at Python's (a diverged "
                   "model writes U+001E), and it smoothed a corpus without a single matching n-gram where sacrebleu scores it 0. "
                   "Both are fixed (with tests against sacrebleu's values).\n")
    nb = [b for b in d.get("batches", []) if b["grid"] != "base"]
    out.append(f"Decoding: {len(d['systems']) - 1} runs + the base model in {d['decodeSeconds']:.1f} s of decoding "
               f"({len(nb)} batches of up to {max((b['systems'] for b in nb), default=0)} adapters"
               + (f", {statistics.fmean([b['decodeSeconds'] / b['systems'] for b in nb]):.2f} s a run" if nb else "") + ").\n")
    sc = d.get("selfCheck") or {}
    if sc.get("systems"):
        parts = []
        for name, x in sc["systems"].items():
            t = f"`{name}` {x['identical']} of {x['of']} identical"
            if x.get("bleuDiff") is not None:
                t += f", BLEU {x['bleuBatched']:.3f} against {x['bleuRef']:.3f}"
            if x["differences"]:
                t += f" (top-2 logit margin of the reference at the first differing byte: {', '.join(format(dd['refTop2Margin'], '.1e') for dd in x['differences'][:5])})"
            parts.append(t)
        out.append(f"Self-check against {sc['reference']}, one system at a time: " + "; ".join(parts) + ".\n")
    elif sc:
        out.append(f"Self-check: not made ({sc.get('skipped') or sc.get('failed')}).\n")
    decoded = {(r["grid"], r["runId"]) for r in rows}
    n_all = sum(len(r) for st in runs.values() for r in st.values())
    missing = missing_runs(runs, decoded)
    out.append(f"Decoded: {len(rows)} of the call's {n_all} grid runs" + (". Not decoded: " + "; ".join(missing) + ".\n" if missing else " (all).\n"))
    out.append("BLEU at each learning rate, mean ± sd over the seeds decoded (per-seed values in data/summary.json, `bleuAllRuns`). "
               "**Bold**: the lr of the lowest seed-mean final validation loss (a failed run counts as +inf); ✗k: k seeds failed there; –: not decoded.\n")
    for setting in sorted({r["setting"] for r in rows}, key=lambda x: ("cattn" not in x, x)):
        rs = [r for r in rows if r["setting"] == setting]
        seeds = sorted({r["seed"] for r in rs})
        for fam, opts in FAMILIES:
            fr = [r for r in rs if r["optimizer"] in opts]
            if not fr:
                continue
            lrs = sorted({r["lr"] for r in fr})
            keys = []
            for opt in opts:
                for damp in sorted({r["damping"] for r in fr if r["optimizer"] == opt}) if opt.startswith("riemannian") else [None]:
                    if any(r["optimizer"] == opt for r in fr):
                        keys.append((opt, damp))
            out.append(f"**`{setting}`, {fam}** (seeds {', '.join(str(s) for s in seeds)}):\n")
            out.append("| optimizer | " + " | ".join(fmt_lr(l) for l in lrs) + " | lr of the highest mean BLEU / of the lowest mean loss |")
            out.append("|---|" + "---|" * (len(lrs) + 1))
            for opt, damp in keys:
                cell = defaultdict(list)
                for r in fr:
                    if r["optimizer"] == opt and (damp is None or r["damping"] == damp):
                        cell[r["lr"]].append(r)
                mean_bleu = {l: statistics.fmean([r["bleu"] for r in c]) for l, c in cell.items()}
                mean_loss = {l: statistics.fmean([loss_or_inf(r["run"]) for r in c]) if all(not failed(r["run"]) for r in c) else math.inf for l, c in cell.items()}
                ok = [l for l in cell if math.isfinite(mean_loss[l])]
                best_loss = min(ok, key=lambda l: mean_loss[l]) if ok else None
                best_bleu = max(ok, key=lambda l: mean_bleu[l]) if ok else None
                cells = []
                for l in lrs:
                    c = cell.get(l)
                    if not c:
                        cells.append("–")
                        continue
                    nf = sum(failed(r["run"]) for r in c)
                    t = mean_sd([r["bleu"] for r in c]) + (f" ✗{nf}" if nf else "")
                    cells.append(f"**{t}**" if l == best_loss else t)
                lab = f"`{opt}`" + (f" δ = {fmt_lr(damp)}" if damp is not None else "")
                tail = f"{fmt_lr(best_bleu)} ({mean_bleu[best_bleu]:.2f}) / {fmt_lr(best_loss)} ({mean_bleu[best_loss]:.2f})" if ok else "–"
                out.append(f"| {lab} | " + " | ".join(cells) + f" | {tail} |")
            out.append("")
        ok = [r for r in rs if not failed(r["run"])]
        if len(ok) > 2:
            out.append(f"`{setting}`: Spearman rank correlation of final validation loss and BLEU over the {len(ok)} decoded runs that did not fail "
                       f"(all seeds): {spearman([final(r['run']) for r in ok], [r['bleu'] for r in ok]):.2f}.\n")
    if "base" in d["systems"] and d["systems"]["base"].get("ours") is not None:
        out.append(f"The base model (no adapter) scores {d['systems']['base']['ours']:.4f}.\n")
    if cpu_bleu:
        out.append(f"**GPU against CPU decoding** on the c_attn best runs (data/bleu.json: the CPU decoded the re-trained adapters of call 1's runs, "
                   f"stopping also at 200 generated bytes; the GPU decoded {label}'s adapters of the same commands):\n")
        out.append("| run | seed | final val loss: recorded / this call | BLEU CPU | BLEU GPU | Δ (GPU − CPU) |")
        out.append("|---|---|---|---|---|---|")
        common, absent = [], []
        for name, s in cpu_bleu["systems"].items():
            if not name.startswith("cattn/"):
                continue
            g = next((r for r in rows if r["setting"] == "e2e-cattn" and r["seed"] == s["seed"] and r["runId"] == s["runId"]), None)
            if g is None:
                absent.append(f"`{s['runId']}` s{s['seed']}")
                continue
            common.append(g["bleu"] - s["ours"])
            out.append(f"| `{s['runId']}` | {s['seed']} | {s['finalVal']:.6f} / {final(g['run']):.6f} | {s['ours']:.3f} | {g['bleu']:.3f} | {g['bleu'] - s['ours']:+.3f} |")
        if common:
            out.append(f"\nOn the {len(common)} common runs the BLEU differs by at most {max(abs(x) for x in common):.3f} (median \\|Δ\\| "
                       f"{statistics.median([abs(x) for x in common]):.3f})" + (f"; not decoded on the GPU: {', '.join(absent)}." if absent else "."))
    return "\n".join(out) + "\n"


def fig5_all(rows):
    """BLEU per run of the BLEU-of-every-run call: seed mean ± sd against lr per setting, and BLEU against final loss."""
    settings = sorted({r["setting"] for r in rows}, key=lambda x: ("cattn" not in x, x))
    fig, axes = plt.subplots(1, len(settings) + 1, figsize=(6 * (len(settings) + 1), 4.8))
    for ax, setting in zip(axes, settings):
        rs = [r for r in rows if r["setting"] == setting]
        for opt in OPTIMIZERS:
            for damp in sorted({r["damping"] for r in rs if r["optimizer"] == opt}):
                per = defaultdict(list)
                for r in rs:
                    if r["optimizer"] == opt and r["damping"] == damp:
                        per[r["lr"]].append(r)
                if not per:
                    continue
                lrs = sorted(per)
                m = [statistics.fmean([r["bleu"] for r in per[l]]) for l in lrs]
                sd = [statistics.stdev([r["bleu"] for r in per[l]]) if len(per[l]) > 1 else 0.0 for l in lrs]
                main = damp == DEFAULT_DAMPING or not opt.startswith("riemannian")
                ax.errorbar(lrs, m, yerr=sd, fmt="-o" if main else ":", ms=3, color=COLORS[opt], lw=1.5 if main else 0.8, capsize=2 if main else 0,
                            label=(opt + (" δ = 1e-6" if opt.startswith("riemannian") else "")) if main else (f"{opt}, δ = 1e-8, 1e-4, 1e-2 (dotted)" if damp == 1e-2 else None),
                            alpha=1 if main else 0.6)
                fx = [(l, mm) for l, mm in zip(lrs, m) if any(failed(r["run"]) for r in per[l])]
                ax.plot([p[0] for p in fx], [p[1] for p in fx], "x", color=COLORS[opt], ms=6)
        seeds = sorted({r["seed"] for r in rs})
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("corpus BLEU (greedy, 300 validation prompts)")
        ax.set_title(f"{setting}: BLEU per run, mean ± sd over seeds {', '.join(map(str, seeds))} (x: a seed failed)", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left")
    ax = axes[-1]
    for setting, marker in zip(settings, ["o", "s"]):
        for opt in OPTIMIZERS:
            pts = [(final(r["run"]), r["bleu"]) for r in rows if r["setting"] == setting and r["optimizer"] == opt and not failed(r["run"])]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, ms=3, color=COLORS[opt], mfc="none" if marker == "s" else COLORS[opt],
                        ls="none", alpha=0.7, label=f"{opt} ({setting})")
    ax.set_xlabel("final validation loss of the run")
    ax.set_ylabel("corpus BLEU")
    ax.set_title("BLEU against final validation loss (every seed; runs that did not fail)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig5-bleu-per-run.svg"), metadata=SVG_META)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------
# The c_attn grid at 2,400 steps (tools/report/gpu-long-grid.sh, data/long-grid.tar.gz): GPU call 5 ran seed 0, call 6
# seeds 1 and 2 at once; every learning rate of the 600-step grid, δ = 1e-6 only, validation every 100 steps.

LONG_GRID = "long-grid.tar.gz"
LONG_GRID_SETTING = "e2e-cattn-long"
LONG_GRID_CALLS = {0: 5, 1: 6, 2: 6}  # seed -> GPU call
THRESHOLDS[LONG_GRID_SETTING] = [1.0, 0.8, 0.6]


def long_grid_section(lg, S, B, long_runs, rec_runs, label):
    """lg: {seed: runs} of the 2,400-step grid; S, B: summarize() of it and of the 600-step grid (call 1)."""
    seeds = sorted(lg)
    cfg_runs = lg[seeds[0]]
    n = len(seeds)
    lrs_of = lambda r: ", ".join(fmt_lr(b[1]) for b in r["bestPerSeed"].values())
    edge = lambda r: ", ".join("none" if not math.isfinite(x) else fmt_lr(x) for x in r["firstDivergedLr"])
    out = [f"{n} seeds ({', '.join(map(str, seeds))}; seed 0 in GPU call 5, seeds 1 and 2 at once in call 6), {label}: the E2E-style c_attn grid of the main table "
           f"with 2,400 steps instead of 600, every learning rate of it, the Riemannian optimizers at δ = 1e-6 only, validation every 100 steps "
           f"(not 25) on 8 batches; {len(cfg_runs)} runs per seed. In parentheses: the 600-step grid's value of the same cell (GPU call 1, δ = 1e-6; the main table's values).\n",
           f"| optimizer | best final val loss, 2,400 steps (mean ± sd over {n} seeds) | the same at 600 steps | best lr (per seed), 2,400 (600) | decades within 5 %, 2,400 (600) "
           "| decades within 25 %, 2,400 (600) | diverged (guard) / failed, 2,400 (600) | lowest diverged lr (per seed), 2,400 (600) |",
           "|---|---|---|---|---|---|---|---|"]
    for opt in [o for o in OPTIMIZERS if o in S]:
        s, b = S[opt], B[opt]
        out.append(f"| `{opt}` | {plus(s['bestMean'], s['bestSd'], n)} | {plus(b['bestMean'], b['bestSd'], n)} | {lrs_of(s)} ({lrs_of(b)}) | "
                   f"{fmt_w(s['width5'])} ({fmt_w(b['width5'])}) | {fmt_w(s['width25'])} ({fmt_w(b['width25'])}) | "
                   f"{s['diverged']} / {s['failed']} of {s['runs']} ({b['diverged']} / {b['failed']} of {b['runs']}) | {edge(s)} ({edge(b)}) |")
    out.append("\nBest final loss, ranking by the seed mean: 2,400 steps: " + " < ".join(f"`{o}`" for o in sorted(S, key=lambda o: S[o]["bestMean"]))
               + "; 600 steps: " + " < ".join(f"`{o}`" for o in sorted(B, key=lambda o: B[o]["bestMean"])) + ".\n")
    paired = {}
    lines = []
    for p, q in (("riemannian-sgd", "sgd"), ("riemannian-adamw", "adamw"), ("loraplus-adamw", "adamw")):
        if p in S and q in S:
            d = [S[p]["bestPerSeed"][x][0] - S[q]["bestPerSeed"][x][0] for x in seeds]
            d6 = [B[p]["bestPerSeed"][x][0] - B[q]["bestPerSeed"][x][0] for x in seeds]
            paired[f"{p} - {q}"] = {"2400": d, "600": d6}
            per = ", ".join(f"s{x} {S[p]['bestPerSeed'][x][0]:.4f} − {S[q]['bestPerSeed'][x][0]:.4f}" for x in seeds)
            lines.append(f"`{p}` − `{q}`: {fmt_sd(d, 4)}, lower in {sum(x < 0 for x in d)} of {n} seeds ({per}); at 600 steps {fmt_sd(d6, 4)}, "
                         f"lower in {sum(x < 0 for x in d6)} of {n}")
    out.append("Paired by seed (same initialisation and batch order), each optimizer's best final validation loss over the grid, the first minus the second, "
               "mean ± sd over the seeds: " + "; ".join(lines) + ".\n")
    # Consistency: step 600 of the long grid's runs against the 600-step grid (call 1); the runs at the 600-step best rates
    # against call 3's 2,400-step runs of the same seed, optimizer and rate.
    d600, dlong = [], []
    for x in seeds:
        rec = by_opt(rec_runs.get(x, []))
        for r in lg[x]:
            a = rec.get(r["optimizer"], {}).get(r["lr"])
            if a is not None and not failed(a) and r["divergedAtStep"] is None and val_at(r, 600) is not None:
                d600.append((abs(val_at(r, 600) - final(a)), f"{r['id']} s{x}"))
        for opt, d in long_runs.items():
            if x in d:
                g = by_opt(lg[x]).get(opt, {}).get(d[x]["lr"])
                if g is not None:
                    dlong.append((g, d[x], f"`{opt}@{fmt_lr(d[x]['lr'])}` s{x}"))
    if d600:
        d600.sort()
        out.append(f"At step 600 the {len(d600)} grid runs that did not diverge and whose 600-step counterpart trained pass that run's final loss (GPU call 1, "
                   f"build {build_commit('results.tar.gz')}) at a median \\|Δ\\| of {statistics.median([a for a, _ in d600]):.1e} "
                   f"(largest {d600[-1][0]:.2g}, `{d600[-1][1]}`; next {d600[-2][0]:.2g}, `{d600[-2][1]}`).")
    if dlong:
        ok = sorted((abs(final(g) - final(c)), k) for g, c, k in dlong if not failed(g) and not failed(c))
        changed = [f"{k}: {status(c)} in call 3, {status(g)} here" for g, c, k in dlong if failed(g) != failed(c)]
        out.append(f"The grid's runs at the 600-step best rates repeat call 3's 2,400-step runs (table \"Longer schedule\", build {build_commit(RERUN)}): "
                   f"{len(ok)} of {len(dlong)} trained in both and end at a median \\|Δ final loss\\| of {statistics.median([a for a, _ in ok]):.1e} "
                   f"(largest {ok[-1][0]:.2g}, {ok[-1][1]})" + ("; " + "; ".join(changed) if changed else "") + ".")
    return "\n".join(out) + "\n", paired


def fig6(lg, rec, S, B):
    """Final validation loss against lr at 2,400 steps (solid, min-max band over seeds) and 600 steps (dashed, faint)."""
    cap = 2.5
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for ax, group in zip(axes, [("sgd", "riemannian-sgd"), ("adamw", "riemannian-adamw", "loraplus-adamw")]):
        for opt in group:
            for runs, summ, main in ((lg, S, True), (rec, B, False)):
                seeds = sorted(runs)
                lrs = summ[opt]["lrs"]
                ys = [[min(loss_or_inf(by_opt(runs[s])[opt][lr]), cap) for s in seeds if lr in by_opt(runs[s])[opt]] for lr in lrs]
                mean = [statistics.fmean(v) for v in ys]
                if main:
                    ax.plot(lrs, mean, "-o", ms=3, color=COLORS[opt], lw=1.6, label=f"{opt}, 2,400 steps")
                    ax.fill_between(lrs, [min(v) for v in ys], [max(v) for v in ys], color=COLORS[opt], alpha=0.2)
                else:
                    ax.plot(lrs, mean, "--", color=COLORS[opt], lw=1.0, alpha=0.55, label=f"{opt}, 600 steps")
                fx = [(lr, m) for lr, m, v in zip(lrs, mean, ys) if any(x >= cap for x in v)]
                ax.plot([p[0] for p in fx], [p[1] for p in fx], "x", color=COLORS[opt], ms=7 if main else 5, alpha=1 if main else 0.55, mew=1.5 if main else 1)
        ax.set_xscale("log")
        ax.set_ylim(0.4, 2.55)
        ax.set_xlabel("learning rate")
        ax.set_title(" / ".join(group), fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("final validation loss (nats/byte, completion bytes)")
    fig.suptitle(f"E2E-style set, c_attn: final validation loss after 2,400 steps (solid; mean of {len(lg)} seeds, band min–max) and 600 steps "
                 f"(dashed; mean of {len(rec)} seeds); δ = 1e-6; x: a seed failed (failed runs drawn at {cap})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGS, "fig6-long-grid.svg"), metadata=SVG_META)
    if os.environ.get("FIG_PNG"):
        fig.savefig(os.environ["FIG_PNG"], dpi=110)
    plt.close(fig)


def main():
    rec, rec_meta = load()
    rer, rer_meta = load(RERUN) if os.path.exists(os.path.join(DATA, RERUN)) else ({}, {})
    c1, c3 = build_commit("results.tar.gz"), (build_commit(RERUN) if rer else None)
    lg, lg_meta = load(LONG_GRID) if os.path.exists(os.path.join(DATA, LONG_GRID)) else ({}, {})
    c5 = build_commit(LONG_GRID) if lg else None
    call1, call3 = f"call 1 (build {c1})", f"call 3 (build {c3})"
    # The main table: c_attn and devils from call 1 (3 and 1 seeds); all modules from the re-run call's three seeds
    # (one build, one call), so that call 1's seed 0 stays an independent check of it.
    runs, meta, source = {}, {}, {}
    for s in SETTINGS:
        use_rerun = s == "e2e-all" and len(rer.get(s, {})) > len(rec.get(s, {}))
        src, src_meta = (rer, rer_meta) if use_rerun else (rec, rec_meta)
        if s in src:
            runs[s], meta[s] = src[s], src_meta[s]
            source[s] = f"GPU {call3 if use_rerun else call1}"
    summaries = {s: summarize(s, runs[s]) for s in SETTINGS if s in runs}
    fig1(runs, summaries)
    fig2(runs, summaries)
    fig3(runs)
    bleu = bleu_cells()
    bleu_gpu = load_bleu_runs() if rer else {}
    cpu_bleu = json.load(open(os.path.join(DATA, "bleu.json"))) if os.path.exists(os.path.join(DATA, "bleu.json")) else None
    rows = bleu_rows(bleu_gpu, rer) if bleu_gpu else []
    ball = load_bleu_all()
    if ball:
        ball_d, ball_runs, ball_meta, ball_log = ball
        call4 = f"call 4 (build {build_commit(BLEU_ALL)})"
        rows_all = bleu_all_rows(ball_d, ball_runs)
    parts = []
    for s in SETTINGS:
        if s not in summaries:
            parts.append(f"### {SETTINGS[s]}\n\nnot run.\n")
            continue
        c = meta[s]["config"]
        cell = bleu if s == "e2e-cattn" else {}
        if ball and s in ("e2e-cattn", "e2e-all"):
            cell = bleu_best_cells(rows_all, s, summaries[s], "GPU call 4")
        elif s == "e2e-all" and rows:
            for opt, r in summaries[s].items():
                got = []
                for seed, (_, lr) in r["bestPerSeed"].items():
                    x = next((b for b in rows if b["setting"] == s and b["seed"] == seed and b["optimizer"] == opt and b["lr"] == lr
                              and (b["damping"] == DEFAULT_DAMPING)), None)
                    got.append(f"s{seed} {x['bleu']:.2f}" if x else f"s{seed} –")
                cell[opt] = (", ".join(g for g in got if not g.endswith("–")) + " (GPU; " + ", ".join(g[:-2] for g in got if g.endswith("–")) + " not decoded)") if any(not g.endswith("–") for g in got) else "not decoded"
        parts.append(
            f"### {SETTINGS[s]}\n\n{len(runs[s])} seed(s) ({', '.join(str(x) for x in sorted(runs[s]))}), {source[s]}; {c['steps']} steps, batch {c['batch']} × seq {c['seq']}, "
            f"{c['decay']} lr, warm-up {c['warmup']}, weight decay {c['hyper']['weightDecay']}, validation every {c['valEvery']} steps on {c['valBatches']} batches; "
            f"dataset {meta[s]['dataset']['name']} ({meta[s]['dataset']['trainTokens']:,} training / {meta[s]['dataset']['valTokens']:,} validation bytes).\n\n"
            + table(s, summaries[s], len(runs[s]), cell)
            + "\n"
        )
    extra = {}
    if rer:
        sec = [f"### Re-running the recorded commands (GPU {call3} against {call1})\n"]
        for s, label in (("e2e-cattn", "E2E-style set, c_attn, seed 0"), ("e2e-all", "E2E-style set, all modules, seed 0")):
            if 0 not in rer.get(s, {}) or 0 not in rec.get(s, {}):
                continue
            sd_runs = rec[s] if len(rec[s]) > 1 else rer[s]
            sd_label = f"the {len(sd_runs)} seeds of {call1 if sd_runs is rec[s] else call3}"
            qt, verdict, _ = quantities_table(s, rec[s][0], rer[s][0], sd_runs, sd_label)
            ag = agreement(rec[s][0], rer[s][0])
            extra[s] = {"verdict": verdict, "agreement": {k: v for k, v in ag.items()}}
            sec.append(f"**{label}**: the table's quantities, recorded / re-run (recorded: {call1}; re-run: {call3}), beside the sd over {sd_label} "
                       f"(of the per-seed values for the widths and steps).\n\n{qt}\nPer run ({ag['pairs']} runs; \"failure edge\": the lowest learning rate of the "
                       "same optimizer and δ that failed in either call):\n\n" + agreement_table(ag))
        long = load_long()
        tag = lambda src: [dict(r, seed=seed) for st in src.values() for seed, rs in st.items() for r in rs]
        sec.append(fallbacks_line([(call1, tag(rec)), (call3, tag(rer) + [dict(r, seed=s_) for d in long.values() for s_, r in d.items()])]))
        parts.append("\n".join(sec))
        if long:
            lt, means = long_tables(long, {"recorded": rec["e2e-cattn"], "rerun": rer.get("e2e-cattn", {})})
            fig4(long)
            extra["long"] = means
            parts.append(f"### Longer schedule: the best c_attn runs for 2,400 steps (GPU {call3})\n\n" + lt)
        if lg:
            lg_summary = summarize(LONG_GRID_SETTING, lg[LONG_GRID_SETTING])
            lgt, lg_paired = long_grid_section(lg[LONG_GRID_SETTING], lg_summary, summaries["e2e-cattn"], long, runs["e2e-cattn"], f"build {c5}")
            fig6(lg[LONG_GRID_SETTING], runs["e2e-cattn"], lg_summary, summaries["e2e-cattn"])
            extra["longGridPaired"] = lg_paired
            parts.append(f"### The c_attn grid at 2,400 steps (GPU calls 5 and 6, build {c5})\n\n" + lgt)
        if ball:
            fig5_all(rows_all)
            extra["bleuAllRuns"] = {f"{r['setting']}-s{r['seed']}/{r['runId']}": {"bleu": r["bleu"], "sacrebleu": r.get("sacrebleu"), "finalVal": final(r["run"]),
                                                                                    "failed": failed(r["run"])} for r in rows_all}
            parts.append(f"### BLEU of every run (GPU {call4}, the six E2E-style grids re-trained and decoded on the GPU)\n\n"
                         + bleu_all_section(ball_d, rows_all, ball_runs, ball_log, call4, cpu_bleu))
        elif bleu_gpu:
            bt, _ = bleu_runs_section(bleu_gpu, rer, cpu_bleu)
            fig5(rows, cpu_bleu)
            parts.append(f"### BLEU of every decoded run (GPU {call3}, greedy on the GPU)\n\n" + bt)
    parts.append("### BLEU of greedy completions at the best learning rate (E2E-style set, c_attn)\n\n" + bleu_table())
    parts.append("### Damping δ × learning rate (E2E-style set, c_attn)\n\n" + damping_table(runs["e2e-cattn"]))
    parts.append("### PEFT cross-check (devils-dictionary.txt, sequential batches, same adapter)\n\n" + peft_table())
    parts.append("### BLEU implementation against sacrebleu\n\n" + bleu_check_table())
    parts.append("### Sweep wall times\n\nThe four sweeps of a grid ran at once on the one GPU. In call 1 the e2e-all and devils grids (eight sweeps) ran at once, "
                 "beside the (failed) decoding; in call 3 the c_attn grid ran beside the 2,400-step runs (three at a time), and the three e2e-all grids "
                 "(twelve sweeps) beside those and the c_attn BLEU decoding"
                 + ("; in call 6 the 2,400-step grids of seeds 1 and 2 (eight sweeps) ran at once" if lg else "")
                 + ". So the step times are not those of a sweep alone.\n\n"
                 + timings([(call1, rec_meta)] + ([(call3, rer_meta)] if rer else []) + ([(call4, ball_meta)] if ball else [])
                           + [(f"call {c} (build {c5})", {s: dict(m, timings=[t for t in m["timings"] if LONG_GRID_CALLS.get(t["seed"]) == c]) for s, m in lg_meta.items()})
                              for c in sorted(set(LONG_GRID_CALLS.values())) if lg],
                           load_long() if rer else None, long_label=call3) + "\n")
    text = "\n".join(parts)
    open(os.path.join(FIGS, "tables.md"), "w").write("<!-- generated by tools/report/make_report.py; do not edit -->\n\n" + text)
    if os.path.exists(REPORT):
        rep = open(REPORT).read()
        a, b = "<!-- tables:begin -->", "<!-- tables:end -->"
        if a in rep and b in rep:
            rep = rep[: rep.index(a) + len(a)] + "\n\n" + text + "\n" + rep[rep.index(b) :]
            open(REPORT, "w").write(rep)
    summary = {s: {o: {k: v for k, v in r.items() if k not in ("meanCurve",)} for o, r in rows_.items()} for s, rows_ in summaries.items()}
    summary["rerun"] = extra
    if lg:
        summary[LONG_GRID_SETTING] = {o: {k: v for k, v in r.items() if k not in ("meanCurve",)} for o, r in lg_summary.items()}
    json.dump(summary, open(os.path.join(DATA, "summary.json"), "w"), indent=1, default=str)
    print(text)


if __name__ == "__main__":
    main()
