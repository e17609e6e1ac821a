set -u
R=$OUT
cd .work
for d in a b; do gunzip -f bench-$d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench-$d/model; ln -sfn ../../public/datasets bench-$d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 30 --trials 5 --warmup 10 --rs 1,8"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
mkdir -p $R/raw
for t in 1 2; do for d in a b; do
  (cd bench-$d && node bench.mjs $S $D --out $R/raw/lab-$d-$t.json > $R/raw/lab-$d-$t.txt 2>&1)
done; done
for d in a b; do (cd bench-$d && node bench.mjs $G --out $R/raw/gpt2-$d.json > $R/raw/gpt2-$d.txt 2>&1); done
(cd bench-b && node bench.mjs --skip-kernels --rs 8 $D --out $R/raw/breakdown.json > $R/breakdown.txt 2>&1)
for f in $R/raw/*.txt; do echo "== $(basename $f)"; grep -E "sweep R=|FAILED|Error" $f; done > $R/summary.txt
tar czf $R/raw.tgz -C $R raw; rm -rf $R/raw
