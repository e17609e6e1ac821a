#!/usr/bin/env python3
"""Build the pretraining corpus and the plain-text fine-tuning dataset from Debian packages.

Offline tooling (not part of the page). Everything comes from Debian bookworm packages, all public-domain
texts:

  pretraining corpus (written to .corpus/, git-ignored: ~8 MB, rebuilt by this script)
    .corpus/austen.txt  Jane Austen's six novels        r-cran-janeaustenr 1.0.0-1 (package MIT; text PD)
    .corpus/kjv.txt     King James Version of the Bible bible-kjv 4.38 + bible-kjv-text 4.38 (text PD)
  fine-tuning dataset (shipped)
    public/datasets/devils-dictionary.txt
                        Ambrose Bierce, The Devil's Dictionary (1911)   dict-devil 1.0-13.1 (PD)

Install first (as root):
  apt-get update
  apt-get install -y --no-install-recommends r-cran-janeaustenr bible-kjv dict-devil
Then, from the repository root:
  python3 tools/make-corpus.py
The output is byte-for-byte deterministic for given package versions (it prints SHA-256 sums).
"""

import gzip
import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_DIR = os.path.join(ROOT, ".corpus")
DATASETS_DIR = os.path.join(ROOT, "public", "datasets")

# Publication order; each novel is a character vector of lines in janeaustenr.
AUSTEN_NOVELS = [
    "sensesensibility",
    "prideprejudice",
    "mansfieldpark",
    "emma",
    "northangerabbey",
    "persuasion",
]
DEVIL_DICT = "/usr/share/dictd/devil.dict.dz"


def clean(text: str) -> str:
    """Strip trailing blanks, collapse runs of 3+ blank lines (R output pads chapters), end with one \\n."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n") + "\n"


def austen() -> str:
    # writeLines with useBytes keeps the package's UTF-8 (one '£') untouched.
    script = (
        "library(janeaustenr); "
        + "for (n in c(%s)) { writeLines(get(n), useBytes=TRUE); writeLines(c('', '', '')) }"
        % ", ".join("'%s'" % n for n in AUSTEN_NOVELS)
    )
    out = subprocess.run(["Rscript", "-e", script], check=True, capture_output=True).stdout
    return clean(out.decode("utf-8"))


def kjv() -> str:
    # `bible -l0` prints "Genesis 1" headings and "  1 In the beginning ..." verses, unwrapped.
    out = subprocess.run(["bible", "-l0", "Gen1:1-Rev22:21"], check=True, capture_output=True).stdout
    lines = []
    for line in out.decode("ascii").split("\n"):
        m = re.match(r"^\s+(\d+) (.*)$", line)
        lines.append(f"{m.group(1)} {m.group(2)}" if m else line)
    return clean("\n".join(lines))


def devils_dictionary() -> str:
    with gzip.open(DEVIL_DICT, "rb") as f:
        raw = f.read().decode("ascii")
    # The dictd file starts with 00-database-* header entries and the 1993 e-text's preface; the
    # dataset is the dictionary proper, from its first entry to its last, and drops dictd's trailing
    # alphabet line.
    start = raw.index("ABASEMENT, n.")
    body = raw[start:]
    body = re.sub(r"\n +abcdefghijklmnopqrstuvwxyz\s*$", "\n", body)
    return clean(body)


def write(path: str, text: str) -> None:
    data = text.encode("utf-8")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    rel = os.path.relpath(path, ROOT)
    print(f"{rel}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


def main() -> int:
    write(os.path.join(CORPUS_DIR, "austen.txt"), austen())
    write(os.path.join(CORPUS_DIR, "kjv.txt"), kjv())
    write(os.path.join(DATASETS_DIR, "devils-dictionary.txt"), devils_dictionary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
