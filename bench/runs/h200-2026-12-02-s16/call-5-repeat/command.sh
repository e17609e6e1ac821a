set -u
R=$OUT/raw; mkdir -p $R
cd .work
for x in l; do (cd bench-$x; gunzip -f *.gz; ln -sfn ../../public/models/lab-gpt model; ln -sfn ../../public/datasets data); done
D="--data data/devils-dictionary.txt --model model/model.onnx"
G="--sweep-only --rs 8 --steps 30 --trials 3 --warmup 3 --model-size gpt2-small --data data/devils-dictionary.txt"
for t in 1 2; do (cd bench-l; node bench.mjs --skip-kernels --rs 8 $D --out $R/breakdown-$t.json > $R/breakdown-$t.txt 2>&1); done
(cd bench-l; node bench.mjs $G --out $R/gpt2.json > $R/gpt2.txt 2>&1)
(cd bench-l; python3 torch_batched.py --model-size gpt2-small --rs 8 --modes graph --out $R/peer-gpt2.json > $R/peer-gpt2.txt 2>&1)
cd $R
{ echo "== gpt2"; grep -E "sweep R=|FAILED|Error" gpt2.txt | sed -E 's/ +attention [a-z-]+//; s/opt .*gram\+chol [0-9.]*%//'
  echo "== peer-gpt2"; grep -E "graph|Error" peer-gpt2.txt
  for t in 1 2; do echo "== breakdown-$t"; grep -E "@0.005|FAILED|Error|sweep R=|^\| (adamw|riemannian) |between|→|^\| attention" breakdown-$t.txt; done; } | sed "s|$OUT|\$OUT|g" > $OUT/summary.txt
tar czf $OUT/raw.tgz -C $OUT raw && rm -rf $OUT/raw
cat $OUT/summary.txt
