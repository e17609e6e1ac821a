set -u
R=$OUT/raw; mkdir -p $R
cd .work
for d in bench-d; do gunzip -f $d/bench.mjs.gz; ln -sfn ../../public/models/lab-gpt $d/model; ln -sfn ../../public/datasets $d/data; done
D="--data data/devils-dictionary.txt --model model/model.onnx"; S="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8"
cd bench-d
node bench.mjs --list-dispatches --rs 1,8 $D --out $R/dispatches.json > $R/dispatches.txt 2>&1
for t in 1 2; do
  node bench.mjs $S $D --sum-fold on --out $R/on-$t.json > $R/on-$t.txt 2>&1
  node bench.mjs $S $D --sum-fold off --out $R/off-$t.json > $R/off-$t.txt 2>&1
done
node bench.mjs $S $D --submit-diag --out $R/diag.json > $R/diag.txt 2>&1
node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1
cd $R
{ grep -E "dispatches$" dispatches.txt; for f in on-1 off-1 on-2 off-2 diag; do echo "== $f"; grep -E "sweep R=|resubmitted|FAILED|Error" $f.txt; done; echo "== breakdown"; grep -E "@0.005|FAILED|Error|sweep R=8|riemannian-adamw  " breakdown.txt; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
