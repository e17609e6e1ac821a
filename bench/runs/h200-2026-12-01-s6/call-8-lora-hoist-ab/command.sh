set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-b bench-c; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 8,64"
G="--sweep-only --rs 8 --steps 10 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do
  (cd bench-b && node bench.mjs $S $D --out $R/b-$t.json > $R/b-$t.txt 2>&1)
  (cd bench-c && node bench.mjs $S $D --out $R/c-$t.json > $R/c-$t.txt 2>&1)
done
(cd bench-b && node bench.mjs $G --out $R/gpt2-b.json > $R/gpt2-b.txt 2>&1)
(cd bench-c && node bench.mjs $G --out $R/gpt2-c.json > $R/gpt2-c.txt 2>&1)
(cd bench-c && node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-c.json > $R/breakdown-c.txt 2>&1)
cd $R
{ for f in b-1 c-1 b-2 c-2 gpt2-b gpt2-c; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt; done; echo "== breakdown-c"; grep -E "@0.005|FAILED|Error|NN 8192×768×256" breakdown-c.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
