set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in t; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"
A="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,2"
(cd bench-t; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
for t in 1 2; do
  (cd bench-t; node bench.mjs $A $D --out $R/ab-on-$t.json > $R/ab-on-$t.txt 2>&1)
  (cd bench-t; node bench.mjs $A $D --attention-proj-fold off --out $R/ab-off-$t.json > $R/ab-off-$t.txt 2>&1)
done
cd $R
{ for f in ab-on-1 ab-off-1 ab-on-2 ab-off-2; do echo "== $f"; grep -E "sweep R=|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; done
  echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention|NN 4×1024×256×64" breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
