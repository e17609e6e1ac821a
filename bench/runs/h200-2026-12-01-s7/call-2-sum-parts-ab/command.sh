set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-d bench-e; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8,64"
for t in 1 2; do for d in d e; do
  (cd bench-$d && node bench.mjs $S $D --out $R/$d-$t.json > $R/$d-$t.txt 2>&1)
done; done
(cd bench-e && node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-e.json > $R/breakdown-e.txt 2>&1)
cd $R
{ for f in d-1 e-1 d-2 e-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt; done; echo "== breakdown-e"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  |between" breakdown-e.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
