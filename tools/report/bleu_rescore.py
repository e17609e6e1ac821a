#!/usr/bin/env python3
"""Rescore the BLEU-of-every-run call's generations here (docs/reproduction.md, "BLEU of every run").

The call (gpu-bleu-all.sh) scored its outputs with sacrebleu and with src/eval/bleu.ts as it was then; that scorer
split at JavaScript's whitespace and smoothed a corpus without a single matching n-gram, where sacrebleu splits at
Python's whitespace (U+001E too) and scores such a corpus 0. Fixed since; this script scores the call's saved
generations (data/bleu-all-generations.tar) again with both and writes data/bleu-all-rescore.json, which
make_report.py prefers to the call's own scores.

  pip install sacrebleu==2.6.0; python3 tools/report/bleu_rescore.py
"""

import gzip
import io
import json
import os
import subprocess
import tarfile
import tempfile

import sacrebleu

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "docs", "reproduction", "data")


def main():
    systems, refs = {}, None
    with tarfile.open(os.path.join(DATA, "bleu-all-generations.tar")) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not m.name.endswith(".json.gz"):
                continue
            g = json.load(io.TextIOWrapper(gzip.open(tar.extractfile(m)), encoding="utf-8"))
            if refs is None:
                refs = g["refs"]
            assert g["refs"] == refs, f"{m.name}: other references"
            systems.update(g["systems"])
    with tempfile.TemporaryDirectory() as tmp:
        gen, ours_path = os.path.join(tmp, "gen.json"), os.path.join(tmp, "ours.json")
        json.dump({"refs": refs, "systems": systems}, open(gen, "w"))
        subprocess.run(["npx", "tsx", os.path.join(ROOT, "tools", "report", "bleu-cli.ts"), gen, ours_path], check=True, cwd=ROOT)
        ours = json.load(open(ours_path))
    out, worst = {}, 0.0
    for name, hyps in systems.items():
        sb = sacrebleu.corpus_bleu(hyps, [refs], force=True).score
        worst = max(worst, abs(sb - ours[name]["score"]))
        out[name] = {"sacrebleu": sb, "ours": ours[name]["score"]}
    json.dump({"sacrebleu": sacrebleu.__version__, "prompts": len(refs), "maxAbsDiff": worst, "systems": out},
              open(os.path.join(DATA, "bleu-all-rescore.json"), "w"), indent=1)
    print(f"{len(out)} systems rescored; max |sacrebleu - ours| = {worst:.3e}")


if __name__ == "__main__":
    main()
