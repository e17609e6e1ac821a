#!/usr/bin/env python3
"""Checks src/eval/bleu.ts (through the bundled `bleu.mjs`) against sacrebleu on E2E-style text, without a GPU:
the references are the validation completions of public/datasets/e2e-restaurants.jsonl, the systems are
deterministic corruptions of them (other examples' completions, dropped / shuffled / truncated words, lower case,
empty outputs, added punctuation), so every n-gram order, the brevity penalty and the exp smoothing are exercised.

  PYTHONPATH=<sacrebleu> python3 tools/report/bleu_check.py <bleu.mjs> <out.json>
"""

import json
import random
import subprocess
import sys
import tempfile

import sacrebleu


def main():
    bleu_js, out = sys.argv[1], sys.argv[2]
    lines = [json.loads(l) for l in open("public/datasets/e2e-restaurants.jsonl", encoding="utf-8") if l.strip()]
    refs = [ex["completion"] for ex in lines[-300:]]
    rng = random.Random(17)

    def words(f):
        return [f(r.split()) for r in refs]

    def drop(ws, p):
        return " ".join(w for w in ws if rng.random() > p)

    systems = {
        "identical": refs,
        "other-examples": [ex["completion"] for ex in lines[-600:-300]],
        "drop-10%": words(lambda ws: drop(ws, 0.1)),
        "drop-50%": words(lambda ws: drop(ws, 0.5)),
        "first-half": words(lambda ws: " ".join(ws[: max(1, len(ws) // 2)])),
        "shuffled": words(lambda ws: " ".join(rng.sample(ws, len(ws)))),
        "lowercase": [r.lower() for r in refs],
        "doubled": [r + " " + r for r in refs],
        "punctuation": [r.replace(".", " - 3.5, &amp; (!)") for r in refs],
        "mostly-empty": ["" if i % 3 else r for i, r in enumerate(refs)],
        "one-word": ["The" for _ in refs],
    }
    with tempfile.TemporaryDirectory() as d:
        gen, scores = f"{d}/gen.json", f"{d}/scores.json"
        json.dump({"refs": refs, "systems": systems}, open(gen, "w"))
        subprocess.run(["node", bleu_js, gen, scores], check=True)
        ours = json.load(open(scores))
    report, worst = {}, 0.0
    for name, hyps in systems.items():
        sb = sacrebleu.corpus_bleu(hyps, [refs])
        diff = abs(sb.score - ours[name]["score"])
        worst = max(worst, diff)
        report[name] = {"sacrebleu": sb.score, "ours": ours[name]["score"], "absDiff": diff, "sacrebleuLine": str(sb)}
        print(f"{name:16s} sacrebleu {sb.score:9.5f}  ours {ours[name]['score']:9.5f}  |diff| {diff:.1e}")
    print(f"max |diff| {worst:.2e}, sacrebleu {sacrebleu.__version__}, {len(refs)} references")
    json.dump({"sacrebleu": sacrebleu.__version__, "references": len(refs), "maxAbsDiff": worst, "systems": report}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
