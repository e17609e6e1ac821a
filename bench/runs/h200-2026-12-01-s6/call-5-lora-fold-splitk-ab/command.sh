set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-a bench-b; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,16,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
(cd bench-b && node bench.mjs --list-dispatches --rs 1,8 $D > $R/dispatches-b.txt 2>&1)
for t in 1 2; do
  (cd bench-a && node bench.mjs $S $D --out $R/a-$t.json > $R/a-$t.txt 2>&1)
  (cd bench-b && node bench.mjs $S $D --out $R/b-$t.json > $R/b-$t.txt 2>&1)
done
(cd bench-b && node bench.mjs $S $D --lora-fold off --out $R/boff-1.json > $R/boff-1.txt 2>&1)
(cd bench-a && node bench.mjs $G --out $R/gpt2-a.json > $R/gpt2-a.txt 2>&1)
(cd bench-b && node bench.mjs $G --out $R/gpt2-b.json > $R/gpt2-b.txt 2>&1)
(cd bench-b && node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-b.json > $R/breakdown-b.txt 2>&1)
cd $R
{ grep -E "dispatches$" dispatches-b.txt; for f in a-1 b-1 a-2 b-2 boff-1 gpt2-a gpt2-b; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt; done; echo "== breakdown-b"; grep -E "@0.005|FAILED|Error" breakdown-b.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
