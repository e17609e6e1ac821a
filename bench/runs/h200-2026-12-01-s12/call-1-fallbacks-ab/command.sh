set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in y c; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"
S2="--sweep-only --steps 120 --trials 5 --warmup 10 --rs 1,8"
(cd bench-c; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown.json > $R/breakdown.txt 2>&1)
(cd bench-c; python3 torch_batched.py --rs 1,8 --modes graph --steps 120 --trials 5 --check $R/breakdown.json --out $R/peer-lab.json > $R/peer-lab.txt 2>&1)
for t in 1 2; do for x in y c; do (cd bench-$x; node bench.mjs $S2 $D --out $R/$x-$t.json > $R/$x-$t.txt 2>&1); done; done
(cd bench-c; node bench.mjs $S2 $D --trial-stamps --out $R/c-stamps.json > $R/c-stamps.txt 2>&1)
(cd bench-y; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-y.json > $R/breakdown-y.txt 2>&1)
cd $R
{ for f in y-1 c-1 y-2 c-2 c-stamps; do echo "== $f"; grep -E "sweep R=|trial [0-9]+:|FAILED|Error" $f.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'; grep -h -A1 "sweep R=8 " $f.txt | grep host; done
  echo "== peer-lab"; grep -E "graph|diff|Error|@0.005" peer-lab.txt
  for b in breakdown breakdown-y; do echo "== $b"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian|sgd|loraplus)|Riemannian AdamW step|between|→" $b.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
