set -u
R=$OUT
cd .work
gunzip -f bench/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt bench/model; ln -sfn ../../public/datasets bench/data
cd bench
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 30 --trials 5 --warmup 10 --rs 16"
mkdir -p $R/raw
for t in 1 2; do
  node bench.mjs $S $D --out $R/raw/r16-default-$t.json > $R/raw/r16-default-$t.txt 2>&1
  node bench.mjs $S $D --split-k-min-tiles 1024 --out $R/raw/r16-split-$t.json > $R/raw/r16-split-$t.txt 2>&1
done
for f in $R/raw/*.txt; do echo "== $(basename $f)"; grep -E "sweep R=|FAILED|Error" $f; done > $R/summary.txt
tar czf $R/raw.tgz -C $R raw; rm -rf $R/raw
