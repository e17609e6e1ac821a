set -u
R=$OUT
cd .work
for d in a b; do gunzip -f bench-$d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench-$d/model; ln -sfn ../../public/datasets bench-$d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 30 --trials 5 --warmup 10 --rs 1,8,16"
mkdir -p $R/raw
for t in 1 2; do
  (cd bench-a && node bench.mjs $S $D --out $R/raw/lab-a-$t.json > $R/raw/lab-a-$t.txt 2>&1)
  (cd bench-b && node bench.mjs $S $D --out $R/raw/lab-b-$t.json > $R/raw/lab-b-$t.txt 2>&1)
  (cd bench-b && node bench.mjs $S $D --ln-fold off --out $R/raw/lab-off-$t.json > $R/raw/lab-off-$t.txt 2>&1)
done
for f in $R/raw/*.txt; do echo "== $(basename $f)"; grep -E "sweep R=|FAILED|Error" $f; done > $R/summary.txt
tar czf $R/raw.tgz -C $R raw; rm -rf $R/raw
